"""Drop-folder manifests: validation (each failure names its field), windows, duplicates, media, cache."""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orchestration.defs.recordings.manifest import ManifestError, RecordingManifest, parse_manifest
from orchestration.defs.recordings.source import DropFolderSource, MediaError, Rejection
from orchestration.defs.warehouse.schema import TABLES

VALID: dict[str, Any] = {
    "recording_id": "rec-20260407-maya-0001",
    "start_time": "2026-04-07T15:00:00Z",
    "duration_seconds": 1834.5,
    "title": "Discovery call - Globex",
    "call_type": "discovery",
    "account": {"id": "acct-globex", "name": "Globex"},
    "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
    "participants": [
        {"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"},
        {"name": "Hank Scorpio", "email": "hank@globex.example", "role": "prospect"},
    ],
    "language_code": "en-US",
    "media": {"kind": "audio_file", "path": "media/rec-0001.wav"},
}

TRANSCRIPT = {
    "format": "convo-intel-transcript",
    "version": 1,
    "language_code": "en-US",
    "messages": [{"speaker": {"name": "Maya Chen"}, "text": "Shall we start?", "start": 0.0, "end": 2.5}],
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    drop = tmp_path / "drop"
    (drop / "media").mkdir(parents=True)
    (drop / "media" / "rec-0001.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    (drop / "media" / "call.json").write_text(json.dumps(TRANSCRIPT))
    (drop / "manifests").mkdir()
    return drop


def write(root: Path, name: str, doc: Any) -> Path:
    path = root / "manifests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return path


def manifest(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = doc
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return doc


DELETE = object()


def reject_reason(root: Path, doc: Any) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(write(root, "m.json", doc), root)
    return info.value.reason


# --- valid manifests


def test_valid_manifest_parses_into_a_row_matching_the_recordings_table(root: Path) -> None:
    path = write(root, "2026/04/rec.json", VALID)
    m = parse_manifest(path, root)
    assert m.start_time == datetime(2026, 4, 7, 15, tzinfo=UTC)
    assert (m.account_id, m.account_name, m.host_email) == (
        "acct-globex",
        "Globex",
        "maya.chen@lumen.example",
    )
    assert [p.role for p in m.participants] == ["rep", "prospect"]
    assert m.media_ref == str((root / "media" / "rec-0001.wav").resolve())
    assert m.source_file == "manifests/2026/04/rec.json"
    assert re.fullmatch(r"[0-9a-f]{64}", m.manifest_sha256)

    row = m.to_row(date(2026, 4, 7))
    columns = TABLES["recordings"].column_names
    assert set(row) == set(columns) - {"loaded_at"}
    assert row["participant_count"] == 2
    assert json.loads(row["participants"])[1] == {
        "name": "Hank Scorpio",
        "email": "hank@globex.example",
        "role": "prospect",
    }


def test_optional_fields_default_and_plain_account_name(root: Path) -> None:
    doc = manifest(
        account="Initech",
        language_code=DELETE,
        title=DELETE,
        duration_seconds=DELETE,
        call_type=DELETE,
        media={"kind": "video_url", "url": "https://cdn.example/v/1.mp4"},
    )
    m = parse_manifest(write(root, "m.json", doc), root)
    assert (m.account_id, m.account_name, m.language_code, m.title) == (None, "Initech", "en-US", None)
    assert (m.media_kind, m.media_ref) == ("video_url", "https://cdn.example/v/1.mp4")


def test_offsets_are_kept_and_absolute_media_paths_are_accepted(root: Path) -> None:
    absolute = str((root / "media" / "rec-0001.wav").resolve())
    doc = manifest(start_time="2026-04-07T23:30:00-04:00", media__path=absolute)
    m = parse_manifest(write(root, "m.json", doc), root)
    assert m.start_time.utcoffset() == timedelta(hours=-4) and m.media_ref == absolute


# --- invalid manifests: every reason names the field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recording_id": DELETE}, "recording_id"),
        ({"recording_id": 42}, "recording_id"),
        ({"recording_id": "rec/../../etc"}, "recording_id"),
        ({"recording_id": "x" * 129}, "recording_id"),
        ({"recording_id": " rec-1"}, "recording_id"),
        ({"start_time": DELETE}, "start_time"),
        ({"start_time": "2026-04-07T15:00:00"}, "start_time"),  # naive
        ({"start_time": "2026-04-07"}, "start_time"),  # date only: naive
        ({"start_time": "yesterday at noon"}, "start_time"),
        ({"start_time": 1775574000}, "start_time"),
        ({"duration_seconds": "long"}, "duration_seconds"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"duration_seconds": True}, "duration_seconds"),
        ({"title": ["a list"]}, "title"),
        ({"account": 7}, "account"),
        ({"account": {"id": 7}}, "account.id"),
        ({"host": DELETE}, "host"),
        ({"host": "Maya"}, "host"),
        ({"host__email": DELETE}, "host.email"),
        ({"host__email": "not-an-email"}, "host.email"),
        ({"participants": DELETE}, "participants"),
        ({"participants": []}, "participants"),
        ({"participants": {"name": "x"}}, "participants"),
        ({"participants": [{"email": "a@b.example"}]}, "participants[0].name"),
        ({"participants": [{"name": "A"}, "B"]}, "participants[1]"),
        ({"language_code": "english please"}, "language_code"),
        ({"media": DELETE}, "media"),
        ({"media__kind": "hologram"}, "media.kind"),
        ({"media__kind": DELETE}, "media.kind"),
        ({"media__path": DELETE}, "media.path"),
        ({"media__path": "media/missing.wav"}, "media.path"),
        ({"media__path": "media"}, "media.path"),  # a directory, not a file
        ({"media": {"kind": "audio_url", "url": "ftp://files.example/a.wav"}}, "media.url"),
        ({"media": {"kind": "audio_url", "url": "file:///etc/passwd"}}, "media.url"),
        ({"media": {"kind": "audio_url", "path": "media/rec-0001.wav"}}, "media.url"),
    ],
)
def test_invalid_field_is_named_in_the_reason(root: Path, changes: dict[str, Any], field: str) -> None:
    reason = reject_reason(root, manifest(**changes))
    assert reason.startswith(f"{field} "), reason


