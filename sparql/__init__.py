"""The public SPARQL 1.1 endpoint of MEA Hub (read-only), as an ASGI application."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
