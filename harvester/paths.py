"""Where the project's data folders are (``ontology/``, ``mappings/``), found from the package."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MAPPINGS_DIR", "ONTOLOGY_DIR", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
MAPPINGS_DIR = PROJECT_ROOT / "mappings"
