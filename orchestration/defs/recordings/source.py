"""Recording sources: where manifests and media come from. The drop folder is the default implementation.

A scan returns every manifest whose start time falls in a window, plus a rejection (with the file and a
reason) for each manifest that cannot be used, so that nothing in the folder is silently ignored. Rejections
that could be dated belong to the window of their start time; undated ones (unreadable files) and those
outside the admitted date window (before the first partition, too far in the future: no window would ever
report them) are reported by every scan.

A scan decides on each file's header (id, start time, media) and keeps only headers between scans; the manifests
it admits are read whole again one at a time, in start-time order (``plan`` then ``read``), so a day of 10,000
calls is never all in memory at once (parsed, with their speaker events, that is ~250 MB).

A recording id belongs to one manifest in the whole folder: the one already recorded as its source (the
``owners`` a caller passes, from ``raw.recordings``), else the one that arrived first (oldest ctime, then
name). A later file, whatever its name sorts as, is rejected as a duplicate and cannot take the id over.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from orchestration.defs.recordings.manifest import (
    FILE_KINDS,
    ManifestError,
    ManifestHeader,
    RecordingManifest,
    parse_manifest,
    relative_name,
)
from orchestration.defs.recordings.policy import InputPolicy
from orchestration.defs.semarize import transcripts

MANIFESTS_DIR = "manifests"
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024


class MediaError(Exception):
    """Media or a transcript named by a valid manifest cannot be read or is malformed (stage ``media``)."""


@dataclass(frozen=True)
class Rejection:
    source_file: str
    recording_id: str | None
    partition_date: date | None  # None when the manifest could not be dated
    stage: str  # manifest | media
    reason: str


@dataclass(frozen=True)
class ScanPlan:
    """A window's scan decided: the files it admits, in (start time, id) order, and the rejections so far."""

    admitted: tuple[tuple[Path, ManifestHeader], ...]
    rejections: tuple[Rejection, ...]


@dataclass(frozen=True)
class ScanResult:
    manifests: tuple[RecordingManifest, ...]
    rejections: tuple[Rejection, ...]


class RecordingSource(Protocol):
    def scan(self, start: datetime, end: datetime, *, owners: Mapping[str, str] | None = None) -> ScanResult:
        """Manifests whose start_time is in [start, end), and the rejections that belong to that window."""
        ...

    def plan(self, start: datetime, end: datetime, *, owners: Mapping[str, str] | None = None) -> ScanPlan:
        """What ``scan`` admits and rejects, decided without holding the manifests."""
        ...

    def read(self, plan: ScanPlan) -> Iterator[RecordingManifest | Rejection]:
        """The plan's manifests one at a time (and a rejection for any that changed since)."""
        ...

    def read_media(self, manifest: RecordingManifest) -> bytes:
        """The media bytes of an ``audio_file`` / ``video_file`` manifest."""
        ...

    def read_transcript(self, manifest: RecordingManifest) -> dict[str, Any]:
        """The validated transcript document of a ``transcript_file`` manifest."""
        ...


# What one manifest file parsed to, as kept between scans: its header, or the error that rejected it.
_Parsed = ManifestHeader | ManifestError


def list_manifest_files(root: Path) -> list[tuple[Path, int]]:
    """Every ``*.json`` regular file under ``<root>/manifests`` with its ctime, sorted by path.

    Symlinked folders are followed (as the sensor's listing does, so that what the sensor saw is what a run
    scans), each real folder once, so a link loop ends. Unreadable entries are skipped: one bad entry must
    not hide the others.
    """
    found: list[tuple[Path, int]] = []
    pending = [root / MANIFESTS_DIR]
    visited: set[tuple[int, int]] = set()
    while pending:
        folder = pending.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            entries = list(os.scandir(folder))
        except OSError:
            continue  # no manifests/ yet, removed while we walk, or unreadable
        for entry in entries:
            try:
                if entry.is_dir():
                    pending.append(Path(entry.path))
                    continue
                if not entry.name.endswith(".json"):
                    continue
                info = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((Path(entry.path), info.st_ctime_ns))
    found.sort(key=lambda item: item[0].as_posix())
    return found


