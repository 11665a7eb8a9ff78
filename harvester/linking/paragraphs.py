"""Splitting decision content (untrusted HTML or plain text) into numbered paragraphs.

Handles the shapes seen in MEA decisions: ``<p>1. ADOPTS ...</p>``, numbered ``<ol><li>`` lists
(nested lists as sub-items), ``<br>``-separated lines, plain text with ``1.`` markers, ``2 bis``
and ``3 ter`` numbers, ``(a)`` sub-items (also inline after a colon or semicolon), ``(i)``
sub-sub-items and unnumbered preambular paragraphs (number ``None``).

The HTML is only *read* with :class:`html.parser.HTMLParser`: nothing is fetched or executed;
the text of ``script``, ``style`` and similar elements is dropped, entities are unescaped and
whitespace is normalised. Content made only of text and bare tags (``<p>``, ``</p>``, ``<br/>``:
no attributes, comments or declarations, only the tags of :data:`_SIMPLE_TAGS`) is read by a
regular expression instead, which gives the parser's own events several times faster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

__all__ = ["Paragraph", "split_paragraphs"]

_BLOCK_TAGS = frozenset(
    "p div li ol ul br hr h1 h2 h3 h4 h5 h6 tr table blockquote section article dd dt "
    "header footer pre".split()
)
_SKIPPED_TAGS = frozenset("script style template noscript iframe object head title".split())
_ROMAN_RE = re.compile(r"^(?:i{1,3}|iv|vi{0,3}|ix|xi{0,3}|x)$")
_MARKER_RE = re.compile(
    r"^\s*(?:"
    r"(?P<main>\d{1,3}(?:\s*(?i:bis|ter|quater|quinquies))?)(?:\s*\((?P<combo>[a-z])\))?"
    # "1." "1)" "1(a)" or "1 ADOPTS", but not "17 per cent"
    r"(?:\s*[.)](?=\s)|(?<=\))(?=\s)|(?=\s+[A-Z]{3,}\b))|"
    r"\((?P<sub>[a-zA-Z]{1,4})\)|(?P<bare>[a-z])\)"
    r")\s*"
)
_SPLIT_RE = re.compile(
    r"\n\s*\n\s*"  # a blank line
    r"|\n\s*(?=\d{1,3}(?:\s*(?:bis|ter))?[.)]\s|\([a-z]{1,4}\)\s)"  # a line opening with a marker
    r"|(?<=[:;])\s+(?:(?:and|or)\s+)?(?=\([a-z]{1,4}\)\s)"  # inline "(a)" after ":" or ";"
    r"|(?<=[.;])\s+(?=\d{1,3}(?:\s*(?:bis|ter))?\.\s+[A-Z])"  # "... . 2. DECIDES"
)
_MAY_SPLIT_RE = re.compile(r"[\n.:;](?:(?<=\n)|\s+(?:[(\d]|and\s|or\s))")
"""Found wherever :data:`_SPLIT_RE` would split (and in some more places): a quick pre-test."""
_SPACE_RE = re.compile(r"\s+")
_DIGIT_LETTER_RE = re.compile(r"(\d)(?=[a-z])")
_INLINE_TAGS = "a abbr b big cite code em font i q s small span strike strong sub sup u"
_SIMPLE_TAGS = _BLOCK_TAGS | frozenset(f"{_INLINE_TAGS} tbody td th thead".split())
"""Tags the fast reader handles: none changes how :class:`HTMLParser` reads what follows."""
_BARE_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)( ?/)?>")


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph of a decision.

    :ivar number: as published and normalised (``"1"``, ``"2 bis"``, ``"1(a)"``,
        ``"1(a)(ii)"``), or ``None`` for an unnumbered (e.g. preambular) paragraph.
    :ivar text: plain text without the number, tags stripped, entities unescaped.
    """

    number: str | None
    text: str


@dataclass(frozen=True, slots=True)
class _Block:
    """Raw text of one block element, with the marker of its ``<li>`` if it is one."""

    text: str
    list_marker: tuple[str, str] | None


class _ListState:
    """An open ``<ol>``/``<ul>``: its kind, numbering type and item count."""

    __slots__ = ("count", "ordered", "type")

    def __init__(self, ordered: bool, start: int, kind: str) -> None:
        self.ordered, self.count, self.type = ordered, start - 1, kind