def test_bad_json_reports_line_and_column(root: Path) -> None:
    reason = reject_reason(root, b'{\n  "recording_id": "rec-1",\n  "start_time" "2026-04-07T15:00:00Z"\n}')
    assert "not valid JSON" in reason and "line 3 column 16" in reason


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"recording_id": "a", "recording_id": "b"}', "recording_id: the key appears twice"),
        (json.dumps(manifest()).replace("1834.5", "NaN").encode(), "NaN"),
    ],
)
def test_malformed_documents_are_rejected(root: Path, raw: bytes, fragment: str) -> None:
    assert fragment in reject_reason(root, raw)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "Discovery\x00call"}, "title"),
        ({"host__name": "Maya\x1b[31m Chen"}, "host.name"),  # terminal escape
        ({"participants": [{"name": "Eve\u202egnp.exe"}]}, "participants[0].name"),  # bidi override
        ({"call_type": "x" * 5000}, "call_type"),
        ({"title": "t" * 50_000}, "title"),
    ],
)
def test_hostile_strings_are_rejected(root: Path, changes: dict[str, Any], field: str) -> None:
    reason = reject_reason(root, manifest(**changes))
    assert reason.startswith(field) and ("control character" in reason or "limit" in reason), reason


def test_oversized_manifest_is_rejected_before_parsing(root: Path) -> None:
    doc = manifest(padding="p" * (64 * 1024))
    assert "limit is 65536" in reject_reason(root, doc)


def test_relative_path_traversal_outside_the_root_is_rejected(root: Path) -> None:
    (root.parent / "secret.wav").write_bytes(b"RIFF")
    assert "outside the drop folder" in reject_reason(root, manifest(media__path="../secret.wav"))
    (root / "media" / "link.wav").symlink_to(root.parent / "secret.wav")
    assert "outside the drop folder" in reject_reason(root, manifest(media__path="media/link.wav"))


