"""A generated InforMEA-style provider on a local port, for ``make bench``:
``python -m bench.mock_server --decisions N --port P [--contacts C --reports R --meetings M]``
(serves ``/bench/informea.svc``). Without ``--meetings``, one meeting per 50 decisions."""

from __future__ import annotations

import argparse

import uvicorn

from bench.harvest_bench import TREATIES
from harvester.demo import ODataProvider, create_demo_app, generate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--meetings", type=int, default=None)
    parser.add_argument("--contacts", type=int, default=0)
    parser.add_argument("--reports", type=int, default=0)
    parser.add_argument("--flavour", default="olingo")
    args = parser.parse_args()
    meetings = args.meetings if args.meetings is not None else max(10, args.decisions // 50)
    dataset = generate_dataset(
        treaties=TREATIES,
        decisions=args.decisions,
        meetings=meetings,
        contacts=args.contacts,
        reports=args.reports,
        plans=0,
    )
    base = f"http://127.0.0.1:{args.port}/bench/informea.svc"
    provider = ODataProvider(dataset, base_url=base, flavour=args.flavour)
    app = create_demo_app({"bench": provider})
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