class _Blocks:
    """Collects the text of block elements from parse events (:class:`HTMLParser`'s)."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self._buffer: list[str] = []
        self._marker: tuple[str, str] | None = None
        self._lists: list[_ListState] = []
        self._skipping = 0

    def start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in ("ol", "ul"):
            self.flush()
            self._lists.append(_new_list(tag, dict(attrs), len(self._lists)))
        elif tag == "li":
            self.flush()
            self._marker = self._next_item()
        elif tag in _BLOCK_TAGS:
            self.flush()

    def start_end(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.flush()

    def end(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag in ("ol", "ul") and self._lists:
                self._lists.pop()

    def data(self, data: str) -> None:
        if not self._skipping:
            self._buffer.append(data)

    def flush(self) -> None:
        """End the current block (if it has any text)."""
        text = "".join(self._buffer)
        if text.strip():
            self.blocks.append(_Block(text, self._marker))
        self._buffer, self._marker = [], None

    def _next_item(self) -> tuple[str, str] | None:
        if not self._lists or not self._lists[-1].ordered:
            return None
        state = self._lists[-1]
        state.count += 1
        return _list_label(state.type, state.count)


class _BlockParser(HTMLParser):
    """Feeds :class:`_Blocks`; never resolves or runs anything."""

    def __init__(self, blocks: _Blocks) -> None:
        super().__init__(convert_charrefs=True)
        self.out = blocks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.start(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.start_end(tag)

    def handle_endtag(self, tag: str) -> None:
        self.out.end(tag)

    def handle_data(self, data: str) -> None:
        self.out.data(data)


def _read_blocks(html: str) -> list[_Block]:
    """The blocks of ``html``: by :func:`_read_bare` when it can, else by :class:`HTMLParser`."""
    blocks = _Blocks()
    if not _read_bare(html, blocks):
        parser = _BlockParser(blocks)
        parser.feed(html)
        parser.close()
    blocks.flush()
    return blocks.blocks


def _read_bare(html: str, blocks: _Blocks) -> bool:
    """Give ``blocks`` the events :class:`HTMLParser` would for ``html`` made of text and bare
    :data:`_SIMPLE_TAGS` (``<p>``, ``</p>``, ``<br/>``, ``<br />``), and return True; return
    False, having given nothing, for anything else. As the parser does, each run of text between
    two tags is unescaped as a whole."""
    parts = _BARE_TAG_RE.split(html)  # text, closing "/", name, empty " /", text, ...
    texts = parts[::4]
    if any("<" in text for text in texts):
        return False  # a tag with attributes, a comment, a declaration or a stray "<"
    tags = [
        (closing, name.lower(), empty)
        for closing, name, empty in zip(parts[1::4], parts[2::4], parts[3::4], strict=True)
    ]
    if any(name not in _SIMPLE_TAGS or (closing and empty) for closing, name, empty in tags):
        return False
    for text, (closing, name, empty) in zip(texts[:-1], tags, strict=True):
        _read_text(text, blocks)
        if closing:
            blocks.end(name)
        elif empty:
            blocks.start_end(name)
        else:
            blocks.start(name, [])
    _read_text(texts[-1], blocks)
    return True


def _read_text(text: str, blocks: _Blocks) -> None:
    if text:
        blocks.data(unescape(text) if "&" in text else text)


def _new_list(tag: str, attrs: dict[str, str | None], depth: int) -> _ListState:
    start = attrs.get("start") or "1"
    kind = attrs.get("type") or ("1" if depth == 0 else "a")
    return _ListState(tag == "ol", int(start) if start.isdigit() else 1, kind)


def _list_label(kind: str, n: int) -> tuple[str, str]:
    """(``main`` or ``sub``, label) of the ``n``-th item of an ``<ol type=kind>``."""
    if kind in ("a", "A"):
        return "sub", chr(ord("a") + (n - 1) % 26)
    if kind in ("i", "I"):
        return "sub", _roman(n)
    return "main", str(n)


def _roman(n: int) -> str:
    numerals = (("x", 10), ("ix", 9), ("v", 5), ("iv", 4), ("i", 1))
    out = ""
    for numeral, value in numerals:
        while n >= value:
            out, n = out + numeral, n - value
    return out


class _Numbering:
    """Turns markers into full paragraph numbers ("2", "2(a)", "2(a)(i)")."""

    def __init__(self) -> None:
        self.main: str | None = None
        self.letter: str | None = None

    def number(self, kind: str | None, label: str) -> str | None:
        """The number of a paragraph with marker ``(kind, label)`` (``kind`` None: unnumbered)."""
        if kind == "main":
            self.main, self.letter = label, None
            return label
        if kind != "sub":
            return None
        prefix = self.main or ""
        if self.letter and _ROMAN_RE.match(label) and not _is_next_letter(self.letter, label):
            return f"{prefix}({self.letter})({label})"
        self.letter = label
        return f"{prefix}({label})"


def _is_next_letter(letter: str, label: str) -> bool:
    """Whether ``label`` continues a lettered list ("(h)" then "(i)" is a letter)."""
    return len(letter) == 1 and len(label) == 1 and ord(label) == ord(letter) + 1


def _leading_marker(text: str) -> tuple[list[tuple[str, str]], str]:
    """The markers a piece of text starts with (a combined "1(a)" gives two) and the rest."""
    match = _MARKER_RE.match(text)
    if not match:
        return [], text
    rest = text[match.end() :]
    main = match.group("main")
    if main:
        if not main.isdecimal():  # "2 bis", "2ter"
            main = _DIGIT_LETTER_RE.sub(r"\1 ", _SPACE_RE.sub(" ", main.lower()))
        combo = match.group("combo")
        return [("main", main)] + ([("sub", combo.lower())] if combo else []), rest
    return [("sub", (match.group("sub") or match.group("bare")).lower())], rest


def _pieces(block: _Block) -> list[tuple[list[tuple[str, str]], str]]:
    """A block cut at line and marker boundaries, each piece with its leading markers."""
    pieces = []
    text = block.text.strip()
    for index, raw in enumerate(_SPLIT_RE.split(text) if _MAY_SPLIT_RE.search(text) else [text]):
        markers, rest = _leading_marker(raw)
        if index == 0 and not markers and block.list_marker:
            markers = [block.list_marker]
        pieces.append((markers, rest))
    return pieces


def split_paragraphs(html: str) -> list[Paragraph]:
    """Split decision content (HTML or plain text) into :class:`Paragraph` objects, in order.

    :param html: the content as harvested; treated as untrusted, only parsed for its text.
    """
    numbering = _Numbering()
    paragraphs: list[Paragraph] = []
    for block in _read_blocks(html):
        for markers, rest in _pieces(block):
            _append(paragraphs, numbering, markers, " ".join(rest.split()))
    return paragraphs


def _append(
    paragraphs: list[Paragraph], numbering: _Numbering, markers: list[tuple[str, str]], text: str
) -> None:
    number = None
    for kind, label in markers or [("", "")]:
        number = numbering.number(kind or None, label)
    if text:
        paragraphs.append(Paragraph(number, text))
