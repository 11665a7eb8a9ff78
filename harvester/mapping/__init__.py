"""From a raw payload to validated quads: the mapping engine, value parsers, countries and
targets, preparers, the shape checker, enrichment, reference data and the transform."""
