"""Extractive summary: the most informative sentences of the call, in time order.

A sentence's weight is the sum of the scores of the topics it mentions, plus a bonus when it carries an action
item, follow-up or question (the parts of a call a reader of a summary wants), scaled down for very short
sentences. The top 3-6 (about one per ten messages) are kept and reported in the order they were said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from sandbox.intelligence.segmentation import Message, word_count
from sandbox.intelligence.timestamps import Clock

MIN_ITEMS = 3
MAX_ITEMS = 6
MESSAGES_PER_ITEM = 10
MIN_WORDS = 6  # "Sounds good." carries nothing a summary reader needs
_INSIGHT_BONUS = {"action_item": 1.0, "follow_up": 0.5, "question": 0.3}


def summarise(
    messages: Sequence[Message],
    clock: Clock,
    topics: Sequence[Mapping[str, object]],
    insights: Sequence[Mapping[str, object]],
    make_id: Callable[[int], str],
) -> list[dict[str, object]]:
    weights: dict[str, float] = {}
    for topic in topics:
        for message_id in cast(list[str], topic["messageIds"]):
            weights[message_id] = weights.get(message_id, 0.0) + cast(float, topic["score"])
    for insight in insights:
        bonus = _INSIGHT_BONUS.get(str(insight["type"]), 0.0)
        for message_id in cast(list[str], insight["messageIds"]):
            weights[message_id] = weights.get(message_id, 0.0) + bonus
    eligible = [m for m in messages if word_count(m.text) >= MIN_WORDS]
    wanted = max(MIN_ITEMS, min(MAX_ITEMS, round(len(messages) / MESSAGES_PER_ITEM)))
    # Ties go to the earlier sentence so that the choice is deterministic.
    ranked = sorted(
        eligible, key=lambda m: (-weights.get(m.id, 0.0) * _length_factor(m), -_length_factor(m), m.index)
    )
    chosen = sorted(ranked[:wanted], key=lambda m: m.index)
    return [
        {
            "id": make_id(position),
            "text": message.text,
            "messageRefs": [{"id": message.id}],
            "startTime": clock.iso(message.start),
            "endTime": clock.iso(message.end),
        }
        for position, message in enumerate(chosen)
    ]


def _length_factor(message: Message) -> float:
    """Favour full sentences over fragments, without letting a monologue win on length alone."""
    return min(1.0, word_count(message.text) / 15.0)
