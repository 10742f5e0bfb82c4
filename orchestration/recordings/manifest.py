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

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from orchestration.netpolicy import UrlPolicy, UrlRejected

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
# Unicode bidi overrides/isolates can make a value display differently from what it is (a spoofing vector).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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
    return _Validator(doc, (root, *(r.resolve() for r in media_roots)), url_policy).manifest(
        root=root,
        source_file=relative_name(path, root),
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
    )


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


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With duplicate keys, JSON parsers disagree on which value wins; a manifest must mean one thing.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestError(f"{key}: the key appears twice in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ManifestError(f"manifest contains {name}, which is not valid JSON")


def _decode(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"manifest is not UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except ManifestError:
        raise
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


class _Validator:
    """Field-by-field checks over one decoded manifest; remembers the id and start time for the error."""

    def __init__(self, doc: Any, media_roots: tuple[Path, ...], url_policy: UrlPolicy) -> None:
        if not isinstance(doc, dict):
            raise ManifestError("manifest must be a JSON object")
        self.doc = doc
        self.media_roots = media_roots  # resolved; the drop folder first
        self.url_policy = url_policy
        self.recording_id: str | None = None
        self.start_time: datetime | None = None

    def fail(self, reason: str) -> ManifestError:
        return ManifestError(reason, recording_id=self.recording_id, start_time=self.start_time)

    def text(
        self, value: Any, field: str, *, required: bool = False, limit: int = MAX_STRING_CHARS
    ) -> str | None:
        if value is None:
            if required:
                raise self.fail(f"{field} is required")
            return None
        if not isinstance(value, str):
            raise self.fail(f"{field} must be a string, not {_json_type(value)}")
        if len(value) > limit:
            raise self.fail(f"{field} is {len(value)} characters; the limit is {limit}")
        for ch in value:
            if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
                raise self.fail(f"{field} contains a control character (U+{ord(ch):04X})")
        stripped = value.strip()
        if not stripped:
            if required:
                raise self.fail(f"{field} must not be empty")
            return None
        return stripped

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{field} must be an object, not {_json_type(value)}")
        return value

    def manifest(self, *, root: Path, source_file: str, manifest_sha256: str) -> RecordingManifest:
        doc = self.doc
        if "recording_id" not in doc:
            raise self.fail("recording_id is required")
        rid = self.text(doc.get("recording_id"), "recording_id", required=True, limit=128)
        if rid is None or not _RECORDING_ID.fullmatch(rid) or rid != doc["recording_id"]:
            raise self.fail("recording_id must be 1-128 characters of [A-Za-z0-9._:-]")
        self.recording_id = rid
        self.start_time = self.start(doc.get("start_time"))
        host = self.host(doc.get("host"))
        account_id, account_name = self.account(doc.get("account"))
        kind, ref = self.media(doc.get("media"), root)
        participants = self.participants(doc.get("participants"))
        people = [(p.name, p.email) for p in participants] + [(host[0] or host[1], host[1])]
        return RecordingManifest(
            recording_id=rid,
            start_time=self.start_time,
            duration_seconds=self.duration(doc.get("duration_seconds")),
            title=self.text(doc.get("title"), "title"),
            call_type=self.text(doc.get("call_type"), "call_type", limit=128),
            account_id=account_id,
            account_name=account_name,
            host_name=host[0],
            host_email=host[1],
            participants=participants,
            language_code=self.language(doc.get("language_code")),
            media_kind=kind,
            media_ref=ref,
            source_file=source_file,
            manifest_sha256=manifest_sha256,
            channels=self.channels(doc.get("channels"), people, kind),
            speaker_events=self.speaker_events(doc.get("speaker_events"), people, kind),
        )

    def start(self, value: Any) -> datetime:
        raw = self.text(value, "start_time", required=True, limit=64)
        assert raw is not None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise self.fail(f"start_time {raw!r} is not an ISO-8601 timestamp") from exc
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.fail(f"start_time {raw!r} has no UTC offset (write e.g. 'Z' or '+02:00')")
        return parsed

    def duration(self, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"duration_seconds must be a number, not {_json_type(value)}")
        if not math.isfinite(value) or not 0 <= value <= MAX_DURATION_SECONDS:
            raise self.fail(f"duration_seconds must be a number from 0 to {MAX_DURATION_SECONDS:.0f}")
        return float(value)

    def host(self, value: Any) -> tuple[str | None, str]:
        if value is None:
            raise self.fail("host is required")
        host = self.obj(value, "host")
        name = self.text(host.get("name"), "host.name")
        email = self.email(host.get("email"), "host.email", required=True)
        assert email is not None
        return name, email

    def email(self, value: Any, field: str, *, required: bool = False) -> str | None:
        email = self.text(value, field, required=required, limit=320)
        if email is not None and (email.count("@") != 1 or email.startswith("@") or email.endswith("@")):
            raise self.fail(f"{field} {email!r} is not an email address")
        return email

    def account(self, value: Any) -> tuple[str | None, str | None]:
        if value is None:
            return None, None
        if isinstance(value, str):
            return None, self.text(value, "account")
        account = self.obj(value, "account")
        return self.text(account.get("id"), "account.id"), self.text(account.get("name"), "account.name")

    def participants(self, value: Any) -> tuple[Participant, ...]:
        if value is None:
            raise self.fail("participants is required")
        if not isinstance(value, list):
            raise self.fail(f"participants must be a list, not {_json_type(value)}")
        if not value:
            raise self.fail("participants must list at least one person")
        if len(value) > MAX_PARTICIPANTS:
            raise self.fail(f"participants lists {len(value)} people; the limit is {MAX_PARTICIPANTS}")
        result = []
        for i, item in enumerate(value):
            field = f"participants[{i}]"
            person = self.obj(item, field)
            name = self.text(person.get("name"), f"{field}.name", required=True)
            assert name is not None
            result.append(
                Participant(
                    name=name,
                    email=self.email(person.get("email"), f"{field}.email"),
                    role=self.text(person.get("role"), f"{field}.role", limit=64),
                )
            )
        return tuple(result)

    def person(self, value: Any, field: str, people: list[tuple[str, str | None]]) -> tuple[str, str | None]:
        """A participant (or the host) named by email or by name; anyone else is an error."""
        ref = self.text(value, field, required=True, limit=320)
        assert ref is not None
        wanted = ref.lower()
        for name, email in people:
            if (email and email.lower() == wanted) or name.lower() == wanted:
                return name, email
        raise self.fail(f"{field} {ref!r} is not a participant or the host (name them by email or name)")

    def channels(
        self, value: Any, people: list[tuple[str, str | None]], kind: str
    ) -> tuple[ChannelAssignment, ...]:
        if value is None:
            return ()
        if kind == "transcript_file":
            raise self.fail("channels is for audio or video media; a transcript already names its speakers")
        if not isinstance(value, list) or not value:
            raise self.fail("channels must be a non-empty list of {channel, participant}")
        if len(value) > MAX_CHANNELS:
            raise self.fail(f"channels lists {len(value)} channels; the limit is {MAX_CHANNELS}")
        result: list[ChannelAssignment] = []
        for i, item in enumerate(value):
            field = f"channels[{i}]"
            entry = self.obj(item, field)
            channel = entry.get("channel")
            if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= MAX_CHANNELS:
                raise self.fail(f"{field}.channel must be an integer from 1 to {MAX_CHANNELS}")
            if any(c.channel == channel for c in result):
                raise self.fail(f"{field}.channel {channel} is listed twice")
            name, email = self.person(entry.get("participant"), f"{field}.participant", people)
            result.append(ChannelAssignment(channel, name, email))
        return tuple(sorted(result, key=lambda c: c.channel))

    def speaker_events(
        self, value: Any, people: list[tuple[str, str | None]], kind: str
    ) -> tuple[SpeakerEvent, ...]:
        if value is None:
            return ()
        if kind == "transcript_file":
            raise self.fail(
                "speaker_events is for audio or video media; a transcript already names its speakers"
            )
        if not isinstance(value, list) or not value:
            raise self.fail("speaker_events must be a non-empty list of {participant, start, end}")
        if len(value) > MAX_SPEAKER_EVENTS:
            raise self.fail(f"speaker_events lists {len(value)} events; the limit is {MAX_SPEAKER_EVENTS}")
        result = []
        for i, item in enumerate(value):
            field = f"speaker_events[{i}]"
            entry = self.obj(item, field)
            name, email = self.person(entry.get("participant"), f"{field}.participant", people)
            start, end = (self.seconds(entry.get(k), f"{field}.{k}") for k in ("start", "end"))
            if end < start:
                raise self.fail(f"{field}.end is before its start")
            result.append(SpeakerEvent(name, email, start, end))
        return tuple(result)

    def seconds(self, value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{field} must be a number of seconds, not {_json_type(value)}")
        if not math.isfinite(value) or not 0 <= value <= 24 * 3600:
            raise self.fail(f"{field} must be between 0 and 86400 seconds")
        return float(value)

    def language(self, value: Any) -> str:
        code = self.text(value, "language_code", limit=35)
        if code is None:
            return DEFAULT_LANGUAGE_CODE
        if not _LANGUAGE_CODE.fullmatch(code):
            raise self.fail(f"language_code {code!r} is not a language tag like 'en-US'")
        return code

    def media(self, value: Any, root: Path) -> tuple[str, str]:
        if value is None:
            raise self.fail("media is required")
        media = self.obj(value, "media")
        kind = self.text(media.get("kind"), "media.kind", required=True, limit=64)
        if kind not in MEDIA_KINDS:
            raise self.fail(f"media.kind {kind!r} is not one of {', '.join(MEDIA_KINDS)}")
        if kind in URL_KINDS:
            return kind, self.url(media.get("url"))
        return kind, self.file(media.get("path"), root)

    def url(self, value: Any) -> str:
        url = self.text(value, "media.url", required=True, limit=MAX_URL_CHARS)
        assert url is not None
        if any(ch.isspace() for ch in url):
            raise self.fail("media.url must not contain whitespace")
        try:
            self.url_policy.check(url)
        except UrlRejected as exc:
            raise self.fail(f"media.url {exc}") from None
        return url

    def file(self, value: Any, root: Path) -> str:
        raw = self.text(value, "media.path", required=True)
        assert raw is not None
        given = Path(raw)
        # resolve() follows symlinks and collapses '..', so a link or a '../' pointing outside is caught too.
        # Absolute paths are resolved the same way: an absolute path outside every root (/etc/passwd) is
        # refused before anything reads it.
        resolved = given.resolve() if given.is_absolute() else (root / given).resolve()
        if not any(resolved.is_relative_to(r) for r in self.media_roots):
            where = "the drop folder" if len(self.media_roots) == 1 else "the drop folder or a media root"
            raise self.fail(f"media.path {raw!r} resolves outside {where}")
        if not resolved.exists():
            raise self.fail(f"media.path {raw!r}: no such file")
        if not resolved.is_file():
            raise self.fail(f"media.path {raw!r} is not a regular file")
        return str(resolved)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
