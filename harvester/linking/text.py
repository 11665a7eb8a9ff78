"""Text normalisation for the linker: tokens, stems, stop words and negation scopes.

Text and cues go through the same :func:`analyse` so that a multi-word cue is matched as a
phrase over normalised tokens: lower case, Snowball stems, stop words dropped ("loss of natural
habitats" and "natural habitat loss" both become stems without "of"). Tokens that follow a
negation trigger ("not", "no", "excluding"...) up to :data:`NEGATION_SCOPE` content words or the
next clause boundary (``, ; : . ( )``, "but", "whereas"...) are flagged as negated.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

__all__ = [
    "NEGATION_SCOPE",
    "Analysed",
    "analyse",
    "analyse_tokens",
    "stem_phrase",
    "stemmer_for",
    "tokenise",
]

NEGATION_SCOPE = 5
"""How many content words after a negation trigger are negated (unless a boundary comes first)."""

_TOKEN_RE = re.compile(r"[^\W_]+|[;:,.!?()\[\]]")
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+|[;:,.!?()\[\]]")  # the same in lower-case ASCII, faster
_BOUNDARY = frozenset([*";:,.!?()[]", "but", "however", "whereas", "while"])
_SNOWBALL_NAMES = {"en": "english", "fr": "french", "es": "spanish"}

_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "a an the of and or to in on for with by as at from its their his her our is are be "
        "been was were that this these those which who whose it all any such into upon "
        "including include includes also inter alia s where shall should may will would "
        "has have had other relevant".split()
    ),
    "fr": frozenset(
        "le la les l un une des de du d et ou à au aux en dans sur pour par avec que qui dont "
        "ce ces cette son sa ses leur leurs est sont être y compris notamment".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas de del y o a al en sobre para por con que quien cuyo "
        "este esta estos estas su sus es son ser incluidos incluidas".split()
    ),
}

_NEGATORS: dict[str, frozenset[str]] = {
    "en": frozenset({"not", "no", "excluding", "except", "excludes", "exclude", "nor", "neither"}),
    "fr": frozenset({"ne", "pas", "sans", "hormis", "excepté", "sauf"}),
    "es": frozenset({"no", "sin", "excepto", "salvo", "excluyendo"}),
}

_NOT_NEGATING = frozenset(
    {"only", "later", "less", "fewer", "more", "doubt", "longer", "seulement"}
)
"""Words that, right after a trigger, make it no negation ("not only", "no later than")."""

_DROPPED = {lang: _BOUNDARY | stop for lang, stop in _STOP_WORDS.items()}
"""Per language, the tokens that give no stem in text without negation triggers."""


@dataclass(frozen=True, slots=True)
class Analysed:
    """A text as the linker sees it.

    :ivar stems: content-word stems, in order (stop words dropped).
    :ivar negated: per stem, whether it lies inside a negation scope.
    """

    stems: tuple[str, ...]
    negated: tuple[bool, ...]


@lru_cache(maxsize=8)
def stemmer_for(lang: str) -> Callable[[str], str]:
    """A cached, thread-safe stemming function for ``lang`` (``en``, ``fr`` or ``es``).

    :raises KeyError: for a language without a Snowball stemmer here.
    """
    stemmer = snowballstemmer.stemmer(_SNOWBALL_NAMES[lang])
    lock = threading.Lock()  # a Snowball stemmer object keeps state while it stems

    @lru_cache(maxsize=200_000)
    def stem(word: str) -> str:
        with lock:
            return str(stemmer.stemWord(word))

    return stem


def tokenise(text: str) -> list[str]:
    """The tokens of ``text`` as :func:`analyse` reads them: lower-case words and punctuation."""
    lowered = text.lower()
    return (_ASCII_TOKEN_RE if lowered.isascii() else _TOKEN_RE).findall(lowered)


def analyse(text: str, lang: str = "en") -> Analysed:
    """Lower-case, tokenise, drop stop words, stem and mark negation scopes."""
    return analyse_tokens(tokenise(text), lang)


def analyse_tokens(tokens: list[str], lang: str) -> Analysed:
    """:func:`analyse` of the tokens of a text (:func:`tokenise`)."""
    stem = stemmer_for(lang)
    if _NEGATORS[lang].isdisjoint(tokens):  # nothing is negated (the common case)
        dropped = _DROPPED[lang]
        stems = tuple([stem(token) for token in tokens if token not in dropped])
        return Analysed(stems, (False,) * len(stems))
    return _analyse_negations(tokens, lang, stem)


def _analyse_negations(tokens: list[str], lang: str, stem: Callable[[str], str]) -> Analysed:
    """:func:`analyse` of tokens with a negation trigger, following the scopes token by token."""
    stop, negators = _STOP_WORDS[lang], _NEGATORS[lang]
    stems: list[str] = []
    negated: list[bool] = []
    scope = 0
    for token in tokens:
        if token in _BOUNDARY:
            scope = 0
        elif token in negators:
            scope = NEGATION_SCOPE
        elif scope == NEGATION_SCOPE and token in _NOT_NEGATING:
            scope = 0
        elif token not in stop:
            stems.append(stem(token))
            negated.append(scope > 0)
            scope = max(scope - 1, 0)
    return Analysed(tuple(stems), tuple(negated))


def stem_phrase(phrase: str, lang: str = "en") -> tuple[str, ...]:
    """The stems of a cue phrase, as :func:`analyse` would give them in running text."""
    return analyse(phrase, lang).stems
