"""Turning a recording row into the right Symbl Async API call (text, audio/video URL, raw audio/video)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestration.defs.recordings.source import MediaError, validate_transcript
from orchestration.defs.symbl.client import SubmitOptions, SubmitResult, SymblClient

AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/opus",
    ".aac": "audio/aac",
    ".amr": "audio/amr",
    ".ac3": "audio/ac3",
    ".aiff": "audio/aiff",
    ".aif": "audio/aiff",
    ".wma": "audio/x-ms-wma",
    ".m4a": "audio/mp4",
}


def submit_options(
    recording: dict[str, Any], *, webhook_url: str | None, trackers: list[dict[str, Any]]
) -> SubmitOptions:
    participants = json.loads(recording["participants"]) if recording.get("participants") else []
    is_media = recording["media_kind"] != "transcript_file"
    channels = json.loads(recording["channel_map"]) if recording.get("channel_map") else []
    # A channel map names every speaker outright; diarization would only replace those names by `Speaker <n>`.
    by_channel = is_media and bool(channels)
    diarize = is_media and not by_channel
    return SubmitOptions(
        name=recording.get("title") or recording["recording_id"],
        webhook_url=webhook_url,
        language_code=recording.get("language_code") or "en-US",
        detect_entities=True,
        enable_summary=True,
        enable_all_trackers=True,
        trackers=trackers or None,
        enable_speaker_diarization=True if diarize else None,
        diarization_speaker_count=max(len(participants), 1) if diarize else None,
        enable_separate_recognition_per_channel=True if by_channel else None,
        channel_metadata=[
            {
                "channel": c["channel"],
                "speaker": {k: v for k, v in {"name": c["name"], "email": c["email"]}.items() if v},
            }
            for c in channels
        ]
        if by_channel
        else None,
        metadata={"recording_id": recording["recording_id"]},
    )


def speaker_events_payload(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's speech stretches as Symbl speaker events: a started and a stopped event for each."""
    out: list[dict[str, Any]] = []
    for e in sorted(events, key=lambda e: (e["start"], e["end"])):
        user = {
            k: v
            for k, v in {
                "id": e.get("email") or e["name"],
                "name": e["name"],
                "email": e.get("email"),
            }.items()
            if v
        }
        for kind, at in (("started_speaking", e["start"]), ("stopped_speaking", e["end"])):
            whole = int(at)
            out.append(
                {
                    "type": kind,
                    "user": user,
                    "offset": {"seconds": whole, "nanos": round((at - whole) * 1e9)},
                }
            )
    return out


def text_messages(transcript_doc: dict[str, Any], start_time: datetime) -> list[dict[str, Any]]:
    """Symbl text-API messages from a transcript document, with absolute ISO times from the recording start."""
    messages = []
    for m in transcript_doc["messages"]:
        speaker = m["speaker"]
        begin = start_time + timedelta(seconds=float(m["start"]))
        finish = start_time + timedelta(seconds=float(m["end"]))
        messages.append(
            {
                "payload": {"content": m["text"], "contentType": "text/plain"},
                "from": {
                    k: v
                    for k, v in {"name": speaker.get("name"), "userId": speaker.get("email")}.items()
                    if v
                },
                "duration": {"startTime": _iso(begin), "endTime": _iso(finish)},
            }
        )
    return messages


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _read(path: str, what: str) -> bytes:
    p = Path(path)
    try:
        # media_ref was resolved (symlinks followed) inside the drop folder or a media root when the manifest
        # was validated; if it no longer resolves to itself, a link was swapped in since: refuse to follow it.
        if p.resolve() != p:
            raise MediaError(f"{what} {path} was replaced by a symbolic link after validation")
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise MediaError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise MediaError(f"{what} {path} could not be read: {exc.strerror or exc}") from exc


def prepare_submit(
    client: SymblClient, recording: dict[str, Any], options: SubmitOptions
) -> Callable[[], Awaitable[SubmitResult]]:
    """Read the media now (errors surface as MediaError before any API call); return the call to make."""
    kind, ref = recording["media_kind"], recording["media_ref"]
    if kind == "audio_url":
        return lambda: client.submit_audio_url(ref, options)
    if kind == "video_url":
        return lambda: client.submit_video_url(ref, options)
    if kind == "audio_file":
        data = _read(ref, "audio file")
        content_type = AUDIO_CONTENT_TYPES.get(Path(ref).suffix.lower())
        return lambda: client.submit_audio_file(data, content_type, options)
    if kind == "video_file":
        data = _read(ref, "video file")
        return lambda: client.submit_video_file(data, options)
    if kind == "transcript_file":
        # The same shape check the drop-folder source applies: the error names the field that is wrong.
        doc = validate_transcript(_read(ref, "transcript file"), recording["recording_id"])
        messages = text_messages(doc, recording["start_time"])
        return lambda: client.submit_text(messages, options)
    raise MediaError(f"unknown media kind {kind!r}")
