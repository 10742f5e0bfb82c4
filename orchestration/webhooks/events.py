"""What the receiver accepts: the bodies of Symbl job callbacks and of recording-platform events.

Every check raises ``EventError`` whose reason names the field, and that reason is the 400 answer's text.

Symbl callback (unsigned; authenticated by the token in the URL)::

    {"jobId": "<uuid>", "id": "<uuid>", "status": "completed", "conversationId": "<id>"}

Symbl's docs show ``jobId``, a Symbl blog shows ``id``: either is accepted (both, if equal). ``status`` is one of
scheduled | in_progress | completed | failed. The payload is a hint only: the pipeline re-reads the job.

Recording-platform event (signed, see signing.py): a recording manifest exactly as ``docs/drop-folder.md``
describes, either bare or in an envelope that leaves room for other event types later::

    {"type": "recording.completed", "id": "<platform event id, optional>", "recording": {<manifest>}}

The receiver checks what it can without the drop folder (ids, start time, host, participants, media); the media
file's existence and everything else is checked by the ``recordings`` asset, which records a rejection with the
reason. ``media.path`` must be relative and stay inside the drop folder: a remote sender must not be able to name
an arbitrary file on this host (the drop folder's own manifests may use absolute paths; events may not).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from orchestration.recordings.manifest import MAX_MANIFEST_BYTES, MEDIA_KINDS, URL_KINDS
from orchestration.webhooks.inbox import JOB_ID_PATTERN, JOB_STATUSES

RECORDING_COMPLETED = "recording.completed"
# Same alphabet as docs/drop-folder.md (the manifest parser's own pattern is private to it).
RECORDING_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_ID_CHARS = 256


class EventError(ValueError):
    """The body is not an acceptable event; ``reason`` names the field."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise EventError(f"{key}: the key appears twice in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise EventError(f"body contains {name}, which is not valid JSON")


def decode_json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(
            body.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except UnicodeDecodeError as exc:
        raise EventError("body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise EventError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(document, dict):
        raise EventError("body must be a JSON object")
    return document


def _short_string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{field} must be a non-empty string")
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise EventError(f"{field} must be at most {MAX_ID_CHARS} printable characters")
    return value


def parse_symbl_callback(document: dict[str, Any]) -> dict[str, Any]:
    """The inbox payload of a Symbl callback: ``{"job_id", "status", "conversation_id"}``."""
    ids = {key: document[key] for key in ("jobId", "id") if document.get(key) is not None}
    if not ids:
        raise EventError("jobId (or id) is required")
    for key, value in ids.items():
        if not isinstance(value, str) or not JOB_ID_PATTERN.fullmatch(value):
            raise EventError(f"{key} must be a job id (1-128 characters of [A-Za-z0-9._-])")
    if len(set(ids.values())) > 1:
        raise EventError("jobId and id name different jobs")
    status = document.get("status")
    if status not in JOB_STATUSES:
        raise EventError(f"status must be one of {', '.join(JOB_STATUSES)}")
    conversation_id = document.get("conversationId")
    if conversation_id is not None:
        conversation_id = _short_string(conversation_id, "conversationId")
    return {"job_id": next(iter(ids.values())), "status": status, "conversation_id": conversation_id}


def parse_platform_event(document: dict[str, Any]) -> dict[str, Any]:
    """The inbox payload of a platform event: ``{"event_type", "event_id", "recording": <manifest>}``."""
    event_id = None
    if "recording" in document:
        if document.get("type") != RECORDING_COMPLETED:
            raise EventError(f"type must be {RECORDING_COMPLETED!r}")
        if document.get("id") is not None:
            event_id = _short_string(document["id"], "id")
        recording = document["recording"]
        prefix = "recording."
    else:
        recording, prefix = document, ""
    check_recording(recording, prefix)
    if len(json.dumps(recording, ensure_ascii=False).encode("utf-8")) > MAX_MANIFEST_BYTES:
        raise EventError(f"{prefix or 'the manifest'} is over {MAX_MANIFEST_BYTES} bytes as a manifest file")
    return {"event_type": RECORDING_COMPLETED, "event_id": event_id, "recording": recording}


def check_recording(recording: Any, prefix: str = "") -> None:
    """The manifest checks that need no drop folder (docs/drop-folder.md); field names carry ``prefix``."""
    if not isinstance(recording, dict):
        raise EventError(f"{prefix.rstrip('.') or 'body'} must be a JSON object")
    rid = recording.get("recording_id")
    if not isinstance(rid, str) or not RECORDING_ID_PATTERN.fullmatch(rid):
        raise EventError(f"{prefix}recording_id is required: 1-128 characters of [A-Za-z0-9._:-]")
    start = recording.get("start_time")
    try:
        parsed = datetime.fromisoformat(start) if isinstance(start, str) and len(start) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise EventError(f"{prefix}start_time is required: an ISO-8601 timestamp with a UTC offset")
    host = recording.get("host")
    if not isinstance(host, dict) or not isinstance(host.get("email"), str) or "@" not in host["email"]:
        raise EventError(f"{prefix}host.email is required")
    participants = recording.get("participants")
    if not isinstance(participants, list) or not participants:
        raise EventError(f"{prefix}participants must list at least one person")
    duration = recording.get("duration_seconds")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, (int, float)) or not math.isfinite(duration)
    ):
        raise EventError(f"{prefix}duration_seconds must be a number")
    _check_media(recording.get("media"), f"{prefix}media")


def _check_media(media: Any, field: str) -> None:
    if not isinstance(media, dict):
        raise EventError(f"{field} is required: an object with kind and url or path")
    kind = media.get("kind")
    if kind not in MEDIA_KINDS:
        raise EventError(f"{field}.kind must be one of {', '.join(MEDIA_KINDS)}")
    if kind in URL_KINDS:
        url = media.get("url")
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
            host = parts.hostname if parts is not None else None
        except ValueError:
            parts = host = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            raise EventError(f"{field}.url is required for kind {kind}: an http(s) URL")
        return
    path = media.get("path")
    if not isinstance(path, str) or not path.strip():
        raise EventError(f"{field}.path is required for kind {kind}")
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or re.match(r"[A-Za-z]:", path):
        raise EventError(f"{field}.path must be relative to the drop folder and stay inside it")
