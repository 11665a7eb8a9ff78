"""harvester.mapping.countries: ISO 3166-1 codes to alpha-3, and country/treaty IRIs."""

from __future__ import annotations

import pytest

from harvester.mapping.countries import COUNTRY_NS, TREATY_NS, country_code, country_iri, treaty_iri


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("al", "ALB", id="alpha2-lower"),
        pytest.param("AL", "ALB", id="alpha2-upper"),
        pytest.param("alb", "ALB", id="alpha3-lower"),
        pytest.param(" ALB ", "ALB", id="alpha3-padded"),
        pytest.param("sen", "SEN", id="senegal"),
        pytest.param("FR", "FRA", id="france"),
        pytest.param("EU", "EUU", id="eu-alpha2"),
        pytest.param("eur", "EUU", id="eu-eur"),
        pytest.param("EUU", "EUU", id="eu-euu"),
        pytest.param("uk", "GBR", id="uk-alias"),
        pytest.param("XK", "XKX", id="kosovo"),
        pytest.param("XX", None, id="unknown"),
        pytest.param("Albania", "ALB", id="english-name"),
        pytest.param("008", "ALB", id="m49-numeric"),
        pytest.param("Narnia", None, id="unknown-name"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param(None, None, id="none"),
    ],
)
def test_country_code(value: str | None, expected: str | None) -> None:
    assert country_code(value) == expected


def test_country_iri() -> None:
    assert country_iri("ALB") == "https://w3id.org/mea/country/ALB"
    assert COUNTRY_NS == "https://w3id.org/mea/country/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("cbd", "cbd", id="plain"),
        pytest.param(" CCAMLR ", "ccamlr", id="case-and-space"),
        pytest.param("plant-treaty", "plant-treaty", id="hyphen"),
        pytest.param("Land Based", "land-based", id="inner-space"),
        pytest.param("a/b?c", "a%2Fb%3Fc", id="reserved-characters"),
        pytest.param("noumèa", "noum%C3%A8a", id="non-ascii"),
    ],
)
def test_treaty_iri(value: str, expected: str) -> None:
    assert treaty_iri(value) == TREATY_NS + expected


@pytest.mark.parametrize(
    ("alias", "slug"),
    [("itpgrfa", "plant-treaty"), ("ITPGRFA", "plant-treaty"), ("minamataunep", "minamata")],
)
def test_treaty_aliases_resolve_to_the_informea_identifier(alias: str, slug: str) -> None:
    from harvester.mapping.countries import TREATY_NS, treaty_iri

    assert treaty_iri(alias) == TREATY_NS + slug
