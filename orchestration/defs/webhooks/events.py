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

import json
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestration.defs.recordings.manifest import (
    MAX_MANIFEST_BYTES,
    MEDIA_KINDS,
    URL_KINDS,
    RecordingId,
    StartTime,
)
from orchestration.defs.webhooks.inbox import JOB_ID_PATTERN, JOB_STATUSES
from orchestration.validation import DuplicateKeyError, JsonInputError, first_problem, loads_strict

RECORDING_COMPLETED = "recording.completed"
MAX_ID_CHARS = 256


class EventError(ValueError):
    """The body is not an acceptable event; ``reason`` names the field."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def decode_json_object(body: bytes) -> dict[str, Any]:
    try:
        document = loads_strict(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EventError("body is not UTF-8") from exc
    except DuplicateKeyError as exc:
        raise EventError(str(exc)) from None  # the key names itself
    except JsonInputError as exc:
        raise EventError(f"body {exc}") from None
    except json.JSONDecodeError as exc:
        raise EventError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(document, dict):
        raise EventError("body must be a JSON object")
    return document


# --- declarations ------------------------------------------------------------------------------------------


def _short(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise ValueError(f"must be at most {MAX_ID_CHARS} printable characters")
    return value


def _job_id(value: str) -> str:
    if not JOB_ID_PATTERN.fullmatch(value):
        raise ValueError("must be a job id (1-128 characters of [A-Za-z0-9._-])")
    return value


def _email(value: str) -> str:
    if "@" not in value:
        raise ValueError("is required")  # the receiver only needs an address; the manifest check says more
    return value


ShortString = Annotated[str, AfterValidator(_short)]
JobId = Annotated[str, AfterValidator(_job_id)]


class _Declared(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as sent; unknown keys are the sender's business


Declared = TypeVar("Declared", bound=_Declared)


class _SymblCallback(_Declared):
    jobId: JobId | None = None  # Symbl's docs spell it so; a Symbl blog sends "id"
    id: JobId | None = None
    status: Literal[JOB_STATUSES] = Field(None, validate_default=True)  # type: ignore[valid-type]
    conversationId: ShortString | None = None

    @model_validator(mode="after")
    def _one_job(self) -> "_SymblCallback":
        if self.jobId is None and self.id is None:
            raise ValueError("jobId (or id) is required")
        if None not in (self.jobId, self.id) and self.jobId != self.id:
            raise ValueError("jobId and id name different jobs")
        return self


class _Envelope(_Declared):
    type: Literal["recording.completed"] = Field(None, validate_default=True)  # RECORDING_COMPLETED
    id: ShortString | None = None


class _Host(_Declared):
    email: Annotated[str, AfterValidator(_email)]


class _Media(_Declared):
    kind: Literal[MEDIA_KINDS] = Field(None, validate_default=True)  # type: ignore[valid-type]
    url: Any = Field(None, validate_default=True)
    path: Any = Field(None, validate_default=True)

    @field_validator("url")
    @classmethod
    def _url(cls, url: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if kind not in URL_KINDS:
            return url
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
            host = parts.hostname if parts is not None else None
        except ValueError:
            parts = host = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            raise ValueError(f"is required for kind {kind}: an http(s) URL")
        return url

    @field_validator("path")
    @classmethod
    def _path(cls, path: Any, info: ValidationInfo) -> Any:
        # A remote sender must not name an arbitrary file on this host: relative, inside the drop folder.
        kind = info.data.get("kind")
        if kind is None or kind in URL_KINDS:
            return path
        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"is required for kind {kind}")
        posix = PurePosixPath(path.replace("\\", "/"))
        if posix.is_absolute() or ".." in posix.parts or re.match(r"[A-Za-z]:", path):
            raise ValueError("must be relative to the drop folder and stay inside it")
        return path


class _Recording(_Declared):
    """The manifest checks that need no drop folder (docs/drop-folder.md); the recordings asset does the rest."""

    recording_id: RecordingId
    start_time: StartTime
    host: _Host
    participants: Annotated[list[Any], Field(min_length=1)]
    duration_seconds: Annotated[float, Field(allow_inf_nan=False)] | None = None
    media: _Media


def _validated(model: type[Declared], document: Any, prefix: str = "") -> Declared:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise EventError(first_problem(exc, prefix.rstrip(".")).joined()) from None


# --- the two event kinds -----------------------------------------------------------------------------------


def parse_symbl_callback(document: dict[str, Any]) -> dict[str, Any]:
    """The inbox payload of a Symbl callback: ``{"job_id", "status", "conversation_id"}``."""
    callback = _validated(_SymblCallback, document)
    return {
        "job_id": callback.jobId or callback.id,
        "status": callback.status,
        "conversation_id": callback.conversationId,
    }


def parse_platform_event(document: dict[str, Any]) -> dict[str, Any]:
    """The inbox payload of a platform event: ``{"event_type", "event_id", "recording": <manifest>}``."""
    event_id = None
    if "recording" in document:
        event_id = _validated(_Envelope, document).id
        recording, prefix = document["recording"], "recording."
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
    _validated(_Recording, recording, prefix)