def test_error_keeps_id_and_start_time_once_read(root: Path) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(write(root, "m.json", manifest(media__kind="hologram")), root)
    assert info.value.recording_id == "rec-20260407-maya-0001"
    assert info.value.start_time == datetime(2026, 4, 7, 15, tzinfo=UTC)


# --- scanning


def utc_day(d: date) -> tuple[datetime, datetime]:
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def test_window_is_half_open_and_follows_the_partition_timezone(root: Path) -> None:
    write(root, "late.json", manifest(recording_id="late", start_time="2026-04-08T02:00:00Z"))
    write(root, "edge.json", manifest(recording_id="edge", start_time="2026-04-08T04:00:00Z"))
    new_york = ZoneInfo("America/New_York")
    source = DropFolderSource(root, "America/New_York")
    ny_start = datetime(2026, 4, 7, tzinfo=new_york)  # 04:00Z, EDT
    ny_ids = [m.recording_id for m in source.scan(ny_start, ny_start + timedelta(days=1)).manifests]
    assert ny_ids == ["late"]  # 22:00 on the 7th in New York; "edge" is exactly the next day's start
    utc_ids = [m.recording_id for m in DropFolderSource(root).scan(*utc_day(date(2026, 4, 8))).manifests]
    assert utc_ids == ["late", "edge"]
    (late,) = [m for m in source.scan(ny_start, ny_start + timedelta(days=1)).manifests]
    assert late.partition_date(new_york) == date(2026, 4, 7)


def test_duplicates_keep_the_first_by_path_in_every_window(root: Path) -> None:
    write(root, "a/first.json", manifest(recording_id="dup", start_time="2026-04-07T10:00:00Z"))
    write(root, "b/second.json", manifest(recording_id="dup", start_time="2026-04-08T10:00:00Z"))
    source = DropFolderSource(root)
    day7 = source.scan(*utc_day(date(2026, 4, 7)))
    assert [m.source_file for m in day7.manifests] == ["manifests/a/first.json"] and day7.rejections == ()
    day8 = source.scan(*utc_day(date(2026, 4, 8)))
    assert day8.manifests == ()
    (dup,) = day8.rejections
    assert (dup.source_file, dup.recording_id, dup.partition_date) == (
        "manifests/b/second.json",
        "dup",
        date(2026, 4, 8),
    )
    assert "duplicate" in dup.reason and "manifests/a/first.json" in dup.reason


def test_dated_rejections_belong_to_their_window_and_undated_ones_to_every_scan(root: Path) -> None:
    write(root, "broken.json", b"{not json")
    write(root, "no-media.json", manifest(recording_id="no-media", media__path="media/gone.wav"))
    write(root, "ok.json", manifest(recording_id="ok"))
    source = DropFolderSource(root, "UTC")
    day7 = source.scan(*utc_day(date(2026, 4, 7)))
    assert [m.recording_id for m in day7.manifests] == ["ok"]
    by_file = {r.source_file: r for r in day7.rejections}
    assert set(by_file) == {"manifests/broken.json", "manifests/no-media.json"}
    assert by_file["manifests/broken.json"].partition_date is None
    assert by_file["manifests/broken.json"].recording_id is None
    assert by_file["manifests/no-media.json"].partition_date == date(2026, 4, 7)
    assert "media.path" in by_file["manifests/no-media.json"].reason
    assert all(r.stage == "manifest" for r in day7.rejections)
    day9 = source.scan(*utc_day(date(2026, 4, 9)))
    assert [r.source_file for r in day9.rejections] == ["manifests/broken.json"]


