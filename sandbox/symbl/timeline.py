"""Time on a conversation: ISO-8601 formatting, text messages to utterances, placing appended media.

Choice (open in the contract): a conversation's ``startTime`` is the earliest ``duration.startTime`` of the
text messages that created it, or the submission time for media (the sandbox cannot know when a recording was
made). Utterance times are seconds from that start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sandbox.symbl.errors import bad_request
from sandbox.transcript import Speaker, Utterance

# Pace used to give untimed text messages a plausible duration (words per second of ordinary speech).
WORDS_PER_SECOND = 2.5


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, the form Symbl returns (and sortable as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request(f"{field} must be an ISO-8601 timestamp string.")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{field} must be an ISO-8601 timestamp; got {value!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def messages_to_utterances(
    messages: Any, conversation_start: datetime | None
) -> tuple[datetime, list[Utterance]]:
    """Validate a text submission's ``messages`` and turn them into utterances.

    Returns the conversation start (the given one for appends, else the earliest message start, else now) and
    the utterances on that timeline. Messages without ``duration`` follow the previous one at a speaking pace.
    """
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages is required and must be a non-empty array.")
    parsed: list[tuple[str, Speaker, datetime | None, datetime | None]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_request(f"messages[{i}] must be an object.")
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("content"), str):
            raise bad_request(f"messages[{i}].payload.content is required and must be a string.")
        content = payload["content"].strip()
        if not content:
            raise bad_request(f"messages[{i}].payload.content must not be empty.")
        content_type = payload.get("contentType", "text/plain")
        if content_type != "text/plain":
            raise bad_request(f"messages[{i}].payload.contentType must be 'text/plain'.")
        parsed.append((content, _speaker(message.get("from"), i), *_duration(message.get("duration"), i)))

    starts = [start for _, _, start, _ in parsed if start is not None]
    origin = conversation_start or (min(starts) if starts else datetime.now(UTC))
    utterances: list[Utterance] = []
    cursor = 0.0
    for text, speaker, start, end in parsed:
        begin = (start - origin).total_seconds() if start is not None else cursor
        if begin < 0:  # an append timed before the conversation started: keep it after what exists
            begin = cursor
        finish = (end - origin).total_seconds() if end is not None else 0.0
        if finish <= begin:
            finish = begin + max(1.0, len(text.split()) / WORDS_PER_SECOND)
        utterances.append(Utterance(speaker=speaker, text=text, start=round(begin, 3), end=round(finish, 3)))
        cursor = max(cursor, finish)
    return origin, utterances


def _speaker(raw: Any, i: int) -> Speaker:
    if raw is None:
        return Speaker(name="Speaker")
    if not isinstance(raw, dict):
        raise bad_request(f"messages[{i}].from must be an object.")
    name = raw.get("name")
    user_id = raw.get("userId")
    if name is not None and not isinstance(name, str):
        raise bad_request(f"messages[{i}].from.name must be a string.")
    if user_id is not None and not isinstance(user_id, str):
        raise bad_request(f"messages[{i}].from.userId must be a string.")
    email = user_id if user_id and "@" in user_id else None
    return Speaker(name=(name or user_id or "Speaker").strip(), email=email, user_id=user_id)


def _duration(raw: Any, i: int) -> tuple[datetime | None, datetime | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise bad_request(f"messages[{i}].duration must be an object.")
    start = parse_iso(raw["startTime"], f"messages[{i}].duration.startTime") if "startTime" in raw else None
    end = parse_iso(raw["endTime"], f"messages[{i}].duration.endTime") if "endTime" in raw else None
    if start is not None and end is not None and end < start:
        raise bad_request(f"messages[{i}].duration.endTime is before startTime.")
    return start, end


def shift(utterances: Sequence[Utterance], offset: float) -> list[Utterance]:
    """Media appended to a conversation plays after what the conversation already holds."""
    return [
        dataclasses.replace(u, start=round(u.start + offset, 3), end=round(u.end + offset, 3))
        for u in utterances
    ]
