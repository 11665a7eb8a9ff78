"""The four demo provider flavours on one loopback port, at bench scale, for
``bench.harvest_e2e``: ``python -m bench.multi_mock --scale 1.0 --port P``.

What it serves is :func:`harvester.demo.demo_providers` (BRS WCF style, Olingo with server
paging of 25 and ``__next`` links on a leaked host, CBD JayData style, and the CBD
decision-tracking API with paragraph trees, listed 10 a page) over a dataset generated with the
arguments of :func:`mix_arguments`: at scale 1 about 26,500 records, 18,400 of them decisions
(the mix of issue 14). Decision content is HTML in numbered ``<p>`` paragraphs.

Two bench-only additions, outside the providers' paths:

- ``GET /_bench/served``: the records each provider serves per entity set (the harvest's
  expected counts);
- ``POST /_bench/revise?share=S``: revise the title (and ``updated``) of every ``1/S``-th
  record of every entity set, so that the next harvest has that much to write.

The decision-tracking mock of ``harvester.demo`` rebuilds its code index on every request
(about 30 ms at this scale, minutes of CPU over one harvest, taken from the harvester on a
2-core machine); :class:`IndexedCbdDecisions` keeps it per dataset version instead, with the
same answers.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harvester.demo import Dataset, demo_providers, generate_dataset
from harvester.demo.app import Provider, create_demo_app
from harvester.demo.cbd_api import CbdDecisionsProvider, _summary
from harvester.demo.dataset import DEMO_TREATIES, Record

__all__ = ["BASE_MIX", "IndexedCbdDecisions", "mix_arguments", "providers", "served"]

#: ``generate_dataset`` counts at scale 1: with the four providers' treaty splits they serve
#: 26,5xx records, 18,4xx decisions (the CBD family's decisions twice: OData and trees).
BASE_MIX: dict[str, int] = {
    "decisions": 14_900,
    "meetings": 300,
    "contacts": 3_600,
    "reports": 3_900,
    "plans": 1_100,
    "sites": 300,
}
SEED = 2024


def mix_arguments(scale: float) -> dict[str, int]:
    """The ``generate_dataset`` counts at ``scale`` (at least one decision and meeting)."""
    counts = {name: round(n * scale) for name, n in BASE_MIX.items()}
    counts["decisions"] = max(1, counts["decisions"])
    counts["meetings"] = max(1, counts["meetings"])
    return counts


@dataclass
class _Index:
    version: int
    codes: dict[str, Record]
    summaries: list[dict[str, Any]]


class IndexedCbdDecisions(CbdDecisionsProvider):
    """:class:`CbdDecisionsProvider` with its code index and listing built once per dataset
    version (the same answers; the parent rebuilds both on every request)."""

    def __init__(self, dataset: Dataset, *, base_url: str, page_limit: int | None = None) -> None:
        super().__init__(dataset, base_url=base_url, page_limit=page_limit)
        self._index: _Index | None = None

    def _current(self) -> _Index:
        if self._index is None or self._index.version != self.dataset.version:
            codes = super()._by_code()
            summaries = [_summary(d) for d in codes.values()]
            self._index = _Index(self.dataset.version, codes, summaries)
        return self._index

    def _by_code(self) -> dict[str, Record]:
        return self._current().codes

    def _listing(self, request: httpx.Request) -> httpx.Response:
        items = self._current().summaries
        skip = int(request.url.params.get("skip", "0"))
        limit = int(request.url.params.get("limit", str(len(items) or 1)))
        if self.page_limit is not None:
            limit = min(limit, self.page_limit)
        return httpx.Response(
            200,
            content=_dumps(items[skip : skip + limit]),
            headers={"content-type": "application/json; charset=utf-8"},
        )


def _dumps(body: Any) -> bytes:
    import json

    return json.dumps(body, default=str).encode()


def providers(base: str, dataset: Dataset) -> dict[str, Provider]:
    """:func:`demo_providers` over ``dataset``, the decision-tracking one indexed."""
    found = demo_providers(base, dataset)
    dtt = found["cbd-dtt"]
    assert isinstance(dtt, CbdDecisionsProvider)
    found["cbd-dtt"] = IndexedCbdDecisions(
        dataset, base_url=dtt.base_url, page_limit=dtt.page_limit
    )
    return found


def served(found: Mapping[str, Provider]) -> dict[str, dict[str, int]]:
    """Records per entity set that each provider serves."""
    counts: dict[str, dict[str, int]] = {}
    for name, provider in found.items():
        if isinstance(provider, CbdDecisionsProvider):
            counts[name] = {"Decisions": len(provider._by_code())}
        else:
            view = provider.view  # type: ignore[attr-defined]
            entities = provider.entities  # type: ignore[attr-defined]
            counts[name] = {e: len(view(e)) for e in entities}
    return counts


def revise(dataset: Dataset, share: float, when: datetime) -> int:
    """Revise every ``round(1/share)``-th record (in id order) of every entity set."""
    if share <= 0:
        return 0
    step = max(1, round(1 / share))
    revised = 0
    for entity in list(dataset.sets):
        for record_id in sorted(dataset[entity])[::step]:
            dataset.touch(entity, record_id, when)
            revised += 1
    return revised


def create_app(base: str, scale: float) -> Starlette:
    """The providers under their paths, plus the two ``/_bench`` routes."""
    dataset = generate_dataset(treaties=DEMO_TREATIES, seed=SEED, **mix_arguments(scale))
    found = providers(base, dataset)
    served(found)  # builds the indexes before the first request

    async def served_route(request: Request) -> Response:
        return JSONResponse(served(found))

    async def revise_route(request: Request) -> Response:
        share = float(request.query_params.get("share", "0.1"))
        count = revise(dataset, share, datetime.now(UTC).replace(microsecond=0))
        return JSONResponse({"revised": count, "version": dataset.version})

    app = create_demo_app(found)
    app.router.routes[:0] = [
        Route("/_bench/served", served_route, methods=["GET"]),
        Route("/_bench/revise", revise_route, methods=["POST"]),
    ]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    app = create_app(base, args.scale)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
