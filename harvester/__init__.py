"""MEA Hub: harvest InforMEA-style sources into the MEA ontology and serve them as linked data."""

__version__ = "0.1.0"

__all__ = ["__version__"]
