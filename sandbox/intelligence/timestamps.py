"""Symbl's time formats: ISO-8601 UTC with milliseconds and a ``Z`` suffix; offsets in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC (the drop-folder manifests always carry an offset; tests may not)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``2026-04-07T15:00:04.200Z``."""
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class Clock:
    """Turns offsets from the conversation start into ISO timestamps.

    A 90-minute call has tens of thousands of word timestamps, so the start is normalised to naive UTC once
    and each distinct millisecond is formatted once.
    """

    def __init__(self, start: datetime) -> None:
        self._start = as_utc(start).replace(tzinfo=None)
        # One word's end is the next word's start: memoising by millisecond halves the formatting work.
        self._formatted: dict[int, str] = {}

    def iso(self, offset_seconds: float) -> str:
        millis = round(offset_seconds * 1000)
        text = self._formatted.get(millis)
        if text is None:
            text = (self._start + timedelta(milliseconds=millis)).isoformat(timespec="milliseconds") + "Z"
            self._formatted[millis] = text
        return text


def seconds(value: float) -> float:
    """Offsets and durations are reported to the millisecond so that output is stable across platforms."""
    return float(round(value, 3))
