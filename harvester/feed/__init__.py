"""The change feed (issue 15): every record a commit creates, updates or deletes becomes one
immutable member of a Linked Data Event Stream, written in the same commit as the change
(:mod:`.recorder`), and read back page by page (:mod:`.pages`); see docs/feed.md."""

from __future__ import annotations

from .pages import FeedPage, FeedReader, Member, feed_quads
from .recorder import FeedHook, Retention, attach, attach_feed
from .terms import FeedTerms

__all__ = [
    "FeedHook",
    "FeedPage",
    "FeedReader",
    "FeedTerms",
    "Member",
    "Retention",
    "attach",
    "attach_feed",
    "feed_quads",
]
