"""The search box's query language, parsed with positions for error messages.

- words are ANDed: ``protected areas`` finds records with both words (stemmed: ``protecting
  area`` too);
- ``"double quotes"`` make a phrase: the words next to each other, in that order;
- ``OR`` (upper case) between two parts finds either; ``AND`` may be written, it changes nothing;
- ``-word``, ``-"a phrase"`` or ``NOT word`` excludes; ``( ... )`` groups.

Anything else is a word: ``wetlands-related``, ``X/31`` or ``c++`` are cut into terms by each
language's analyzer, never read as syntax. A malformed query raises
:class:`~harvester.exceptions.SearchSyntaxError` with the offset (in characters, from 0) where
it went wrong: an unclosed quote or parenthesis, a ``)`` without ``(``, an ``OR`` with nothing
on one side, or a query with nothing but exclusions.
"""

from __future__ import annotations

from dataclasses import dataclass

from harvester.exceptions import SearchSyntaxError

__all__ = ["MAX_QUERY_CHARS", "MAX_TERMS", "And", "Node", "Not", "Or", "Phrase", "Word", "parse"]

#: Longer search texts are refused (a search is a few words; the endpoint has its own byte cap).
MAX_QUERY_CHARS = 4096
#: Words and phrases a query may have.
MAX_TERMS = 64


@dataclass(frozen=True)
class Word:
    text: str
    position: int


@dataclass(frozen=True)
class Phrase:
    text: str
    position: int


@dataclass(frozen=True)
class Not:
    node: Node
    position: int


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Word | Phrase | Not | And | Or

_SPECIAL = '"()'


@dataclass(frozen=True)
class _Token:
    kind: str  # word, phrase, (, ), OR, AND, NOT, -
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise SearchSyntaxError("This quote is never closed.", i)
            tokens.append(_Token("phrase", text[i + 1 : end], i))
            i = end + 1
        elif char == "-" and i + 1 < len(text) and text[i + 1] not in " \t\r\n)-":
            tokens.append(_Token("-", char, i))
            i += 1
        else:
            i = _word(text, i, tokens)
    return tokens


def _word(text: str, start: int, tokens: list[_Token]) -> int:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _SPECIAL:
        end += 1
    word = text[start:end]
    kind = word if word in ("OR", "AND", "NOT") else "word"
    tokens.append(_Token(kind, word, start))
    return end


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def query(self) -> Node:
        node = self.disjunction()
        token = self.peek()
        if token is not None:  # only a ")" stops a disjunction early
            raise SearchSyntaxError("This ')' has no '(' before it.", token.position)
        return node

    def disjunction(self) -> Node:
        nodes = [self.conjunction()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            if self._at_end_of_group():
                raise SearchSyntaxError("OR needs something after it.", token.position)
            nodes.append(self.conjunction())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def conjunction(self) -> Node:
        nodes: list[Node] = []
        while not self._at_end_of_group():
            token = self.peek()
            assert token is not None
            if token.kind == "OR":
                if not nodes:
                    raise SearchSyntaxError("OR needs something before it.", token.position)
                break
            if token.kind == "AND":
                self.take()
                if not nodes or self._at_end_of_group():
                    raise SearchSyntaxError("AND needs something on both sides.", token.position)
                continue
            nodes.append(self.unary())
        if not nodes:
            token = self.peek()
            position = token.position if token is not None else len(self.text)
            raise SearchSyntaxError("Something to search for is missing here.", position)
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def _at_end_of_group(self) -> bool:
        token = self.peek()
        return token is None or token.kind == ")"

    def unary(self) -> Node:
        token = self.take()
        if token.kind in ("-", "NOT"):
            if self._at_end_of_group() or self.peek().kind in ("OR", "AND"):  # type: ignore[union-attr]
                raise SearchSyntaxError(f"{token.text} needs something after it.", token.position)
            return Not(self.unary(), token.position)
        if token.kind == "(":
            return self.group(token)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise SearchSyntaxError(f"A query may have at most {MAX_TERMS} words.", token.position)
        return (
            Word(token.text, token.position)
            if token.kind == "word"
            else Phrase(token.text, token.position)
        )

    def group(self, opening: _Token) -> Node:
        if self.peek() is None:
            raise SearchSyntaxError("This parenthesis is never closed.", opening.position)
        node = self.disjunction()
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise SearchSyntaxError("This parenthesis is never closed.", opening.position)
        self.take()
        return node


def parse(text: str) -> Node:
    """The syntax tree of a search text.

    :raises SearchSyntaxError: for a malformed query, with the position of the problem.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise SearchSyntaxError(
            f"The search text is longer than {MAX_QUERY_CHARS} characters.", MAX_QUERY_CHARS
        )
    if not text.strip():
        raise SearchSyntaxError("The search text is empty.", 0)
    node = _Parser(text).query()
    if not _has_positive(node):
        raise SearchSyntaxError("A query needs at least one word that is not excluded.", 0)
    return node


def _has_positive(node: Node) -> bool:
    if isinstance(node, Word | Phrase):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_has_positive(n) for n in node.nodes)
    return all(_has_positive(n) for n in node.nodes)
