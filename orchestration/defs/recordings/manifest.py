"""Drop-folder recording manifests: parsing and validation, exactly per ``docs/drop-folder.md``.

A manifest comes from outside the pipeline, so everything in it is checked before it can reach Symbl or
the warehouse: types, the recording id's alphabet, an aware start time, the media kind, that a referenced
file resolves (after symlinks) inside the drop folder or an allowed media root, that a URL is http(s) to a
host that is not internal (``orchestration.netpolicy``), sane durations, and that no string carries control
characters or absurd lengths.
Every failure raises ``ManifestError`` whose reason names the offending field; so does anything unexpected
(a RecursionError from deeply nested JSON, a number past Python's digit limit): one file never raises
anything else.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from orchestration.netpolicy import UrlPolicy, UrlRejected
from orchestration.validation import (
    DuplicateKeyError,
    JsonInputError,
    first_problem,
    loads_strict,
    required_text,
    text,
)

MAX_MANIFEST_BYTES = 64 * 1024
MAX_STRING_CHARS = 1024  # names, titles, emails, ids: anything longer is not a real value
MAX_URL_CHARS = 2048
MAX_PARTICIPANTS = 200
MAX_CHANNELS = 8
MAX_SPEAKER_EVENTS = 10_000
# A call longer than a day is not a call (Symbl's own limit is 4 hours); the bound also keeps downstream
# arithmetic (milliseconds for the CRM, minutes in alerts) far from float overflow.
MAX_DURATION_SECONDS = 24 * 3600.0

MEDIA_KINDS = ("audio_file", "audio_url", "video_file", "video_url", "transcript_file")
FILE_KINDS = frozenset({"audio_file", "video_file", "transcript_file"})
URL_KINDS = frozenset({"audio_url", "video_url"})
DEFAULT_LANGUAGE_CODE = "en-US"

_RECORDING_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


class ManifestError(ValueError):
    """A manifest is unusable. ``reason`` names the field; id and start time are kept if they were read."""

    def __init__(self, reason: str, *, recording_id: str | None = None, start_time: datetime | None = None):
        self.reason = reason
        self.recording_id = recording_id
        self.start_time = start_time
        super().__init__(reason)


@dataclass(frozen=True)
class Participant:
    name: str
    email: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class ChannelAssignment:
    """Who is on one audio channel of a stereo / dual-channel recording."""

    channel: int  # 1-based
    name: str
    email: str | None


@dataclass(frozen=True)
class SpeakerEvent:
    """One stretch of speech by one participant, as the recording platform reported it (seconds from start)."""

    name: str
    email: str | None
    start: float
    end: float


@dataclass(frozen=True)
class RecordingManifest:
    recording_id: str
    start_time: datetime  # timezone-aware
    duration_seconds: float | None
    title: str | None
    call_type: str | None
    account_id: str | None
    account_name: str | None
    host_name: str | None
    host_email: str
    participants: tuple[Participant, ...]
    language_code: str
    media_kind: str
    media_ref: str  # absolute path for *_file kinds, URL for *_url kinds
    source_file: str  # the manifest's path relative to the drop folder root (POSIX separators)
    manifest_sha256: str
    # How Symbl can know who spoke (docs/drop-folder.md, "Speaker attribution").
    channels: tuple[ChannelAssignment, ...] = ()
    speaker_events: tuple[SpeakerEvent, ...] = ()

    @property
    def is_file_media(self) -> bool:
        return self.media_kind in FILE_KINDS

    def partition_date(self, timezone: Any) -> date:
        """The day partition: the start date in the partitions' timezone (a ``tzinfo``)."""
        return self.start_time.astimezone(timezone).date()

    def to_row(self, partition_date: date) -> dict[str, Any]:
        """A ``raw.recordings`` row; every column except ``loaded_at``, which the writer stamps."""
        return {
            "recording_id": self.recording_id,
            "partition_date": partition_date,
            "start_time": self.start_time,
            "duration_seconds": self.duration_seconds,
            "title": self.title,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "call_type": self.call_type,
            "host_name": self.host_name,
            "host_email": self.host_email,
            "participants": json.dumps(
                [{"name": p.name, "email": p.email, "role": p.role} for p in self.participants],
                ensure_ascii=False,
            ),
            "participant_count": len(self.participants),
            "language_code": self.language_code,
            "media_kind": self.media_kind,
            "media_ref": self.media_ref,
            "source_file": self.source_file,
            "manifest_sha256": self.manifest_sha256,
            "channel_map": json.dumps(
                [{"channel": c.channel, "name": c.name, "email": c.email} for c in self.channels],
                ensure_ascii=False,
            )
            if self.channels
            else None,
            "speaker_events": json.dumps(
                [
                    {"name": e.name, "email": e.email, "start": e.start, "end": e.end}
                    for e in self.speaker_events
                ],
                ensure_ascii=False,
            )
            if self.speaker_events
            else None,
        }


