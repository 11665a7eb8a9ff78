"""Source HTML (a decision's ``mea:content``) made safe to show: an allow-list sanitiser.

The content is harvested, so untrusted. It goes through ``nh3`` (the Python binding of the Rust
``ammonia`` sanitiser): only the tags below are kept, with no attribute but a link's ``href``
(absolute ``http``, ``https`` or ``mailto`` only) and the few table ones; ``script``, ``style``
and similar elements are dropped with their content; comments are removed. Headings become plain
text (a record's content must not break the page's heading outline). What comes out is markup we
allow; it is never executed (the pages' policy forbids scripts besides) and never shown as
source.
"""

from __future__ import annotations

import nh3

__all__ = ["ALLOWED_TAGS", "sanitize"]

#: Block and inline structure of decision texts; no media, forms, frames, headings or styles.
ALLOWED_TAGS = frozenset(
    "p br ol ul li dl dt dd blockquote div span em strong b i u s sub sup small abbr cite q "
    "code pre table caption thead tbody tfoot tr th td".split()
)
_ATTRIBUTES = {
    "a": {"href"},
    "ol": {"start"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "abbr": {"title"},
}
_DROPPED_WITH_CONTENT = frozenset(
    "script style template noscript iframe object embed svg math textarea select".split()
)
_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize(html: str) -> str:
    """``html`` with only the allowed tags and attributes (links open nothing on their own:
    ``rel="noopener noreferrer nofollow"``, relative URLs dropped)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS | {"a"}),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
