"""One manifest never fails the others: parse errors of every kind, the date window, and the sensor's discovery."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orchestration.defs.recordings import discovery as discovery_module
from orchestration.defs.recordings import source as source_module
from orchestration.defs.recordings.discovery import DiscoveryCursor, discover
from orchestration.defs.recordings.manifest import ManifestError, parse_manifest
from orchestration.defs.recordings.policy import InputPolicy
from orchestration.defs.recordings.source import DropFolderSource, MediaError
from orchestration.defs.symbl.submission import _read

NOW = datetime(2026, 4, 7, 18, 0, tzinfo=UTC)
DAY = (datetime(2026, 4, 7, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.wav").write_bytes(b"RIFF")
    return tmp_path


def write(root: Path, name: str, content: dict[str, Any] | bytes) -> Path:
    path = root / "manifests" / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def manifest(rid: str, start: str = "2026-04-07T15:00:00Z", **changes: Any) -> dict[str, Any]:
    doc = {
        "recording_id": rid,
        "start_time": start,
        "host": {"name": "Maya", "email": "maya@lumen.example"},
        "participants": [{"name": "Maya"}],
        "media": {"kind": "audio_file", "path": "media/a.wav"},
    }
    return {**doc, **changes}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[" * 60_000, "nested too deeply"),
        (b'{"recording_id": "r", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "nested too deeply"),
        (b'{"recording_id": "r", "duration_seconds": ' + b"7" * 5000 + b"}", "digits"),
        (json.dumps(manifest("r", duration_seconds=1e308)).encode(), "duration_seconds"),
        (json.dumps(manifest("r", duration_seconds=86_401)).encode(), "duration_seconds"),
    ],
)
def test_pathological_manifests_raise_only_manifest_errors(root: Path, content: bytes, fragment: str) -> None:
    path = write(root, "bad.json", content)
    with pytest.raises(ManifestError) as info:
        parse_manifest(path, root)
    assert fragment in info.value.reason


def test_any_unexpected_exception_in_validation_becomes_the_files_rejection(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, "good.json", manifest("rec-good"))
    write(root, "cursed.json", manifest("rec-cursed"))
    real = source_module.parse_manifest

    def flaky(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "cursed.json":
            raise RuntimeError("a bug, not a bad manifest")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(source_module, "parse_manifest", flaky)
    monkeypatch.setattr(discovery_module, "parse_manifest", flaky)
    scan = DropFolderSource(root).scan(*DAY, now=NOW)
    assert [m.recording_id for m in scan.manifests] == ["rec-good"]
    (rejection,) = scan.rejections
    assert rejection.source_file == "manifests/cursed.json" and "RuntimeError" in rejection.reason

    found = discover(root, DiscoveryCursor(), ZoneInfo("UTC"), now_ns=int(NOW.timestamp() * 1e9))
    assert found.days == {date(2026, 4, 7): ["rec-good"]}
    assert [s.name for s in found.undated] == ["manifests/cursed.json"]


def test_the_date_window_rejects_with_a_reason_in_every_scan(root: Path) -> None:
    write(root, "ok.json", manifest("rec-ok"))
    write(root, "tomorrow.json", manifest("rec-tomorrow", "2026-04-08T09:00:00Z"))  # within 24 h: admitted
    write(root, "future.json", manifest("rec-future", "2026-05-01T09:00:00Z"))
    write(root, "ancient.json", manifest("rec-ancient", "2019-05-01T09:00:00Z"))
    policy = InputPolicy(earliest_start=datetime(2026, 1, 1, tzinfo=UTC))
    source = DropFolderSource(root, policy=policy)
    for window in (DAY, (DAY[1], DAY[1] + timedelta(days=1))):
        reasons = {
            r.recording_id: (r.partition_date, r.reason) for r in source.scan(*window, now=NOW).rejections
        }
        assert set(reasons) == {"rec-future", "rec-ancient"}
        assert reasons["rec-future"][0] is None and "in the future" in reasons["rec-future"][1]
        assert reasons["rec-ancient"][0] is None and "before the first partition" in reasons["rec-ancient"][1]
    assert [m.recording_id for m in source.scan(DAY[1], DAY[1] + timedelta(days=1), now=NOW).manifests] == [
        "rec-tomorrow"
    ]
    # Once its day is near, the same file is admitted (the window is applied per scan, not cached).
    later = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    may = (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC))
    assert [m.recording_id for m in source.scan(*may, now=later).manifests] == ["rec-future"]


def test_the_sensor_reports_out_of_window_manifests_as_rejected(root: Path) -> None:
    write(root, "ok.json", manifest("rec-ok"))
    write(root, "future.json", manifest("rec-future", "2026-09-01T09:00:00Z"))
    found = discover(
        root,
        DiscoveryCursor(),
        ZoneInfo("UTC"),
        now_ns=int(NOW.timestamp() * 1e9),
        policy=InputPolicy(),
    )
    assert found.days == {date(2026, 4, 7): ["rec-ok"]}
    assert [(s.name, "in the future" in s.reason) for s in found.out_of_window] == [
        ("manifests/future.json", True)
    ]
    # Not remembered as known: once admitted, a touch of the file gets its day requested.
    assert "rec-future" not in found.cursor.known_ids


def test_first_arrival_owns_an_id_when_neither_file_was_ingested(root: Path) -> None:
    write(root, "z-first.json", manifest("rec-1", title="first"))
    time.sleep(0.01)
    write(root, "a-second.json", manifest("rec-1", title="second"))
    first, second = root / "manifests" / "z-first.json", root / "manifests" / "a-second.json"
    assert os.stat(first).st_ctime_ns < os.stat(second).st_ctime_ns
    scan = DropFolderSource(root).scan(*DAY, now=NOW)
    assert [m.title for m in scan.manifests] == ["first"]
    (dup,) = scan.rejections
    assert (
        dup.source_file == "manifests/a-second.json"
        and "already defined by manifests/z-first.json" in dup.reason
    )
    # An id already recorded for a file keeps that owner, whatever the ctimes say.
    owned = DropFolderSource(root).scan(*DAY, now=NOW, owners={"rec-1": "manifests/a-second.json"})
    assert [m.title for m in owned.manifests] == ["second"]


def test_a_media_file_swapped_for_a_link_after_validation_is_not_followed(root: Path) -> None:
    write(root, "m.json", manifest("rec-swap"))
    (recording,) = DropFolderSource(root).scan(*DAY, now=NOW).manifests
    assert DropFolderSource(root).read_media(recording) == b"RIFF"
    media = Path(recording.media_ref)
    media.unlink()
    media.symlink_to("/etc/passwd")
    with pytest.raises(MediaError, match="symbolic link"):
        DropFolderSource(root).read_media(recording)
    with pytest.raises(MediaError, match="symbolic link"):
        _read(recording.media_ref, "audio file")
