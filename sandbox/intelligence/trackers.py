"""Tracker matching: vocabulary terms found in messages and in insights, with exact character offsets.

An exact match is a case-insensitive, whole-word occurrence of the term. When a message has no exact match, an
inflected form of the term's last word ("renewal" -> "renewals", "integrate" -> "integrating") counts as a
semantic match, reported as Symbl does with ``offset: -1``. One `matches` entry per vocabulary term found;
only trackers with at least one match are reported (the endpoint lists trackers *detected*).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from sandbox.intelligence.segmentation import Message
from sandbox.intelligence.textmatch import find_phrase

# Endings an inflected form may carry after the stem ("pric" + "e"/"es"/"ed"/"ing"; "renewal" + "s").
_INFLECTIONS = r"(?:e|es|s|ed|ing|er|ers|'s)?"


@lru_cache(maxsize=4096)
def _inflection_pattern(term: str) -> re.Pattern[str] | None:
    """Other inflections of the term's last word; None when the word is too short to stem safely."""
    words = term.lower().split()
    last = words[-1]
    stem = re.sub(r"(?:ing|ed|es|s|e)$", "", last) if len(last) > 4 else ""
    if len(stem) < 3:
        return None
    body = r"\s+".join([*(re.escape(w) for w in words[:-1]), re.escape(stem) + _INFLECTIONS])
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)


def _semantic_match(term: str, text: str) -> bool:
    pattern = _inflection_pattern(term)
    return pattern is not None and pattern.search(text) is not None


def match_trackers(
    trackers: Sequence[Mapping[str, object]],
    messages: Sequence[Message],
    insights: Sequence[Mapping[str, object]],
    make_id: Callable[[str], str],
) -> list[dict[str, object]]:
    """Symbl's bare-array `/trackers` body for the given tracker definitions."""
    detected: list[dict[str, object]] = []
    for tracker in trackers:
        name = str(tracker.get("name") or "")
        vocabulary = tracker.get("vocabulary") or []
        matches: list[dict[str, object]] = []
        for raw_term in vocabulary if isinstance(vocabulary, list) else []:
            term = " ".join(str(raw_term).split())
            if not term:
                continue
            message_refs = _message_refs(term, messages)
            insight_refs = _insight_refs(term, insights)
            if message_refs or insight_refs:
                matches.append(
                    {
                        "type": "vocabulary",
                        "value": term,
                        "messageRefs": message_refs,
                        "insightRefs": insight_refs,
                    }
                )
        if matches:
            detected.append({"id": str(tracker.get("id") or make_id(name)), "name": name, "matches": matches})
    return detected


def _message_refs(term: str, messages: Sequence[Message]) -> list[dict[str, object]]:
    refs: list[dict[str, object]] = []
    for message in messages:
        exact = find_phrase(term, message.text)
        if exact:
            refs.extend({"id": message.id, "text": message.text, "offset": start} for start, _ in exact)
        elif _semantic_match(term, message.text):
            refs.append({"id": message.id, "text": message.text, "offset": -1})
    return refs


def _insight_refs(term: str, insights: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    refs: list[dict[str, object]] = []
    for insight in insights:
        text = str(insight["text"])
        exact = find_phrase(term, text)
        if exact:
            refs.extend(
                {"id": insight["id"], "type": insight["type"], "text": text, "offset": s} for s, _ in exact
            )
        elif _semantic_match(term, text):
            refs.append({"id": insight["id"], "type": insight["type"], "text": text, "offset": -1})
    return refs
