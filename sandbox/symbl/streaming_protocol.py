"""Streaming API wire format: reading the client's control messages and building the server's messages.

Control messages are JSON text frames; the official Python SDK sends ``stop_request`` as a Python repr
(``{'type': 'stop_request'}``), so a text frame that is not JSON is read as a Python literal too (literals only:
``ast.literal_eval`` never runs code).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

MAX_AUDIO_FRAME_BYTES = 8192
PING, PONG = "__PING__", "__PONG__"
INSIGHT_TYPES = frozenset({"question", "action_item", "follow_up", "topic"})
# Documented rates: LINEAR16 8-48 kHz, MULAW 8 kHz (telephony), FLAC 16-48 kHz, Opus 8-48 kHz.
RATES: dict[str, tuple[int, int]] = {
    "LINEAR16": (8000, 48000),
    "MULAW": (8000, 8000),
    "FLAC": (16000, 48000),
    "OPUS": (8000, 48000),
}
MAX_TIMEOUT_SECONDS = 1800


class ProtocolError(ValueError):
    """A control message the server refuses; the message is sent back in an ``error`` message."""


def parse_control(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        try:
            message = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ProtocolError("Control messages must be JSON objects with a 'type'.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("Control messages must be JSON objects with a 'type'.")
    return message


@dataclass(frozen=True)
class SpeechRecognition:
    encoding: str = "LINEAR16"
    sample_rate: int = 16000


def parse_speech_recognition(raw: Any, current: SpeechRecognition | None = None) -> SpeechRecognition:
    base = current or SpeechRecognition()
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise ProtocolError("speechRecognition must be an object.")
    encoding = raw.get("encoding", base.encoding)
    if not isinstance(encoding, str) or encoding.upper() not in RATES:
        raise ProtocolError("speechRecognition.encoding must be one of LINEAR16, FLAC, MULAW, Opus.")
    encoding = encoding.upper()
    rate = raw.get("sampleRateHertz", base.sample_rate if encoding == base.encoding else None)
    if rate is None:
        rate = RATES[encoding][0]
    low, high = RATES[encoding]
    if isinstance(rate, bool) or not isinstance(rate, int) or not low <= rate <= high:
        allowed = f"{low}" if low == high else f"{low}-{high}"
        raise ProtocolError(f"speechRecognition.sampleRateHertz for {encoding} must be {allowed}.")
    return SpeechRecognition(encoding, rate)


@dataclass(frozen=True)
class StartRequest:
    speech: SpeechRecognition
    insight_types: frozenset[str] = frozenset()
    meeting_title: str | None = None
    confidence_threshold: float = 0.5
    detect_entities: bool = False
    speaker: dict[str, Any] = field(default_factory=dict)
    trackers: tuple[dict[str, Any], ...] = ()
    enable_all_trackers: bool = False
    no_connection_timeout: float = 0.0
    disconnect_on_stop: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


def parse_start(message: dict[str, Any]) -> StartRequest:
    config = message.get("config") or {}
    if not isinstance(config, dict):
        raise ProtocolError("config must be an object.")
    insight_types = message.get("insightTypes") or []
    if not isinstance(insight_types, list) or not all(isinstance(t, str) for t in insight_types):
        raise ProtocolError("insightTypes must be an array of strings.")
    unknown = set(insight_types) - INSIGHT_TYPES
    if unknown:
        raise ProtocolError(f"insightTypes has unknown types: {sorted(unknown)}.")
    threshold = config.get("confidenceThreshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.5 <= threshold <= 1:
        raise ProtocolError("config.confidenceThreshold must be between 0.5 and 1.0.")
    trackers = message.get("trackers") or []
    if not isinstance(trackers, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("vocabulary"), list)
        for t in trackers
    ):
        raise ProtocolError("trackers must be an array of {name, vocabulary[]}.")
    tracker_config = config.get("trackers") or {}
    speaker = message.get("speaker") or {}
    return StartRequest(
        speech=parse_speech_recognition(config.get("speechRecognition")),
        insight_types=frozenset(insight_types),
        meeting_title=config.get("meetingTitle") if isinstance(config.get("meetingTitle"), str) else None,
        confidence_threshold=float(threshold),
        detect_entities=bool(config.get("detectEntities", False)),
        speaker=speaker if isinstance(speaker, dict) else {},
        trackers=tuple({"name": t["name"], "vocabulary": list(t["vocabulary"])} for t in trackers),
        enable_all_trackers=bool(
            isinstance(tracker_config, dict) and tracker_config.get("enableAllTrackers")
        ),
        no_connection_timeout=_seconds(message, "noConnectionTimeout", 0),
        disconnect_on_stop=bool(message.get("disconnectOnStopRequest", True)),
        raw=message,
    )


def _seconds(message: dict[str, Any], key: str, default: float) -> float:
    value = message.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_TIMEOUT_SECONDS:
        raise ProtocolError(f"{key} must be a number of seconds between 0 and {MAX_TIMEOUT_SECONDS}.")
    return float(value)


# --- server messages ----------------------------------------------------------------------------------------


def system_message(kind: str, conversation_id: str | None = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": kind, **extra}
    if conversation_id is not None:
        message["data"] = {"conversationId": conversation_id}
    out: dict[str, Any] = {"type": "message", "message": message}
    if kind == "conversation_completed" and conversation_id is not None:
        out["conversationId"] = conversation_id  # the contract asks for both places
    return out


def error_message(details: str, code: str = "bad_request") -> dict[str, Any]:
    return {"type": "message", "message": {"type": "error", "code": code, "details": details}}


def duration_object(seconds: float) -> dict[str, str]:
    """Symbl's ``{seconds, nanos}`` (strings, as the SDKs receive them)."""
    whole = int(seconds)
    return {"seconds": str(whole), "nanos": str(round((seconds - whole) * 1e9))}
