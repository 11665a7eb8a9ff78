"""Local mock InforMEA OData sources: deterministic data, three producer dialects, an ASGI app.

* :mod:`.dataset`: :class:`Dataset`, :func:`generate_dataset`, :func:`demo_dataset`;
* :mod:`.provider`: :class:`ODataProvider` (an ``httpx`` handler) and :class:`Fault`;
* :mod:`.app`: :func:`create_demo_app`, :func:`demo_providers`, :func:`demo_sources`.
"""

from __future__ import annotations

from .app import create_demo_app, demo_providers, demo_sources
from .dataset import ENTITY_SETS, Dataset, Record, demo_dataset, generate_dataset
from .provider import MALFORMATIONS, Fault, Flavour, ODataProvider

__all__ = [
    "ENTITY_SETS",
    "MALFORMATIONS",
    "Dataset",
    "Fault",
    "Flavour",
    "ODataProvider",
    "Record",
    "create_demo_app",
    "demo_dataset",
    "demo_providers",
    "demo_sources",
    "generate_dataset",
]
