"""Which drop-folder manifests arrived since the last look, and which day partitions they need.

The new-recordings sensor calls :func:`discover` once per tick with the state it persisted last time
(:class:`DiscoveryCursor`, serialised into Dagster's cursor string). The design goals, in order:

* **Nothing is missed.** "Arrived" is judged by the file's ``st_ctime_ns``, not its mtime: ``mv``, ``cp -p``,
  ``rsync -t`` and untar all keep an old mtime, but every one of them sets the ctime to the moment the file
  appeared (a rename updates the ctime on Linux filesystems). Files whose ctime is within ``settle_ns`` of "now"
  may still be joined by late-listed siblings with an older ctime (coarse timestamps, NFS directory caches), so
  the watermark trails them and their names are kept in the cursor until they settle.
* **Nothing is requested twice.** Every valid manifest's recording id goes into a compact digest set; a file
  touched again, or a copy under another name, is parsed once more and then dropped as already known.
* **A tick with nothing new is cheap.** It stats every manifest (``os.scandir``, one ``stat`` each) and parses
  none. Directory mtimes are deliberately not used to skip directories: a manifest rewritten in place changes
  its own ctime but not its directory's, and such an edit (a fixed recording id, say) must still be seen.
* **The cursor stays small.** Dagster writes the cursor into every tick row (skipped ticks are kept 7 days by
  default), so known ids are 40-bit digests, sorted, delta-encoded as varints, and the whole cursor is
  zlib-compressed and base64-encoded once it is larger than a few hundred characters.

Manifests that fail validation are not rejected here (the ``recordings`` asset does that, with the reason): if
their start time can be read their day is requested anyway, keyed by file name and ctime, and their recording id
is *not* remembered, so that fixing the file later requests the day again. Undated files, and files dated outside
the admitted window (before the first partition, too far in the future), are reported with their reason: every
ingest run records them in ``raw.recording_rejections`` (they belong to no day). Nothing one file does (a
RecursionError, a number too long to parse, an unreadable entry) fails the tick.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from orchestration.defs.recordings.manifest import ManifestError, RecordingManifest, parse_manifest
from orchestration.defs.recordings.policy import InputPolicy
from orchestration.defs.recordings.source import MANIFESTS_DIR

CURSOR_VERSION = 1
COMPRESSED_PREFIX = "z1:"
# Cursors shorter than this stay readable JSON in the UI; longer ones are compressed.
COMPRESS_ABOVE_CHARS = 512
# 40-bit digests: the chance that a new recording id collides with one of n known ids is n / 2**40 (about 1e-8
# at 10,000 ids). A collision delays that recording until the catch-up schedule or the next run of its day.
ID_DIGEST_BYTES = 5
# How long a manifest's ctime must lie in the past before no older file can still turn up (NFS caches directory
# listings for up to 60 s by default). Only costs cursor size: names younger than this are kept in the cursor.
DEFAULT_SETTLE_SECONDS = 120


def recording_id_digest(recording_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(recording_id.encode(), digest_size=ID_DIGEST_BYTES).digest(), "big")


class KnownRecordingIds:
    """The recording ids seen in valid manifests so far, as a set of 40-bit digests.

    Decoded lazily: a tick with nothing new never needs the set, so it never pays for decoding it.
    """

    def __init__(
        self, digests: set[int] | None = None, *, encoded: str | None = None, count: int = 0
    ) -> None:
        self._digests = digests if digests is not None or encoded is not None else set()
        self._encoded = encoded
        self._count = count

    @property
    def digests(self) -> set[int]:
        if self._digests is None:
            self._digests = _decode_gaps(self._encoded or "")
        return self._digests

    def __contains__(self, recording_id: object) -> bool:
        return isinstance(recording_id, str) and recording_id_digest(recording_id) in self.digests

    def __len__(self) -> int:
        return self._count if self._digests is None else len(self._digests)

    def add(self, recording_id: str) -> None:
        self.digests.add(recording_id_digest(recording_id))
        self._encoded = None

    def copy(self) -> KnownRecordingIds:
        if self._digests is None:
            return KnownRecordingIds(encoded=self._encoded, count=self._count)
        return KnownRecordingIds(set(self._digests))

    def encode(self) -> str:
        """Sorted digests as varint-encoded gaps (about 4 bytes per id at 10,000 ids), base64."""
        if self._encoded is None:
            self._encoded = _encode_gaps(self.digests)
        return self._encoded


def _encode_gaps(digests: set[int]) -> str:
    out = bytearray()
    previous = 0
    for digest in sorted(digests):
        gap = digest - previous
        previous = digest
        while gap >= 0x80:
            out.append((gap & 0x7F) | 0x80)
            gap >>= 7
        out.append(gap)
    return base64.b64encode(bytes(out)).decode("ascii")


def _decode_gaps(text: str) -> set[int]:
    digests: set[int] = set()
    value = shift = previous = 0
    for byte in base64.b64decode(text, validate=True):
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        previous += value
        digests.add(previous)
        value = shift = 0
    if shift:
        raise ValueError("known recording ids end in the middle of a number")
    return digests


@dataclass
class DiscoveryCursor:
    """What the sensor remembers between ticks (see the module docstring)."""

    # Every manifest whose ctime is <= watermark_ns has been handled (-1: nothing handled yet).
    watermark_ns: int = -1
    # The newest ctime handled so far.
    high_ns: int = -1
    # Handled manifests (names relative to the drop folder) whose ctime is in (watermark_ns, high_ns].
    recent: frozenset[str] = frozenset()
    known_ids: KnownRecordingIds = field(default_factory=KnownRecordingIds)

    def same_position(self, other: DiscoveryCursor) -> bool:
        return (self.watermark_ns, self.high_ns, self.recent) == (
            other.watermark_ns,
            other.high_ns,
            other.recent,
        )

    def encode(self) -> str:
        doc = {
            "v": CURSOR_VERSION,
            "watermark_ns": self.watermark_ns,
            "high_ns": self.high_ns,
            "recent": sorted(self.recent),
            "known_id_count": len(self.known_ids),
            "known_id_digests": self.known_ids.encode(),
        }
        text = json.dumps(doc, separators=(",", ":"))
        if len(text) <= COMPRESS_ABOVE_CHARS:
            return text
        return COMPRESSED_PREFIX + base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")

    @classmethod
    def decode(cls, cursor: str | None) -> DiscoveryCursor:
        if not cursor:
            return cls()
        try:
            if cursor.startswith(COMPRESSED_PREFIX):
                cursor = zlib.decompress(base64.b64decode(cursor[len(COMPRESSED_PREFIX) :])).decode()
            doc = json.loads(cursor)
            if doc.get("v") != CURSOR_VERSION:
                raise ValueError(f"version {doc.get('v')!r}, expected {CURSOR_VERSION}")
            known = KnownRecordingIds(encoded=str(doc["known_id_digests"]), count=int(doc["known_id_count"]))
            return cls(int(doc["watermark_ns"]), int(doc["high_ns"]), frozenset(doc["recent"]), known)
        except (ValueError, KeyError, TypeError, zlib.error) as exc:
            # Starting over would request a run for every day in the folder: make that a deliberate reset.
            raise ValueError(
                f"unreadable new-recordings sensor cursor ({exc}); reset the sensor's cursor to start over"
            ) from exc


@dataclass(frozen=True)
class ManifestFile:
    name: str  # relative to the drop folder root, POSIX separators (as raw.recordings.source_file)
    path: str
    ctime_ns: int


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass
class Discovery:
    """One tick's findings: what to request, what was dropped and why, and the cursor to persist."""

    cursor: DiscoveryCursor
    # day -> what arrived for it: recording ids, or "file:<name>@<ctime_ns>" for a dated but invalid manifest
    days: dict[date, list[str]] = field(default_factory=dict)
    duplicates: list[Skipped] = field(default_factory=list)  # recording id already known
    undated: list[Skipped] = field(default_factory=list)  # start time unreadable: no day to request
    # valid, but dated outside the admitted window (rejected by every ingest run, with this reason)
    out_of_window: list[Skipped] = field(default_factory=list)
    examined: int = 0  # manifests stat'ed
    parsed: int = 0  # manifests read and validated


