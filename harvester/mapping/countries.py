"""Country codes and the IRIs of countries and treaties.

Sources write countries as ISO 3166-1 alpha-2 or alpha-3 codes in any case (``al``, ``AL``,
``alb``); the store always uses the upper-case alpha-3 code (``ALB``) and the IRI
``https://w3id.org/mea/country/ALB``. The European Union, a Party to several MEAs, is ``EUU``.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import quote

import pycountry

__all__ = [
    "COUNTRY_NS",
    "EU_CODE",
    "TREATY_NS",
    "country_code",
    "country_iri",
    "country_table",
    "treaty_iri",
    "treaty_slug",
]

log = logging.getLogger(__name__)

COUNTRY_NS = "https://w3id.org/mea/country/"
TREATY_NS = "https://w3id.org/mea/treaty/"
EU_CODE = "EUU"

# Codes outside ISO 3166-1 that sources use: the EU and common/historic aliases.
_ALIASES: dict[str, str] = {
    "EU": EU_CODE,
    "EUR": EU_CODE,
    "EUU": EU_CODE,
    "UK": "GBR",
    "XK": "XKX",
    "XKX": "XKX",
}

_SLUG_SAFE = "-._~"


@functools.cache
def country_table() -> dict[str, str]:
    """Every accepted upper-case code (alpha-2, alpha-3, alias) mapped to its alpha-3 code.

    Built once, on first use.
    """
    table: dict[str, str] = {}
    for country in pycountry.countries:
        table[country.alpha_2] = country.alpha_3
        table[country.alpha_3] = country.alpha_3
    table.update(_ALIASES)
    log.debug("country table built: %d codes", len(table))
    return table


def country_code(value: str | None) -> str | None:
    """Normalise an ISO 3166-1 alpha-2 or alpha-3 code (or an English country name) to
    upper-case alpha-3.

    :param value: a code in any case, possibly padded with whitespace.
    :returns: the alpha-3 code (``"ALB"``, ``"EUU"`` for the EU), or None for an unknown or
        empty value.
    """
    if not value:
        return None
    key = value.strip().upper()
    if key.isdigit():  # UN M49 / ISO 3166-1 numeric ("008" is Albania)
        return _by_numeric(key.zfill(3))
    return country_table().get(key) or (_by_name(key) if len(key) > 3 else None)


@functools.lru_cache(maxsize=512)
def _by_numeric(code: str) -> str | None:
    country = pycountry.countries.get(numeric=code)
    return None if country is None else str(country.alpha_3)


@functools.lru_cache(maxsize=4096)
def _by_name(name: str) -> str | None:
    """Some providers write the country's English name ("Albania", "Viet Nam")."""
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        return None


def country_iri(code3: str) -> str:
    """The IRI of a country given its alpha-3 code (``"ALB"`` → ``.../country/ALB``)."""
    return COUNTRY_NS + code3


#: Other names providers use for a treaty, to InforMEA's identifier (ontology/treaties.ttl).
TREATY_ALIASES = {
    "itpgrfa": "plant-treaty",
    "pgrfa": "plant-treaty",
    "minamataunep": "minamata",
    "wh": "whc",
    "world-heritage": "whc",
    "cartagena-protocol": "cartagena",
    "nagoya-protocol": "nagoya",
    # UN treaty collection chapter codes, as the CBD's own APIs name its treaties
    "xxvii8": "cbd",
    "xxvii8a": "cartagena",
    "xxvii8b": "nagoya",
}


def treaty_slug(value: str) -> str:
    """The IRI-safe slug of a treaty identifier: stripped, lower-case, spaces to ``-``, known
    aliases resolved (``itpgrfa`` -> ``plant-treaty``), and English titles
    ("Convention on Biological Diversity") resolved to the identifier (``cbd``).

    Characters outside ``[a-z0-9._~-]`` are percent-encoded (UTF-8).
    """
    text = " ".join(value.split()).lower()
    slug = _treaty_names().get(text) or text.replace(" ", "-")
    slug = TREATY_ALIASES.get(slug, slug)
    return quote(slug, safe=_SLUG_SAFE)


@functools.cache
def _treaty_names() -> dict[str, str]:
    """Lower-case treaty titles and labels (ontology/treaties.ttl) to identifiers: some
    providers name a treaty by its English title instead of its id."""
    import pyoxigraph as ox

    from ..paths import ONTOLOGY_DIR

    names: dict[str, str] = {}
    path = ONTOLOGY_DIR / "treaties.ttl"
    triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    ids = {t.subject: t.object.value for t in triples if t.predicate.value.endswith("/identifier")}
    for triple in triples:
        if triple.subject in ids and isinstance(triple.object, ox.Literal):
            names.setdefault(" ".join(triple.object.value.split()).lower(), ids[triple.subject])
    return names


def treaty_iri(value: str) -> str:
    """The IRI of a treaty from its InforMEA identifier (``"CBD"`` → ``.../treaty/cbd``)."""
    return TREATY_NS + treaty_slug(value)
