"""Whole-word, case-insensitive phrase matching shared by topics, trackers and custom entities."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Matches ``phrase`` as whole words, any case, any run of whitespace between its words.

    Word boundaries are ``\\w`` look-arounds rather than ``\\b`` so that terms starting or ending in
    punctuation ("A.I.", "e-mail") still match.
    """
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def find_phrase(phrase: str, text: str) -> list[tuple[int, int]]:
    """(start, end) of every whole-word occurrence of ``phrase`` in ``text``."""
    if not phrase.strip():
        return []
    return [(m.start(), m.end()) for m in phrase_pattern(phrase).finditer(text)]
