"""How text is cut into searchable terms, one analyzer per language bucket.

A literal's language tag picks its bucket (the primary subtag: ``fr-CA`` is ``fr``):

=========  ===============================================================================
``en``     Snowball English stem (Porter2), then accents folded
``fr``     Snowball French stem, accents folded, stemmed again (``protégées``, ``protegee`` meet)
``es``     Snowball Spanish stem, accents folded, stemmed again
``ru``     Snowball Russian stem, accents folded (Cyrillic itself is left as it is)
``ar``     Snowball Arabic stem (it normalises hamza and diacritics itself); no folding
``de``     Snowball German stem (it reads umlauts and ``ß`` itself), then accents folded
``it``     Snowball Italian stem, then accents folded
``pt``     Snowball Portuguese stem, accents folded, stemmed again (``proteção``, ``protecao``
           meet)
``nl``     Snowball Dutch stem, then accents folded
``zh``     one term per Han character (a query is a phrase of characters, so it matches the
           texts that contain it); other runs of letters or digits are words
``xx``     any other tag: words lowercased and folded, not stemmed
``und``    untagged text: as ``xx``
=========  ===============================================================================

Every analyzer lowercases. The stemmers are tantivy's (the Rust ``rust-stemmers`` crate, the
Snowball algorithms), run inside the engine: see ``pyproject.toml`` for why not Python's
``snowballstemmer`` before indexing. The same analyzer objects cut the query's words, so a query
word and an indexed word meet exactly when their stems do.
"""

from __future__ import annotations

import functools
import html
import re

import tantivy

__all__ = [
    "BUCKETS",
    "STEMMED",
    "analyzer",
    "analyzer_name",
    "bucket",
    "plain_text",
    "register_analyzers",
    "terms",
]

#: Snowball stemmer of each stemmed bucket.
STEMMED = {
    "en": "english",
    "fr": "french",
    "es": "spanish",
    "ru": "russian",
    "ar": "arabic",
    "de": "german",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}
#: Stemmed again once folded: the French stemmer reads accents (``protégée`` -> ``proteg`` but
#: ``protegee`` -> ``protege``), so a word typed without its accents is stemmed a second time
#: (``protege`` -> ``proteg``); the stem of a stem is the stem for the other forms measured.
_STEMMED_AGAIN = frozenset({"fr", "es", "pt"})
#: Every bucket, in a fixed order (the index schema has fields per bucket).
BUCKETS = ("en", "fr", "es", "ru", "ar", "zh", "de", "it", "pt", "nl", "xx", "und")

#: A Han character alone, or a run of other letters and digits.
_WORDS = r"\p{Han}|[\p{L}\p{N}&&[^\p{Han}]]+"


def bucket(language: str) -> str:
    """The bucket of a language tag (``""`` for an untagged literal)."""
    if not language:
        return "und"
    primary = language.split("-", 1)[0].lower()
    return primary if primary in BUCKETS and primary not in ("xx", "und") else "xx"


def analyzer_name(name: str) -> str:
    """The name the analyzer of bucket ``name`` is registered under in the index."""
    return f"mea_{name}"


@functools.cache
def analyzer(name: str) -> tantivy.TextAnalyzer:
    """The analyzer of one bucket (built once per process)."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_WORDS))
    builder = builder.filter(tantivy.Filter.lowercase())
    if name in STEMMED:
        builder = builder.filter(tantivy.Filter.stemmer(STEMMED[name]))
    if name != "ar":
        builder = builder.filter(tantivy.Filter.ascii_fold())
    if name in _STEMMED_AGAIN:
        builder = builder.filter(tantivy.Filter.stemmer(STEMMED[name]))
    return builder.build()


def register_analyzers(index: tantivy.Index) -> None:
    """Register every bucket's analyzer on ``index`` (needed at each opening)."""
    for name in BUCKETS:
        index.register_tokenizer(analyzer_name(name), analyzer(name))


def terms(name: str, text: str) -> list[str]:
    """The terms of ``text`` in bucket ``name``, in order."""
    return list(analyzer(name).analyze(text))


_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|tr|td|th|h[1-6]|table|section|article|blockquote)\b[^>]*>", re.I
)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


def plain_text(markup: str) -> str:
    """HTML content as plain text: block tags become line breaks, other tags go, entities are
    decoded (so ``&lt;script&gt;`` is the text ``<script>``, searched and shown as text)."""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    text = _BLOCK.sub("\n", markup)
    text = html.unescape(_TAG.sub("", text))
    return _LINES.sub("\n", _SPACE.sub(" ", text)).strip()
