"""A generated InforMEA-style provider on a local port, for ``make bench``:
``python -m bench.mock_server --decisions N --port P`` (serves ``/bench/informea.svc``)."""

from __future__ import annotations

import argparse

import uvicorn

from bench.harvest_bench import TREATIES
from harvester.demo import ODataProvider, create_demo_app, generate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--flavour", default="olingo")
    args = parser.parse_args()
    dataset = generate_dataset(
        treaties=TREATIES,
        decisions=args.decisions,
        meetings=max(10, args.decisions // 50),
        contacts=0,
        reports=0,
        plans=0,
    )
    base = f"http://127.0.0.1:{args.port}/bench/informea.svc"
    provider = ODataProvider(dataset, base_url=base, flavour=args.flavour)
    app = create_demo_app({"bench": provider})
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
