"""Questions: interrogative sentences, attributed to their speaker.

A sentence is a question when it ends with "?" or opens the way English questions open (a wh-word followed by
an auxiliary, or an auxiliary followed by a subject: "how do we", "can you", "is there"). Tag questions and
fillers ("Right?", "You know?") are too short to count. Requests that are action items ("Can you send the
SOW?") are reported as action items only, so a rep's discovery-question count is not inflated by asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sandbox.intelligence.segmentation import Message, word_count

_LEAD_IN = r"^(?:(?:so|and|but|okay|ok|well|now|also|then|um|uh|oh|alright|right|hey)\b[,\s]*)*"
_WH = r"(?:what|how|why|when|where|who|whom|whose|which)"
_AUX = (
    r"(?:can|could|would|will|do|does|did|is|are|was|were|have|has|had|should|shall|may|might|am|"
    r"isn't|aren't|don't|doesn't|didn't|won't|wouldn't|can't|couldn't|haven't|hasn't|shouldn't)"
)
_SUBJECT = (
    r"(?:you|we|i|they|he|she|it|there|this|that|these|those|the|your|our|their|my|his|her|anyone|anybody|"
    r"someone|somebody|any|everyone|everybody)"
)
_OPENER = re.compile(
    rf"{_LEAD_IN}(?:{_WH}\b(?:'s|'re|\s+{_AUX}\b|\s+\w+\s+{_AUX}\b|\s+about\b)|{_AUX}\s+{_SUBJECT}\b)",
    re.IGNORECASE,
)
MIN_WORDS = 3

SCORE_MARK_AND_OPENER = 0.95
SCORE_MARK_ONLY = 0.85
SCORE_OPENER_ONLY = 0.7


def question_score(text: str) -> float | None:
    """Confidence that ``text`` is a question, or None when it is not one."""
    stripped = text.strip()
    if word_count(stripped) < MIN_WORDS or stripped.endswith("!"):
        return None
    marked = stripped.endswith("?")
    opens = _OPENER.match(stripped) is not None
    if marked and opens:
        return SCORE_MARK_AND_OPENER
    if marked:
        return SCORE_MARK_ONLY
    if opens:
        return SCORE_OPENER_ONLY
    return None


def find_questions(
    messages: Sequence[Message],
    threshold: float,
    make_id: Callable[[Message], str],
    excluded_message_ids: frozenset[str] = frozenset(),
) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for message in messages:
        if message.id in excluded_message_ids:
            continue
        score = question_score(message.text)
        if score is None or score < threshold:
            continue
        found.append(
            {
                "id": make_id(message),
                "text": message.text,
                "type": "question",
                "score": score,
                "messageIds": [message.id],
                "from": message.member.as_from(),
            }
        )
    return found
