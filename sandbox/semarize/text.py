"""Text primitives the Kit rules share: sentences, words, and vocabulary matchers.

Every function here returns slices of its input unchanged, so that evidence quotes built from them are
verbatim substrings of the transcript the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

# A sentence ends at . ! or ? followed by whitespace. Abbreviations split wrongly now and then; for scoring a
# call that costs far less than a tokenizer dependency would.
_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=\S)")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Speech-to-text output uses typographic apostrophes; vocabulary files use plain ones.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})

_QUESTION_OPENERS = re.compile(
    r"^(what|how|who|whom|whose|when|why|where|which|do|does|did|are|is|was|were|can|could|would|will|should|"
    r"have|has|tell me|walk me)\b",
    re.IGNORECASE,
)

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    let me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself yourselves ok okay yeah yes um uh like
    really well right sure get got going go know think thing things one lot much many please thanks
    thank hi hello hey s t don didn doesn isn aren wasn weren won wouldn couldn shouldn ll re ve d m
    """.split()  # noqa: SIM905 (a word list reads better as prose)
)


def normalise(text: str) -> str:
    """Lower-case with plain apostrophes: the form every matcher searches (never used for quoting)."""
    return text.translate(_APOSTROPHES).lower()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each a verbatim substring of it (leading/trailing whitespace removed)."""
    return [s.strip() for s in _SENTENCE_BOUNDARY.split(text.strip()) if s.strip()]


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def stem(word: str) -> str:
    """A deliberately crude stemmer: enough to make "pricing"/"price" and "reports"/"report" meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)].rstrip("e")
    return word.rstrip("e") if len(word) > 3 else word


def content_terms(text: str) -> set[str]:
    """Stemmed words that carry meaning (stopwords and one-letter tokens dropped)."""
    return {stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1}


def is_question(sentence: str) -> bool:
    stripped = sentence.strip().rstrip("\"')")
    return stripped.endswith("?") or bool(_QUESTION_OPENERS.match(stripped))


@dataclass(frozen=True)
class Phrases:
    """A case-insensitive matcher for a vocabulary list.

    Each term matches on word boundaries; a trailing ``*`` makes it a prefix (``frustrat*`` matches
    "frustrated" and "frustrating"). Terms are plain text, not regular expressions, so a Kit author cannot
    break the scorer with a stray bracket.
    """

    terms: tuple[str, ...]

    @classmethod
    def of(cls, terms: Iterable[str]) -> Phrases:
        return cls(tuple(t.strip() for t in terms if t.strip()))

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.terms:
            return None
        parts = []
        # Longest first so that "decision maker" wins over "decision" in the reported match.
        for term in sorted(self.terms, key=len, reverse=True):
            body = normalise(term)
            prefix = body.endswith("*")
            body = re.escape(body.rstrip("*"))
            lead = r"\b" if body[:1].isalnum() else ""
            tail = r"\w*" if prefix else (r"\b" if body[-1:].isalnum() else "")
            parts.append(f"{lead}{body}{tail}")
        return re.compile("|".join(parts))

    def find(self, text: str) -> list[str]:
        """Every match in ``text``, in order, as it appears there (lower-cased)."""
        return [] if self._pattern is None else [m.group(0) for m in self._pattern.finditer(normalise(text))]

    def matches(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(normalise(text)) is not None


def first_matches(sentences: Sequence[str], phrases: Phrases, limit: int) -> list[str]:
    """The first ``limit`` sentences that mention any of ``phrases``."""
    return [s for s in sentences if phrases.matches(s)][:limit]
