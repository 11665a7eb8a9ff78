"""Where an IRI is shown: the local page of an IRI we serve, or the IRI itself.

Local pages (root-relative, so they work whatever host the server answers on):

- an IRI under ``base_iri``: its own path (``{base}decision/cbd/42`` -> ``/decision/cbd/42``);
- an ontology term ``https://w3id.org/mea/ontology#X``: ``/def/X`` (the ontology: ``/def``);
- any other IRI under ``https://w3id.org/mea/`` (treaties, countries, Aichi and GBF targets,
  schemes): ``/resource?iri=<IRI>``.

Other IRIs link out, but only with a harmless scheme (``http``, ``https``, ``mailto``): a harvested
``javascript:`` IRI is shown as text, never as a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from harvester.vocab import MEA

__all__ = ["MEA_NAMESPACE", "ONTOLOGY_IRI", "Linker", "safe_href"]

MEA_NAMESPACE = "https://w3id.org/mea/"
ONTOLOGY_IRI = MEA.rstrip("#")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Linker:
    """Maps IRIs to the links a page shows, and request paths back to IRIs."""

    base_iri: str

    def local_path(self, iri: str) -> str | None:
        """The path of our page for ``iri``, or None when we do not serve one."""
        if iri.startswith(self.base_iri):
            return "/" + iri[len(self.base_iri) :]
        if iri == ONTOLOGY_IRI:
            return "/def"
        if iri.startswith(MEA) and len(iri) > len(MEA):
            return "/def/" + quote(iri[len(MEA) :], safe="")
        if iri.startswith(MEA_NAMESPACE):
            return "/resource?iri=" + quote(iri, safe="")
        return None

    def href(self, iri: str) -> str | None:
        """The link target for ``iri``: a local page, the IRI itself, or None (not linkable)."""
        local = self.local_path(iri)
        if local is not None:
            return local
        return safe_href(iri)

    def iri_for_path(self, raw_path: str) -> str:
        """The IRI a request path under ``base_iri`` names (the path as sent, still
        percent-encoded, since minted IRIs are percent-encoded too)."""
        return self.base_iri + raw_path.lstrip("/")

    @staticmethod
    def term_iri(term: str) -> str:
        """The ontology term a ``/def/<term>`` path names."""
        return MEA + unquote(term)


def safe_href(iri: str) -> str | None:
    """``iri`` as a link target when its scheme is safe to follow (http, https, mailto), else
    None: a harvested or followed IRI may be ``javascript:...``."""
    return iri if iri.lower().startswith(_SAFE_SCHEMES) else None
