"""Full-text search over the harvested records, in every language they come in (issue 17).

- :mod:`~harvester.search.analysis`: the analyzer of each language bucket;
- :mod:`~harvester.search.documents`: a record graph to the text the index keeps;
- :mod:`~harvester.search.schema` and :mod:`~harvester.search.index`: the tantivy index, one
  document per version of a record, tied to the store's generations;
- :mod:`~harvester.search.sync`: the index of a store object and the store's publish hook;
- :mod:`~harvester.search.syntax`, :mod:`~harvester.search.query`,
  :mod:`~harvester.search.searcher`: the query language and the search itself;
- :mod:`~harvester.search.service`: ``SERVICE <urn:meahub:search>`` inside SPARQL;
- :mod:`~harvester.search.cli`: ``meahub search`` and ``meahub reindex``.

See ``docs/search.md``.
"""

from __future__ import annotations

from .searcher import Hit, SearchRequest, SearchResults, search
from .sync import attach, reader_generation, reindex, unavailable_reason

__all__ = [
    "Hit",
    "SearchRequest",
    "SearchResults",
    "attach",
    "reader_generation",
    "reindex",
    "search",
    "unavailable_reason",
]