class ManifestListing:
    """The manifests under ``<root>/manifests`` (any depth, ``*.json``) changed after ``newer_than_ns``.

    One ``stat`` per file; only files past the watermark become objects (the rest are just counted), because an
    idle tick over 10,000 manifests should cost the stats and little else.
    """

    def __init__(self, root: Path, newer_than_ns: int) -> None:
        self.examined = 0
        self.files: list[ManifestFile] = []
        top = os.path.join(root, MANIFESTS_DIR)
        pending = [(top, f"{MANIFESTS_DIR}/")]
        visited: set[tuple[int, int]] = set()  # symlinked directories are followed, but never twice
        while pending:
            folder, prefix = pending.pop()
            try:
                folder_stat = os.stat(folder)
                if (folder_stat.st_dev, folder_stat.st_ino) in visited:
                    continue
                visited.add((folder_stat.st_dev, folder_stat.st_ino))
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue  # no manifests/ yet, or a folder removed while we walk
            for entry in entries:
                try:
                    # is_dir() answers from the directory listing itself (no syscall) except for symlinks.
                    if entry.is_dir():
                        pending.append((entry.path, f"{prefix}{entry.name}/"))
                        continue
                    if not entry.name.endswith(".json"):
                        continue
                    info = entry.stat()
                except OSError:
                    continue  # removed since the listing, or a dangling link
                if stat.S_ISREG(info.st_mode):
                    self.examined += 1
                    if info.st_ctime_ns > newer_than_ns:
                        self.files.append(ManifestFile(f"{prefix}{entry.name}", entry.path, info.st_ctime_ns))


