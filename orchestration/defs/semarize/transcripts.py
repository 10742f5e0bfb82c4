"""Transcripts in and out: the convo-intel transcript document a drop folder may hold, and speaker turns.

In: a ``transcript_file`` manifest names a convo-intel transcript (the format ``sandbox/transcript.py``
documents; declared again here because the pipeline must not depend on the sandbox package).
``validate_transcript`` checks it against the ``Transcript`` declaration; the error names the field.

Out: Symbl splits speech into short messages; an analyst (and an LLM) reads turns. A turn is a run of
consecutive messages by the same speaker, in spoken order. Input rows are ``symbl_messages`` rows (as produced
by ``orchestration.defs.symbl.parse.parse_messages`` or read back from the warehouse).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from orchestration.validation import JsonInputError, first_problem, loads_strict

Row = dict[str, Any]

UNKNOWN_SPEAKER = "Unknown speaker"
TRANSCRIPT_FORMAT = "convo-intel-transcript"


class TranscriptError(ValueError):
    """A transcript document is unusable; the message names the field (``messages[3].speaker.name ...``)."""


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _offset(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite number of seconds from 0")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]
Offset = Annotated[float, AfterValidator(_offset)]


class _Declared(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as written; unknown keys (version, ...) are ignored


class TranscriptSpeaker(_Declared):
    name: NonBlank
    email: str | None = None


class TranscriptMessage(_Declared):
    speaker: TranscriptSpeaker
    text: NonBlank
    start: Offset
    end: Offset

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: float, info: ValidationInfo) -> float:
        if "start" in info.data and end < info.data["start"]:
            raise ValueError("is before its start")
        return end


class Transcript(_Declared):
    format: Literal["convo-intel-transcript"]  # TRANSCRIPT_FORMAT
    messages: Annotated[list[TranscriptMessage], Field(min_length=1)]


def validate_transcript(raw: bytes) -> dict[str, Any]:
    """The transcript document, checked against ``Transcript``; raises ``TranscriptError`` naming the field."""
    try:
        doc = loads_strict(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise TranscriptError("is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise TranscriptError("is not valid: JSON nested too deeply") from None
    except (JsonInputError, ValueError) as exc:  # a repeated key, NaN, a number past int()'s digit limit
        raise TranscriptError(f"is not valid: {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise TranscriptError("must be a JSON object")
    try:
        Transcript.model_validate(doc)
    except ValidationError as exc:
        raise TranscriptError(first_problem(exc).joined()) from None
    return doc


def assemble_turns(
    conversation_id: str,
    recording_id: str,
    partition_date: date,
    message_rows: Iterable[Mapping[str, Any]],
) -> list[Row]:
    """Rows of the ``transcripts`` table, ``turn_index`` from 0.

    Messages are ordered by start time, ties (and messages without times) keeping their given order. Blank
    messages carry no words and are left out. Offsets are seconds from the conversation start: the
    message's own ``time_offset_seconds`` when Symbl sent it, else derived from its start time relative to
    the earliest message.
    """
    messages = [m for m in _spoken_order(message_rows) if (m.get("text") or "").strip()]
    origin = min((m["start_time"] for m in messages if m.get("start_time") is not None), default=None)

    turns: list[Row] = []
    current_speaker: tuple[Any, ...] | None = None
    for message in messages:
        speaker = _speaker_identity(message)
        start, end = _offsets(message, origin)
        text = message["text"].strip()
        if turns and speaker == current_speaker:
            turn = turns[-1]
            turn["text"] = f"{turn['text']} {text}"
            turn["message_count"] += 1
            if turn["start_offset_seconds"] is None:
                turn["start_offset_seconds"] = start
            turn["end_offset_seconds"] = _later(turn["end_offset_seconds"], end)
            continue
        current_speaker = speaker
        turns.append(
            {
                "conversation_id": conversation_id,
                "recording_id": recording_id,
                "partition_date": partition_date,
                "turn_index": len(turns),
                "speaker_name": message.get("speaker_name"),
                "speaker_email": message.get("speaker_email"),
                "text": text,
                "start_offset_seconds": start,
                "end_offset_seconds": end,
                "message_count": 1,
            }
        )
    return turns


def transcript_text(turns: Sequence[Mapping[str, Any]]) -> str:
    """``"Speaker Name: text"`` lines, the string form of Semarize's ``input.transcript``.

    Whitespace inside a turn (including newlines) is collapsed so that one line is always one turn.
    """
    return "\n".join(f"{_speaker_label(turn)}: {' '.join(turn['text'].split())}" for turn in turns)


def transcript_turns_payload(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``[{"speaker", "text"}]``, the structured form of Semarize's ``input.transcript``."""
    return [{"speaker": _speaker_label(turn), "text": turn["text"]} for turn in turns]


def _spoken_order(message_rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Sort by start time when every message has one, else by offset when every message has one, else keep the
    given order (mixing timed and untimed messages has no meaningful order beyond the API's own)."""
    messages = list(message_rows)
    for column in ("start_time", "time_offset_seconds"):
        if messages and all(m.get(column) is not None for m in messages):
            # sorted() is stable: messages at the same instant keep the API's order.
            return sorted(messages, key=lambda m, c=column: m[c])
    return messages


def _speaker_identity(message: Mapping[str, Any]) -> tuple[Any, ...]:
    # Every identifying field takes part, so two speakers who share a display name stay separate turns.
    return (
        message.get("speaker_id"),
        message.get("speaker_user_id"),
        message.get("speaker_email"),
        message.get("speaker_name"),
    )


def _offsets(message: Mapping[str, Any], origin: datetime | None) -> tuple[float | None, float | None]:
    start = message.get("time_offset_seconds")
    duration = message.get("duration_seconds")
    if start is None and origin is not None and message.get("start_time") is not None:
        start = (message["start_time"] - origin).total_seconds()
    end: float | None = None
    if start is not None and duration is not None:
        end = float(start) + float(duration)
    elif origin is not None and message.get("end_time") is not None:
        end = (message["end_time"] - origin).total_seconds()
    return (None if start is None else float(start)), end


def _later(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _speaker_label(turn: Mapping[str, Any]) -> str:
    name = " ".join((turn.get("speaker_name") or "").split())
    return name or UNKNOWN_SPEAKER
