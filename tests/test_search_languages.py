"""The stemmed languages beyond the six UN ones (issue 17): German, Italian, Portuguese and
Dutch texts are told by their language tag and searched by Snowball stem, each in its own
bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from harvester.search import SearchRequest, attach, reader_generation, search
from harvester.search.analysis import bucket, terms
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping
from harvester.store.embedded import ChangeSet

HUB = "http://hub.test/"
MEA = "https://w3id.org/mea/ontology#"
TITLES = {
    "de": "Schutz der Feuchtgebiete und geschützten Gewässer",
    "pt": "Proteção das espécies migratórias",
    "it": "Aree protette e specie migratorie",
    "nl": "Bescherming van trekkende soorten",
}


@pytest.mark.parametrize(
    ("tag", "one", "other"),
    [
        pytest.param(
            "de", "Feuchtgebieten geschützten Wälder", "feuchtgebiete geschutzt wald", id="de"
        ),
        pytest.param("it", "aree protette città", "area protetta citta", id="it"),
        pytest.param("pt", "proteção das espécies", "protecao das especie", id="pt"),
        pytest.param("nl", "trekkende soorten", "trekkend soort", id="nl"),
    ],
)
def test_word_forms_meet_on_their_stem(tag: str, one: str, other: str) -> None:
    assert bucket(tag) == tag and bucket(tag + "-CH") == tag
    assert terms(tag, one) == terms(tag, other)
    assert terms(tag, one) != terms("xx", one)  # not the unstemmed bucket any more


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    with Runtime.open(settings, in_memory=True) as opened:
        changes = ChangeSet()
        for tag, title in TITLES.items():
            graph, record = (
                ox.NamedNode(f"{HUB}graph/t/{tag}"),
                ox.NamedNode(f"{HUB}decision/t/{tag}"),
            )
            facts: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]] = [
                (ox.NamedNode(MEA + "harvestSource"), ox.Literal("t")),
                (
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(MEA + "Decision"),
                ),
                (ox.NamedNode("http://purl.org/dc/terms/title"), ox.Literal(title, language=tag)),
            ]
            changes.put_graph(graph.value, [ox.Quad(record, p, o, graph) for p, o in facts])
        opened.store.apply(changes)
        yield opened


def _found(runtime: Runtime, text: str, language: str | None = None) -> list[str]:
    index = attach(runtime.store)
    assert index is not None
    request = SearchRequest(text, language=language, limit=10)
    return [
        h.iri.rsplit("/", 1)[-1]
        for h in search(index, reader_generation(runtime.store), request).hits
    ]


def test_a_german_text_is_found_by_another_form_of_its_words(runtime: Runtime) -> None:
    assert _found(runtime, "Feuchtgebiet geschützte", "de") == ["de"]
    assert _found(runtime, "feuchtgebiet geschutzte") == ["de"]  # any language, accents folded
    assert _found(runtime, "Feuchtgebiet", "it") == []  # lang=it reads Italian and untagged only


def test_portuguese_italian_and_dutch_texts_are_stemmed(runtime: Runtime) -> None:
    assert _found(runtime, "protecao especie migratoria", "pt") == ["pt"]
    assert _found(runtime, "area protetta", "it") == ["it"]
    assert _found(runtime, "trekkend soort", "nl") == ["nl"]