def discover(
    root: Path,
    cursor: DiscoveryCursor,
    timezone: tzinfo,
    *,
    now_ns: int,
    settle_ns: int = DEFAULT_SETTLE_SECONDS * 1_000_000_000,
    policy: InputPolicy | None = None,
) -> Discovery:
    """Find manifests that arrived since ``cursor`` and the day partitions (in ``timezone``) they belong to.

    ``now_ns`` is the wall clock taken before listing (injectable so tests can let time pass). When nothing
    arrived and the watermark did not move, the result's cursor is ``cursor`` itself.
    """
    if not root.is_dir():
        # A missing root is a misconfiguration, not "no recordings": fail the tick loudly.
        raise FileNotFoundError(f"drop folder {root} does not exist")
    listing = ManifestListing(root, cursor.watermark_ns)
    listed = listing.files
    new = sorted(
        (f for f in listed if not (f.name in cursor.recent and f.ctime_ns <= cursor.high_ns)),
        key=lambda f: f.name,
    )
    result = Discovery(cursor=cursor, examined=listing.examined)
    known = cursor.known_ids.copy()
    policy = policy or InputPolicy()
    now = datetime.fromtimestamp(now_ns / 1e9, UTC)
    for file in new:
        result.parsed += 1
        _classify(file, root, timezone, known, result, policy, now)

    high = max([cursor.high_ns, *(f.ctime_ns for f in listed)])
    # The watermark moves onto the newest file that has settled (never past an unsettled one, never between
    # files), so it changes only when a name can leave ``recent``, and an idle cursor stays byte-identical.
    settled_before = min(high, now_ns - settle_ns)
    watermark = max([cursor.watermark_ns, *(f.ctime_ns for f in listed if f.ctime_ns <= settled_before)])
    recent = frozenset(f.name for f in listed if f.ctime_ns > watermark)
    moved = DiscoveryCursor(watermark, high, recent, known)
    if new or not moved.same_position(cursor):
        result.cursor = moved
    return result


def _parse(file: ManifestFile, root: Path, policy: InputPolicy) -> RecordingManifest:
    try:
        return parse_manifest(
            Path(file.path), root, media_roots=policy.media_roots, url_policy=policy.url_policy
        )
    except ManifestError:
        raise
    except Exception as exc:  # parse_manifest raises only ManifestError; one file must never fail the tick
        raise ManifestError(f"manifest could not be validated ({type(exc).__name__})") from None


def _classify(
    file: ManifestFile,
    root: Path,
    timezone: tzinfo,
    known: KnownRecordingIds,
    result: Discovery,
    policy: InputPolicy,
    now: datetime,
) -> None:
    try:
        manifest = _parse(file, root, policy)
    except ManifestError as exc:
        if exc.start_time is None:
            result.undated.append(Skipped(file.name, exc.reason))
            return
        day = exc.start_time.astimezone(timezone).date()
        result.days.setdefault(day, []).append(f"file:{file.name}@{file.ctime_ns}")
        return
    if manifest.recording_id in known:
        result.duplicates.append(Skipped(file.name, f"recording_id {manifest.recording_id!r} already seen"))
        return
    outside = policy.window_problem(manifest, now)
    if outside is not None:
        # Not remembered: once its day comes (a recording dated tomorrow), a touch of the file requests it.
        result.out_of_window.append(Skipped(file.name, outside))
        return
    known.add(manifest.recording_id)
    result.days.setdefault(manifest.partition_date(timezone), []).append(manifest.recording_id)
