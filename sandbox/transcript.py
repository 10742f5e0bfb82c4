"""The transcript a piece of demo media carries: the sandbox's stand-in for speech recognition.

One JSON document, used in three places:
- embedded in demo media (a ``cvtx`` chunk in WAV files, a top-level ``cvtx`` box in MP4 files: see ``media.py``),
- as a sidecar file next to media (``<media file>.transcript.json``),
- as a drop-folder transcript file for text submissions.

    {"format": "convo-intel-transcript", "version": 1, "language_code": "en-US",
     "messages": [{"speaker": {"name": "Maya Chen", "email": "maya@x.example"},
                   "text": "...", "start": 0.0, "end": 4.2, "channel": 1}]}

``start``/``end`` are seconds from the start of the media; ``channel`` (optional) is the audio channel of a
stereo recording the utterance was spoken on. Media without a transcript is never given a made-up one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TRANSCRIPT_FORMAT = "convo-intel-transcript"


class TranscriptError(ValueError):
    """The transcript document is missing or malformed; the message says which field."""


@dataclass(frozen=True)
class Speaker:
    name: str
    email: str | None = None
    user_id: str | None = None  # Symbl `from.userId`; defaults to the email when absent


@dataclass(frozen=True)
class Utterance:
    speaker: Speaker
    text: str
    start: float  # seconds from media start
    end: float
    # 1-based audio channel of a stereo / dual-channel recording (None: mono, or not known). Symbl only
    # separates speakers by channel when asked to (enableSeparateRecognitionPerChannel + channelMetadata).
    channel: int | None = None


@dataclass(frozen=True)
class Transcript:
    utterances: tuple[Utterance, ...]
    language_code: str = "en-US"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float:
        return max((u.end for u in self.utterances), default=0.0)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TRANSCRIPT_FORMAT,
            "version": 1,
            "language_code": self.language_code,
            "messages": [
                {
                    "speaker": {
                        k: v
                        for k, v in {
                            "name": u.speaker.name,
                            "email": u.speaker.email,
                            "userId": u.speaker.user_id,
                        }.items()
                        if v is not None
                    },
                    "text": u.text,
                    "start": round(u.start, 3),
                    "end": round(u.end, 3),
                    **({"channel": u.channel} if u.channel is not None else {}),
                }
                for u in self.utterances
            ],
        }

    @classmethod
    def from_json(cls, raw: str | bytes) -> Transcript:
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TranscriptError(f"transcript is not valid JSON: {exc}") from exc
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: Any) -> Transcript:
        if not isinstance(doc, dict):
            raise TranscriptError("transcript must be a JSON object")
        if doc.get("format") != TRANSCRIPT_FORMAT:
            raise TranscriptError(f"transcript.format must be {TRANSCRIPT_FORMAT!r}")
        messages = doc.get("messages")
        if not isinstance(messages, list) or not messages:
            raise TranscriptError("transcript.messages must be a non-empty list")
        utterances = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise TranscriptError(f"transcript.messages[{i}] must be an object")
            spk = m.get("speaker")
            if not isinstance(spk, dict) or not isinstance(spk.get("name"), str) or not spk["name"].strip():
                raise TranscriptError(f"transcript.messages[{i}].speaker.name is required")
            text = m.get("text")
            if not isinstance(text, str) or not text.strip():
                raise TranscriptError(f"transcript.messages[{i}].text must be a non-empty string")
            try:
                start, end = float(m["start"]), float(m["end"])
            except (KeyError, TypeError, ValueError) as exc:
                raise TranscriptError(f"transcript.messages[{i}].start/end must be numbers") from exc
            if start < 0 or end < start:
                raise TranscriptError(f"transcript.messages[{i}] has end before start or a negative start")
            channel = m.get("channel")
            if channel is not None and (
                isinstance(channel, bool) or not isinstance(channel, int) or channel < 1
            ):
                raise TranscriptError(f"transcript.messages[{i}].channel must be a positive integer")
            utterances.append(
                Utterance(
                    speaker=Speaker(
                        name=spk["name"].strip(),
                        email=spk.get("email") or None,
                        user_id=spk.get("userId") or spk.get("email") or None,
                    ),
                    text=text.strip(),
                    start=start,
                    end=end,
                    channel=channel,
                )
            )
        return cls(utterances=tuple(utterances), language_code=str(doc.get("language_code") or "en-US"))