class DropFolderSource:
    """Manifests under ``<root>/manifests/**/*.json`` (see docs/drop-folder.md)."""

    def __init__(self, root: str | Path, timezone: str = "UTC", policy: InputPolicy | None = None) -> None:
        self.root = Path(root)
        self.timezone = ZoneInfo(timezone)
        self.policy = policy or InputPolicy()
        # Parsing is the costly part of a scan and files rarely change: cache by (path, mtime_ns, size).
        self._cache: dict[Path, tuple[int, int, _Parsed]] = {}
        self._lock = threading.Lock()

    def scan(
        self,
        start: datetime,
        end: datetime,
        *,
        owners: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> ScanResult:
        """Every manifest of the window at once (``plan`` and ``read`` stream them); ``owners``: recording id ->
        the source_file already recorded for it (it keeps the id)."""
        plan = self.plan(start, end, owners=owners, now=now)
        manifests: list[RecordingManifest] = []
        rejections = list(plan.rejections)
        for item in self.read(plan):
            (manifests if isinstance(item, RecordingManifest) else rejections).append(item)
        return ScanResult(tuple(manifests), tuple(rejections))

    def plan(
        self,
        start: datetime,
        end: datetime,
        *,
        owners: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> ScanPlan:
        """Which files of the folder the window [start, end) admits, and the rejections that belong to it."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("scan window bounds must be timezone-aware")
        if not self.root.is_dir():
            # A missing root is a misconfiguration, not "no recordings": say so rather than report nothing.
            raise FileNotFoundError(f"drop folder {self.root} does not exist")
        now = now or datetime.now(UTC)
        admitted: list[tuple[Path, ManifestHeader]] = []
        rejections: list[Rejection] = []
        parsed_files = self._parse_all()
        owner_of = _owners(parsed_files, owners or {})
        resolved: dict[str, str | None] = {}  # media URL host -> problem, once per scan
        for path, _, parsed in parsed_files:
            if isinstance(parsed, ManifestError):
                when = parsed.start_time
                if when is None or start <= when < end:
                    rejections.append(self._rejection(path, parsed.recording_id, when, parsed.reason))
                continue
            # Duplicates are decided over the whole folder, so the kept file never depends on which window is
            # being scanned, nor on how names sort.
            owner = owner_of[parsed.recording_id]
            in_window = start <= parsed.start_time < end
            if owner != parsed.source_file:
                if in_window:
                    reason = f"duplicate recording_id {parsed.recording_id!r}: already defined by {owner}"
                    rejections.append(self._rejection(path, parsed.recording_id, parsed.start_time, reason))
                continue
            outside = self.policy.window_problem(parsed, now)
            if outside is not None:
                # No window will ever contain it (or not yet): report it with every scan, like undated files.
                rejections.append(self._rejection(path, parsed.recording_id, None, outside))
                continue
            if not in_window:
                continue
            problem = self.policy.url_problem(parsed, resolved)
            if problem is not None:
                rejections.append(self._rejection(path, parsed.recording_id, parsed.start_time, problem))
                continue
            admitted.append((path, parsed))
        admitted.sort(key=lambda item: (item[1].start_time, item[1].recording_id))
        return ScanPlan(tuple(admitted), tuple(rejections))

    def read(self, plan: ScanPlan) -> Iterator[RecordingManifest | Rejection]:
        """The admitted manifests, each read whole when reached; a file that changed since the plan is rejected
        for now (the next scan decides on it afresh)."""
        for path, header in plan.admitted:
            manifest = self._parse(path)
            if isinstance(manifest, ManifestError):
                yield self._rejection(path, header.recording_id, header.start_time, manifest.reason)
            elif ManifestHeader.of(manifest) != header:
                reason = (
                    "manifest changed while the drop folder was being scanned; the next scan reads it again"
                )
                yield self._rejection(path, header.recording_id, header.start_time, reason)
            else:
                yield manifest

    def _rejection(self, path: Path, rid: str | None, when: datetime | None, reason: str) -> Rejection:
        return Rejection(
            source_file=relative_name(path, self.root),
            recording_id=rid,
            partition_date=when.astimezone(self.timezone).date() if when is not None else None,
            stage="manifest",
            reason=reason,
        )

    def _parse_all(self) -> list[tuple[Path, int, _Parsed]]:
        """Every manifest file: its path, ctime (arrival) and what it parsed to, in path order."""
        results: list[tuple[Path, int, _Parsed]] = []
        with self._lock:
            seen: set[Path] = set()
            for path, ctime_ns in list_manifest_files(self.root):
                try:
                    st = path.stat()
                except OSError:
                    continue  # removed since the listing
                seen.add(path)
                cached = self._cache.get(path)
                if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
                    results.append((path, ctime_ns, cached[2]))
                    continue
                parsed = self._parse(path)
                header = parsed if isinstance(parsed, ManifestError) else ManifestHeader.of(parsed)
                results.append((path, ctime_ns, header))
                self._cache[path] = (st.st_mtime_ns, st.st_size, header)
            for gone in set(self._cache) - seen:
                del self._cache[gone]
        return results

    def _parse(self, path: Path) -> RecordingManifest | ManifestError:
        try:
            return parse_manifest(
                path, self.root, media_roots=self.policy.media_roots, url_policy=self.policy.url_policy
            )
        except ManifestError as exc:
            return exc
        except Exception as exc:  # parse_manifest raises only ManifestError; this is the last line of defence
            return ManifestError(f"manifest could not be validated ({type(exc).__name__})")

    def read_media(self, manifest: RecordingManifest) -> bytes:
        if manifest.media_kind not in FILE_KINDS:
            raise ValueError(f"{manifest.recording_id}: media kind {manifest.media_kind} has no local file")
        path = Path(manifest.media_ref)
        try:
            # Resolved inside an allowed root at validation; a link swapped in since then is not followed.
            if path.resolve() != path:
                raise MediaError(f"{manifest.recording_id}: media file was replaced by a symbolic link")
            return path.read_bytes()
        except OSError as exc:
            raise MediaError(
                f"{manifest.recording_id}: media file cannot be read: {exc.strerror or exc}"
            ) from exc

    def read_transcript(self, manifest: RecordingManifest) -> dict[str, Any]:
        if manifest.media_kind != "transcript_file":
            raise ValueError(f"{manifest.recording_id}: media kind {manifest.media_kind} is not a transcript")
        path = Path(manifest.media_ref)
        try:
            if path.stat().st_size > MAX_TRANSCRIPT_BYTES:
                raise MediaError(f"{manifest.recording_id}: transcript is over {MAX_TRANSCRIPT_BYTES} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            raise MediaError(
                f"{manifest.recording_id}: transcript cannot be read: {exc.strerror or exc}"
            ) from exc
        return validate_transcript(raw, manifest.recording_id)


def _owners(parsed_files: list[tuple[Path, int, _Parsed]], recorded: Mapping[str, str]) -> dict[str, str]:
    """recording id -> the one source_file that may define it.

    The file already recorded as its source keeps it while that file still defines the id; otherwise the
    earliest arrival (ctime, then name) wins. ctime is when a file appeared here (a copy or a move sets it), so
    a manifest added later cannot take an id over by sorting earlier.
    """
    candidates: dict[str, list[tuple[int, str]]] = {}
    for _, ctime_ns, parsed in parsed_files:
        if isinstance(parsed, ManifestHeader):
            candidates.setdefault(parsed.recording_id, []).append((ctime_ns, parsed.source_file))
    owners: dict[str, str] = {}
    for rid, files in candidates.items():
        names = {name for _, name in files}
        previous = recorded.get(rid)
        owners[rid] = previous if previous in names else min(files)[1]
    return owners


def validate_transcript(raw: bytes, recording_id: str) -> dict[str, Any]:
    """Parse a convo-intel transcript document and check its shape (``orchestration.defs.semarize.transcripts``)."""
    try:
        return transcripts.validate_transcript(raw)
    except transcripts.TranscriptError as exc:
        raise MediaError(f"{recording_id}: transcript {exc}") from None