def test_scan_keeps_headers_between_scans_and_reads_each_admitted_manifest_whole(root: Path) -> None:
    path = write(root, "m.json", manifest(title="First"))
    source = DropFolderSource(root)
    window = utc_day(date(2026, 4, 7))
    (first,) = source.scan(*window).manifests
    (header,) = source.plan(*window).admitted
    (again_header,) = source.plan(*window).admitted
    assert again_header[1] is header[1]  # decided from the cache, the file not parsed again
    (again,) = source.scan(*window).manifests
    assert again == first and again is not first  # the manifest is read whole when admitted, never kept
    write(root, "m.json", manifest(title="Second, longer title"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    (changed,) = source.scan(*window).manifests
    assert changed.title == "Second, longer title" and changed.manifest_sha256 != first.manifest_sha256
    path.unlink()
    assert source.scan(*window).manifests == ()


def test_a_manifest_changed_between_plan_and_read_is_rejected_for_this_scan_only(root: Path) -> None:
    write(root, "a.json", manifest(recording_id="rec-a"))
    moved = write(root, "b.json", manifest(recording_id="rec-b"))
    broken = write(root, "c.json", manifest(recording_id="rec-c"))
    source = DropFolderSource(root)
    window = utc_day(date(2026, 4, 7))
    plan = source.plan(*window)
    assert [h.recording_id for _, h in plan.admitted] == ["rec-a", "rec-b", "rec-c"]
    write(root, "b.json", manifest(recording_id="rec-b", start_time="2026-04-07T23:00:00Z"))
    broken.write_text("{ not json")
    read = list(source.read(plan))
    assert [m.recording_id for m in read if isinstance(m, RecordingManifest)] == ["rec-a"]
    reasons = {r.recording_id: r.reason for r in read if isinstance(r, Rejection)}
    assert "changed while the drop folder was being scanned" in reasons["rec-b"]
    assert "json" in reasons["rec-c"].lower()
    os.utime(moved, ns=(moved.stat().st_atime_ns, moved.stat().st_mtime_ns + 1_000_000))
    assert [m.recording_id for m in source.scan(*window).manifests] == ["rec-a", "rec-b"]


def test_scan_requires_aware_bounds_and_an_existing_root(tmp_path: Path, root: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DropFolderSource(root).scan(datetime(2026, 4, 7), datetime(2026, 4, 8))
    with pytest.raises(FileNotFoundError):
        DropFolderSource(tmp_path / "nope").scan(*utc_day(date(2026, 4, 7)))


# --- media and transcripts


def test_read_media_and_transcript(root: Path) -> None:
    write(root, "audio.json", manifest(recording_id="audio"))
    write(
        root,
        "text.json",
        manifest(recording_id="text", media={"kind": "transcript_file", "path": "media/call.json"}),
    )
    source = DropFolderSource(root)
    found = {m.recording_id: m for m in source.scan(*utc_day(date(2026, 4, 7))).manifests}
    assert source.read_media(found["audio"]).startswith(b"RIFF")
    assert source.read_transcript(found["text"])["messages"][0]["text"] == "Shall we start?"
    with pytest.raises(ValueError):
        source.read_transcript(found["audio"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "srt"}, "format"),
        ({"messages": []}, "messages"),
        ({"messages": [{"speaker": {}, "text": "x", "start": 0, "end": 1}]}, "messages[0].speaker.name"),
        ({"messages": [{"speaker": {"name": "A"}, "text": " ", "start": 0, "end": 1}]}, "messages[0].text"),
        (
            {"messages": [{"speaker": {"name": "A"}, "text": "x", "start": "0", "end": 1}]},
            "messages[0].start must be a number",
        ),
        (
            {"messages": [{"speaker": {"name": "A"}, "text": "x", "start": 5, "end": 1}]},
            "messages[0].end is before",
        ),
        ({"messages": [{"speaker": {"name": "A"}, "text": "x", "start": -1, "end": 1}]}, "messages[0].start"),
        ({"format": "convo-intel-transcript", "messages": "x"}, "messages must be a list"),
    ],
)
def test_malformed_transcript_names_the_field(root: Path, change: dict[str, Any], field: str) -> None:
    (root / "media" / "bad.json").write_text(json.dumps({**TRANSCRIPT, **change}))
    write(
        root,
        "t.json",
        manifest(recording_id="t", media={"kind": "transcript_file", "path": "media/bad.json"}),
    )
    source = DropFolderSource(root)
    (m,) = source.scan(*utc_day(date(2026, 4, 7))).manifests
    with pytest.raises(MediaError) as info:
        source.read_transcript(m)
    assert f"transcript {field}" in str(info.value) and "t:" in str(info.value)