@dataclass(frozen=True)
class ManifestHeader:
    """What a scan decides on: enough to date a manifest, own its id and check its media."""

    recording_id: str
    start_time: datetime
    source_file: str
    media_kind: str
    media_ref: str

    @classmethod
    def of(cls, manifest: RecordingManifest) -> "ManifestHeader":
        return cls(
            manifest.recording_id,
            manifest.start_time,
            manifest.source_file,
            manifest.media_kind,
            manifest.media_ref,
        )


def parse_manifest(
    path: Path,
    root: Path,
    *,
    media_roots: tuple[Path, ...] = (),
    url_policy: UrlPolicy = UrlPolicy(),
) -> RecordingManifest:
    """Read and validate one manifest file; raises only ``ManifestError``.

    Relative media paths resolve against ``root``; every media path (relative or absolute) must resolve, after
    symlinks, inside ``root`` or one of ``media_roots``. Media URLs are checked against ``url_policy`` as
    written (no DNS here; see ``InputPolicy`` for the resolving check).
    """
    try:
        return _parse_manifest(path, root, media_roots, url_policy)
    except ManifestError:
        raise
    except RecursionError:
        raise ManifestError("manifest is nested too deeply to validate") from None
    except Exception as exc:  # one file must never stop the others: anything unexpected is its rejection
        raise ManifestError(
            f"manifest could not be validated ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _parse_manifest(
    path: Path, root: Path, media_roots: tuple[Path, ...], url_policy: UrlPolicy
) -> RecordingManifest:
    root = root.resolve()
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"manifest is {size} bytes; the limit is {MAX_MANIFEST_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"manifest cannot be read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_MANIFEST_BYTES:  # the file grew between stat and read
        raise ManifestError(f"manifest is over {MAX_MANIFEST_BYTES} bytes")
    doc = _decode(raw)
    if not isinstance(doc, dict):
        raise ManifestError("manifest must be a JSON object")
    context = {"root": root, "media_roots": (root, *(r.resolve() for r in media_roots)), "urls": url_policy}
    try:
        declared = _Manifest.model_validate(doc, context=context)
    except ValidationError as exc:
        raise ManifestError(first_problem(exc).joined(), **_known_so_far(doc)) from None
    return declared.manifest(relative_name(path, root), hashlib.sha256(raw).hexdigest())


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form when inside it (stable across machines), else absolute."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(root.absolute()).as_posix()
    except ValueError:
        try:
            return absolute.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return absolute.as_posix()


def _decode(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"manifest is not UTF-8 (byte {exc.start})") from exc
    try:
        return loads_strict(text)
    except DuplicateKeyError as exc:
        raise ManifestError(str(exc)) from None  # the key names itself
    except JsonInputError as exc:
        raise ManifestError(f"manifest {exc}") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"manifest is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError:
        # json's scanner recurses per nesting level: 60 KB of '[' is far past Python's recursion limit.
        raise ManifestError("manifest is not valid: JSON nested too deeply") from None
    except ValueError as exc:
        # int() refuses more than 4,300 digits (CVE-2020-10735); no real field needs a number that long.
        raise ManifestError(f"manifest is not valid: {str(exc)[:200]}") from None


# --- the manifest, declared (docs/drop-folder.md) ----------------------------------------------------------
# Fields are declared in the order they are checked: the first wrong one is the reason a file is rejected.
# Validators raise ValueError(cause); orchestration.validation words the rest ("must be a string, not ...").


def _recording_id(value: str) -> str:
    if not _RECORDING_ID.fullmatch(value):
        raise ValueError("must be 1-128 characters of [A-Za-z0-9._:-]")
    return value


