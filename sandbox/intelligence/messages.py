"""Symbl `/messages` items in verbose form (words + sentiment); the route strips what was not asked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sandbox.intelligence.segmentation import Message, words_with_times
from sandbox.intelligence.timestamps import Clock, seconds

# The transcript is ground truth, so recognition confidence is reported as certain.
WORD_CONFIDENCE = 1.0


def message_payloads(
    conversation_id: str,
    clock: Clock,
    messages: Sequence[Message],
    sentiments: Mapping[str, dict[str, object]],
    phrases: Mapping[str, list[dict[str, str]]],
) -> list[dict[str, object]]:
    return [
        {
            "id": m.id,
            "text": m.text,
            "from": m.member.as_from(),
            "startTime": clock.iso(m.start),
            "endTime": clock.iso(m.end),
            "timeOffset": seconds(m.start),
            "duration": seconds(m.duration),
            "conversationId": conversation_id,
            "phrases": phrases.get(m.id, []),
            "sentiment": sentiments[m.id],
            "words": [
                {
                    "word": word,
                    "startTime": clock.iso(begin),
                    "endTime": clock.iso(end),
                    "score": WORD_CONFIDENCE,
                    "timeOffset": seconds(begin),
                    "duration": seconds(end - begin),
                    "speakerTag": m.member.speaker_tag,
                }
                for word, begin, end in words_with_times(m)
            ],
        }
        for m in messages
    ]
