"""A search as a job for the endpoint's query workers (``sparql.workers``), so ``/search`` gets
the hard timeout SPARQL queries have: the worker that runs past ``[server].query_timeout`` is
killed and the client gets a 503, whatever the search was doing.

The job crosses the process boundary as plain text (:func:`encode`, JSON of a
:class:`~harvester.search.searcher.SearchRequest`); the worker answers it on the store generation
it reads (:func:`answer`), so ``/search`` sees exactly what ``/sparql`` sees; the answer comes back
as JSON bytes with an HTTP status (:func:`decode` on the way back).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from harvester.exceptions import SearchSyntaxError, SearchUnavailableError

from .index import generation_number
from .searcher import Hit, SearchRequest, SearchResults, search
from .service import reader_index

__all__ = ["MEDIA_TYPE", "answer", "decode", "decode_error", "encode"]

MEDIA_TYPE = "application/json"


def encode(request: SearchRequest) -> str:
    """``request`` as the text of a job."""
    return json.dumps(dataclasses.asdict(request), ensure_ascii=False)


def answer(text: str, store_path: Path, folder: Path | None) -> tuple[int, bytes]:
    """Run the search of job ``text`` on the generation at ``folder`` of the store at
    ``store_path`` (its index opened read-only, once per process): the HTTP status and the JSON
    body (the results, or ``{"error", "position"}``)."""
    index = reader_index(store_path)
    generation = generation_number(folder.name) if folder is not None else 0
    try:
        results = search(index, generation, SearchRequest(**json.loads(text)))
    except SearchSyntaxError as exc:
        return 400, _json({"error": exc.message, "position": exc.position})
    except SearchUnavailableError as exc:
        return 503, _json({"error": str(exc)})
    return 200, _json(dataclasses.asdict(results))


def decode(body: bytes) -> SearchResults:
    """The results :func:`answer` sent."""
    data = json.loads(body)
    hits = [Hit(**hit) for hit in data["hits"]]
    facets = {k: [(v, n) for v, n in values] for k, values in data["facets"].items()}
    return SearchResults(data["total"], hits, data["generation"], facets)


def decode_error(status: int, message: str) -> SearchSyntaxError | SearchUnavailableError:
    """The error a worker's failure stands for: a syntax error (400, with its position) or the
    index unable to answer (anything else: the message as it is, a timeout's included)."""
    try:
        data = json.loads(message)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return SearchUnavailableError(message)
    if status == 400:
        return SearchSyntaxError(str(data.get("error")), int(data.get("position") or 0))
    return SearchUnavailableError(str(data.get("error")))


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