def _aware(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset (write e.g. 'Z' or '+02:00')")
    return parsed


def _email(value: str | None) -> str | None:
    if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _language(value: str | None) -> str | None:
    if value is not None and not _LANGUAGE_CODE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language tag like 'en-US'")
    return value


def _within(low: float, high: float, cause: str) -> AfterValidator:
    def check(value: float) -> float:
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(cause)
        return value

    return AfterValidator(check)


def _media_kind(kind: str) -> str:
    if kind not in MEDIA_KINDS:
        raise ValueError(f"{kind!r} is not one of {', '.join(MEDIA_KINDS)}")
    return kind


def _present(value: str | None) -> str:
    if value is None:
        raise ValueError("must not be empty")
    return value


# Exported for the webhook receiver, which checks the same fields before a manifest is written.
RecordingId = Annotated[str, AfterValidator(_recording_id)]
StartTime = Annotated[required_text(64), AfterValidator(_aware)]
Text = text(MAX_STRING_CHARS)
Email = Annotated[text(320), AfterValidator(_email)]
Seconds = Annotated[
    float, _within(0, MAX_DURATION_SECONDS, f"must be between 0 and {MAX_DURATION_SECONDS:.0f} seconds")
]
PersonRef = required_text(320)  # a participant (or the host) by email or name; resolved after validation


class _Declared(BaseModel):
    # strict: JSON types as they came ("7" is not a number, 1.0 is not a channel); unknown keys are ignored.
    model_config = ConfigDict(strict=True, frozen=True)


class _Host(_Declared):
    name: Text | None = None
    email: Annotated[Email, AfterValidator(_present)]


class _Account(_Declared):
    id: Text | None = None
    name: Text | None = None


def _plain_account(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value  # "account": "Initech" names the account


class _Person(_Declared):
    name: required_text(MAX_STRING_CHARS)
    email: Email | None = None
    role: text(64) | None = None


class _Media(_Declared):
    kind: Annotated[required_text(64), AfterValidator(_media_kind)]
    # Only the member the kind uses is read (the other may hold anything): wrap validators skip the other.
    url: text(MAX_URL_CHARS) | None = Field(None, validate_default=True)
    path: Text | None = Field(None, validate_default=True)

    @field_validator("url", mode="wrap")
    @classmethod
    def _url(cls, value: Any, inner: ValidatorFunctionWrapHandler, info: ValidationInfo) -> str | None:
        if info.data.get("kind") not in URL_KINDS:
            return None
        url = _present(inner(value))
        if any(ch.isspace() for ch in url):
            raise ValueError("must not contain whitespace")
        try:
            info.context["urls"].check(url)
        except UrlRejected as exc:
            raise ValueError(str(exc)) from None
        return url

    @field_validator("path", mode="wrap")
    @classmethod
    def _path(cls, value: Any, inner: ValidatorFunctionWrapHandler, info: ValidationInfo) -> str | None:
        if info.data.get("kind") not in FILE_KINDS:
            return None
        raw = _present(inner(value))
        given, roots = Path(raw), info.context["media_roots"]
        # resolve() follows symlinks and collapses '..', so a link or a '../' pointing outside is caught too.
        # Absolute paths are resolved the same way: an absolute path outside every root (/etc/passwd) is
        # refused before anything reads it.
        resolved = given.resolve() if given.is_absolute() else (info.context["root"] / given).resolve()
        if not any(resolved.is_relative_to(r) for r in roots):
            where = "the drop folder" if len(roots) == 1 else "the drop folder or a media root"
            raise ValueError(f"{raw!r} resolves outside {where}")
        if not resolved.exists():
            raise ValueError(f"{raw!r}: no such file")
        if not resolved.is_file():
            raise ValueError(f"{raw!r} is not a regular file")
        return str(resolved)

    @property
    def ref(self) -> str:
        return self.url if self.kind in URL_KINDS else self.path  # type: ignore[return-value]


class _Channel(_Declared):
    channel: Annotated[int, _within(1, MAX_CHANNELS, f"must be an integer from 1 to {MAX_CHANNELS}")]
    participant: PersonRef


class _Speech(_Declared):
    participant: PersonRef
    start: Seconds
    end: Seconds

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: float, info: ValidationInfo) -> float:
        if "start" in info.data and end < info.data["start"]:
            raise ValueError("is before its start")
        return end


class _Manifest(_Declared):
    recording_id: RecordingId
    start_time: StartTime
    host: _Host
    account: Annotated[_Account | None, BeforeValidator(_plain_account)] = None
    media: _Media
    participants: Annotated[list[_Person], Field(min_length=1, max_length=MAX_PARTICIPANTS)]
    duration_seconds: (
        Annotated[
            float, _within(0, MAX_DURATION_SECONDS, f"must be a number from 0 to {MAX_DURATION_SECONDS:.0f}")
        ]
        | None
    ) = None
    title: Text | None = None
    call_type: text(128) | None = None
    language_code: Annotated[text(35), AfterValidator(_language)] | None = None
    channels: Annotated[list[_Channel], Field(min_length=1, max_length=MAX_CHANNELS)] | None = None
    speaker_events: Annotated[list[_Speech], Field(min_length=1, max_length=MAX_SPEAKER_EVENTS)] | None = None

    @field_validator("channels", "speaker_events", mode="before")
    @classmethod
    def _not_for_transcripts(cls, value: Any, info: ValidationInfo) -> Any:
        media = info.data.get("media")
        if value is not None and media is not None and media.kind == "transcript_file":
            raise ValueError("is for audio or video media; a transcript already names its speakers")
        return value

    def manifest(self, source_file: str, manifest_sha256: str) -> RecordingManifest:
        """The validated manifest, once every speaker reference names a participant or the host."""
        people = [(p.name, p.email) for p in self.participants]
        people.append((self.host.name or self.host.email, self.host.email))
        fail = self._failure
        channels: list[ChannelAssignment] = []
        for i, c in enumerate(self.channels or ()):
            if any(seen.channel == c.channel for seen in channels):
                raise fail(f"channels[{i}].channel {c.channel} is listed twice")
            channels.append(ChannelAssignment(c.channel, *self._who(c.participant, f"channels[{i}]", people)))
        speech = [
            SpeakerEvent(*self._who(e.participant, f"speaker_events[{i}]", people), e.start, e.end)
            for i, e in enumerate(self.speaker_events or ())
        ]
        account = self.account or _Account()
        return RecordingManifest(
            recording_id=self.recording_id,
            start_time=self.start_time,
            duration_seconds=self.duration_seconds,
            title=self.title,
            call_type=self.call_type,
            account_id=account.id,
            account_name=account.name,
            host_name=self.host.name,
            host_email=self.host.email,
            participants=tuple(Participant(p.name, p.email, p.role) for p in self.participants),
            language_code=self.language_code or DEFAULT_LANGUAGE_CODE,
            media_kind=self.media.kind,
            media_ref=self.media.ref,
            source_file=source_file,
            manifest_sha256=manifest_sha256,
            channels=tuple(sorted(channels, key=lambda c: c.channel)),
            speaker_events=tuple(speech),
        )

    def _failure(self, reason: str) -> ManifestError:
        return ManifestError(reason, recording_id=self.recording_id, start_time=self.start_time)

    def _who(self, ref: str, field: str, people: list[tuple[str, str | None]]) -> tuple[str, str | None]:
        wanted = ref.lower()
        for name, email in people:
            if (email and email.lower() == wanted) or name.lower() == wanted:
                return name, email
        raise self._failure(
            f"{field}.participant {ref!r} is not a participant or the host (name them by email or name)"
        )


_RECORDING_ID_FIELD: TypeAdapter[str] = TypeAdapter(RecordingId, config=ConfigDict(strict=True))
_START_TIME_FIELD: TypeAdapter[datetime] = TypeAdapter(StartTime, config=ConfigDict(strict=True))


def _known_so_far(doc: dict[str, Any]) -> dict[str, Any]:
    """The id, and the start time after it, when they are valid: a rejection is dated by them."""
    known: dict[str, Any] = {}
    for name, adapter in (("recording_id", _RECORDING_ID_FIELD), ("start_time", _START_TIME_FIELD)):
        try:
            known[name] = adapter.validate_python(doc.get(name))
        except ValidationError:
            break
    return known
