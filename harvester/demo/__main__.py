"""``python -m harvester.demo --host 127.0.0.1 --port 8765``: serve the demo OData sources."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from .app import create_demo_app, demo_providers

logger = logging.getLogger("harvester.demo")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options of the demo server."""
    parser = argparse.ArgumentParser(
        prog="python -m harvester.demo",
        description="Serve mock InforMEA OData sources (BRS, CMS-family and CBD dialects).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (8765)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Start uvicorn with the demo app and log the service roots."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    providers = demo_providers(f"http://{args.host}:{args.port}")
    for name, provider in providers.items():
        flavour = getattr(provider, "flavour", "cbd decision tracking")
        logger.info("demo source %s (%s): %s", name, flavour, provider.base_url)
    uvicorn.run(create_demo_app(providers), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
