"""The durable webhook inbox: one JSON file per accepted event, written before the sender gets its 202.

Layout under the inbox directory (``CONVO_INTEL_INBOX_DIR``, default ``var/inbox``)::

    pending/<time_ns>-<uuid8>.json   accepted, not yet handled by the inbox sensor (names sort by arrival)
    done/<same name>                 handled; kept (pruned after a retention period) for latest_job_status()
    failed/<same name>               unusable events, with a ``.reason`` sidecar for the operator
    jobs/<job_id>.json               job index: which recording and day partition a Symbl job belongs to
    jobs/<job_id>.handled            a terminal callback for the job has been turned into a run request
    replay/                          the receiver's replay cache (see replay.py)

Durability: an event is written to a dot-named temp file in ``pending/``, flushed and fsync'ed, then renamed into
place with ``os.replace`` and the directory fsync'ed. A crash before the rename leaves only a temp file, which is
not an event (the sender got no 202 and retries); after the rename the event survives power loss. Temp files are
never listed and are swept after an hour.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

PENDING = "pending"
DONE = "done"
FAILED = "failed"
JOBS = "jobs"
TEMP_PREFIX = ".tmp-"

SYMBL_CALLBACK = "symbl_callback"
PLATFORM_RECORDING = "platform_recording"
EVENT_KINDS = (SYMBL_CALLBACK, PLATFORM_RECORDING)

TERMINAL_JOB_STATUSES = frozenset({"completed", "failed"})
JOB_STATUSES = ("scheduled", "in_progress", "completed", "failed")

# Symbl job ids are UUIDs; anything that could escape jobs/ (a slash, a leading dot) is refused.
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_EVENT_NAME = re.compile(r"(\d{19,20})-([0-9a-f]{8})\.json")


class InboxError(ValueError):
    """A caller handed the inbox something it must not store (an unsafe job id, an unknown kind)."""


@dataclass(frozen=True)
class Event:
    """One event file. ``error`` is set (and kind/payload are empty) when the file cannot be read as an event."""

    path: Path
    kind: str
    received_at: str
    payload: dict[str, Any]
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrived_ns(self) -> int:
        return int(self.name.split("-", 1)[0])


@dataclass(frozen=True)
class JobRef:
    job_id: str
    recording_id: str
    partition_date: date


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the complete new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def new_event_name(now_ns: int | None = None) -> str:
    """``<time_ns>-<uuid8>.json``: sorts by arrival (same-nanosecond ties broken at random)."""
    return f"{now_ns if now_ns is not None else time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"


def write_event(
    inbox_dir: str | Path, kind: str, payload: dict[str, Any], *, name: str | None = None
) -> Path:
    """Durably add one event to ``pending/`` and return its path. Returns only once the event is on disk.

    ``name`` (from :func:`new_event_name`) lets the receiver reserve the name before writing (replay cache).
    """
    if kind not in EVENT_KINDS:
        raise InboxError(f"unknown event kind {kind!r}")
    name = name or new_event_name()
    if not _EVENT_NAME.fullmatch(name):
        raise InboxError(f"event name {name!r} is not <time_ns>-<uuid8>.json")
    document = {"kind": kind, "received_at": datetime.now(UTC).isoformat(), "payload": payload}
    path = Path(inbox_dir) / PENDING / name
    atomic_write(path, json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return path


def read_event(path: Path) -> Event:
    try:
        document = json.loads(path.read_bytes())
        kind, payload = document["kind"], document["payload"]
        if kind not in EVENT_KINDS or not isinstance(payload, dict):
            raise ValueError(f"unknown kind {kind!r} or a payload that is not an object")
        return Event(path, kind, str(document.get("received_at", "")), payload)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Event(path, "", "", {}, error=f"unreadable event file: {exc}")


def _event_files(folder: Path) -> list[Path]:
    try:
        names = [entry.name for entry in os.scandir(folder) if _EVENT_NAME.fullmatch(entry.name)]
    except FileNotFoundError:
        return []
    return [folder / name for name in sorted(names)]


def pending_events(inbox_dir: str | Path, limit: int | None = None) -> list[Event]:
    """Pending events in arrival order (at most ``limit``). Temp files and foreign names are not events."""
    files = _event_files(Path(inbox_dir) / PENDING)
    if limit is not None:
        files = files[:limit]
    return [read_event(path) for path in files]


def _move(event: Event, folder: str) -> Path:
    target_dir = event.path.parent.parent / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / event.name
    try:
        os.replace(event.path, target)
    except FileNotFoundError:
        return target  # already moved by an earlier attempt: moving is idempotent
    fsync_dir(target_dir)
    fsync_dir(event.path.parent)
    return target


def mark_done(event: Event) -> Path:
    """Move a handled event from ``pending/`` to ``done/``."""
    return _move(event, DONE)


def mark_failed(event: Event, reason: str) -> Path:
    """Move an unusable event to ``failed/`` with its reason next to it, for an operator to look at."""
    target = event.path.parent.parent / FAILED / event.name
    atomic_write(target.with_name(f"{event.name}.reason"), reason.encode("utf-8"))
    return _move(event, FAILED)


def _job_path(inbox_dir: str | Path, job_id: str, suffix: str) -> Path:
    if not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id):
        raise InboxError(f"job id {job_id!r} is not 1-128 characters of [A-Za-z0-9._-] starting alphanumeric")
    return Path(inbox_dir) / JOBS / f"{job_id}{suffix}"


def register_job(inbox_dir: str | Path, job_id: str, recording_id: str, partition_date: date) -> Path:
    """Record which recording and day partition a Symbl job belongs to; call it when Symbl answers a submit.

    The inbox sensor reads this instead of the ledger because it must not open the live DuckDB file (one writer).
    """
    path = _job_path(inbox_dir, job_id, ".json")
    document = {"job_id": job_id, "recording_id": recording_id, "partition_date": partition_date.isoformat()}
    atomic_write(path, json.dumps(document).encode("utf-8"))
    return path


def lookup_job(inbox_dir: str | Path, job_id: str) -> JobRef | None:
    """The registered job, or None if it was never registered (or its id is not a safe job id)."""
    try:
        document = json.loads(_job_path(inbox_dir, job_id, ".json").read_bytes())
        return JobRef(job_id, str(document["recording_id"]), date.fromisoformat(document["partition_date"]))
    except (InboxError, FileNotFoundError):
        return None


def mark_job_handled(inbox_dir: str | Path, job_id: str, status: str) -> None:
    """Remember that a terminal callback for the job was turned into a run, so later duplicates are dropped."""
    atomic_write(_job_path(inbox_dir, job_id, ".handled"), status.encode("utf-8"))


def job_handled(inbox_dir: str | Path, job_id: str) -> bool:
    try:
        return _job_path(inbox_dir, job_id, ".handled").exists()
    except InboxError:
        return False


def latest_job_status(inbox_dir: str | Path) -> dict[str, str]:
    """job id -> latest status from every Symbl callback (pending and done), in arrival order.

    A terminal status (completed/failed) is never replaced by a non-terminal one: deliveries can arrive out of
    order or be repeated, but a job never leaves a terminal state.
    """
    root = Path(inbox_dir)
    files = sorted(_event_files(root / PENDING) + _event_files(root / DONE), key=lambda p: p.name)
    statuses: dict[str, str] = {}
    for path in files:
        event = read_event(path)
        if event.kind != SYMBL_CALLBACK:
            continue
        job_id, status = event.payload.get("job_id"), event.payload.get("status")
        if not isinstance(job_id, str) or status not in JOB_STATUSES:
            continue
        if statuses.get(job_id) in TERMINAL_JOB_STATUSES and status not in TERMINAL_JOB_STATUSES:
            continue
        statuses[job_id] = status
    return statuses


def prune(inbox_dir: str | Path, older_than_seconds: float, now: float | None = None) -> int:
    """Delete handled events and job index entries older than the retention; returns how many were deleted."""
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed = 0
    root = Path(inbox_dir)
    for path in _event_files(root / DONE):
        if int(path.name.split("-", 1)[0]) / 1e9 < cutoff:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    removed += _remove_older(root / JOBS, cutoff, lambda name: not name.startswith(TEMP_PREFIX))
    return removed


def remove_stale_temp_files(inbox_dir: str | Path, older_than_seconds: float = 3600) -> int:
    """Temp files left by a crash mid-write (never accepted events). Young ones may still be in flight."""
    cutoff = time.time() - older_than_seconds
    root = Path(inbox_dir)
    folders = (PENDING, DONE, FAILED, JOBS)
    return sum(_remove_older(root / f, cutoff, lambda name: name.startswith(TEMP_PREFIX)) for f in folders)


def _remove_older(folder: Path, cutoff: float, selected: Callable[[str], bool]) -> int:
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not selected(entry.name):
            continue
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def event_exists(inbox_dir: str | Path, name: str) -> bool:
    """Whether an event of this name was accepted (pending, done or failed). Checks pending first, because the
    sensor moves events pending -> done: checking in that order cannot miss one that moves meanwhile."""
    root = Path(inbox_dir)
    return any((root / folder / name).exists() for folder in (PENDING, DONE, FAILED))
