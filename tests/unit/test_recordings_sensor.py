"""The new-recordings sensor against a real drop folder: partitions, dedupe by recording id, cursor, bad files."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.defs.recordings.discovery import (
    DEFAULT_SETTLE_SECONDS,
    DiscoveryCursor,
    KnownRecordingIds,
    discover,
)
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.sensors import (
    ARRIVALS_TAG,
    MAX_DAYS_PER_RUN,
    RANGE_END_TAG,
    RANGE_START_TAG,
    new_recordings_sensor,
)

SECOND_NS = 1_000_000_000


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    root = tmp_path / "drop"
    (root / "media").mkdir(parents=True)
    (root / "media" / "call.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVE")  # the sensor never reads media
    (root / "manifests").mkdir()
    return root


def manifest(recording_id: str, start_time: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "recording_id": recording_id,
        "start_time": start_time,
        "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
        "participants": [{"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"}],
        "media": {"kind": "audio_file", "path": "media/call.wav"},
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def write(drop: Path, name: str, doc: dict[str, Any] | bytes) -> Path:
    path = drop / "manifests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return path


def tick(drop: Path, cursor: str | None, timezone: str = "UTC") -> dg.SensorResult:
    resource = DropFolderResource(root=str(drop), timezone=timezone)
    context = dg.build_sensor_context(cursor=cursor, resources={"drop_folder": resource})
    result = new_recordings_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def span(request: dg.RunRequest) -> str:
    """The day a request runs ("2026-04-07"), or its range ("2026-04-07..2026-04-08")."""
    if request.partition_key is not None:
        assert RANGE_START_TAG not in request.tags
        return request.partition_key
    return f"{request.tags[RANGE_START_TAG]}..{request.tags[RANGE_END_TAG]}"


def requested(result: dg.SensorResult) -> dict[str, int]:
    """day or range -> number of arrivals the request carries."""
    requests = result.run_requests or []
    assert len({span(r) for r in requests}) == len(requests), "one request per day or range"
    return {span(r): int(r.tags[ARRIVALS_TAG]) for r in requests}


def days_found(drop: Path, timezone: str) -> dict[str, int]:
    found = discover(drop, DiscoveryCursor(), ZoneInfo(timezone), now_ns=time.time_ns())
    return {day.isoformat(): len(ids) for day, ids in found.days.items()}


def test_new_manifests_request_their_days_in_the_partitions_timezone(drop: Path) -> None:
    write(drop, "a.json", manifest("rec-a", "2026-04-07T15:00:00Z"))
    # 05:00 UTC on the 8th is still the 7th in Los Angeles; nested folders count too.
    write(drop, "2026/04/b.json", manifest("rec-b", "2026-04-08T05:00:00Z"))
    write(drop, "c.json", manifest("rec-c", "2026-04-08T18:00:00Z"))

    assert days_found(drop, "America/Los_Angeles") == {"2026-04-07": 2, "2026-04-08": 1}
    assert days_found(drop, "UTC") == {"2026-04-07": 1, "2026-04-08": 2}
    # Two days in one tick are one ranged run (a single-run backfill), not a run per day.
    assert requested(tick(drop, None, "America/Los_Angeles")) == {"2026-04-07..2026-04-08": 3}


def test_seen_touched_and_copied_manifests_request_nothing(drop: Path) -> None:
    first = write(drop, "a.json", manifest("rec-a", "2026-04-07T15:00:00Z"))
    write(drop, "b.json", manifest("rec-b", "2026-04-08T15:00:00Z"))
    cursor = tick(drop, None).cursor

    again = tick(drop, cursor)
    assert not again.run_requests
    assert again.skip_reason is not None and "no new manifests" in again.skip_reason.skip_message
    assert again.cursor == cursor  # an idle tick hands back the same cursor string

    os.utime(first)  # touched: a newer ctime, same recording
    shutil.copy(first, drop / "manifests" / "a-copy.json")  # a copy under another name
    write(drop, "renamed/a.json", manifest("rec-a", "2026-04-09T15:00:00Z"))  # same id, even another day
    result = tick(drop, cursor)
    assert not result.run_requests
    assert (
        result.skip_reason is not None
        and "3 manifest(s) read, none to run" in result.skip_reason.skip_message
    )


def test_a_new_recording_on_an_already_requested_day_gets_a_new_run(drop: Path) -> None:
    write(drop, "a.json", manifest("rec-a", "2026-04-07T09:00:00Z"))
    first = tick(drop, None)
    write(drop, "b.json", manifest("rec-b", "2026-04-07T11:00:00Z"))
    second = tick(drop, first.cursor)

    assert requested(second) == {"2026-04-07": 1}
    assert first.run_requests and second.run_requests
    assert first.run_requests[0].run_key != second.run_requests[0].run_key


def test_cursor_survives_a_restart_and_a_retried_tick_repeats_its_run_keys(drop: Path) -> None:
    write(drop, "a.json", manifest("rec-a", "2026-04-07T09:00:00Z"))
    persisted = tick(drop, None).cursor
    assert persisted is not None
    write(drop, "b.json", manifest("rec-b", "2026-04-10T09:00:00Z"))

    # A fresh process sees only the persisted string; a crashed tick is re-evaluated from the same cursor.
    attempt = tick(drop, str(persisted))
    retry = tick(drop, str(persisted))
    assert requested(attempt) == {"2026-04-10": 1}
    assert [r.run_key for r in retry.run_requests or []] == [r.run_key for r in attempt.run_requests or []]
    assert not tick(drop, attempt.cursor).run_requests


def test_unparseable_manifests_are_skipped_or_requested_by_date_without_crashing(drop: Path) -> None:
    write(drop, "garbage.json", b"\x00{not json")
    write(drop, "no-start.json", manifest("rec-x", "yesterday-ish"))
    broken = write(drop, "no-host.json", manifest("rec-h", "2026-04-11T10:00:00Z", host=None))
    write(drop, "good.json", manifest("rec-g", "2026-04-12T10:00:00Z"))
    (drop / "manifests" / "notes.txt").write_text("not a manifest")

    first = tick(drop, None)
    # The dated-but-invalid manifest's day still runs: the recordings asset records the rejection and reason.
    assert requested(first) == {"2026-04-11..2026-04-12": 2}

    # Its recording id was not remembered, so fixing the file requests the day again.
    broken.write_text(json.dumps(manifest("rec-h", "2026-04-11T10:00:00Z")))
    assert requested(tick(drop, first.cursor)) == {"2026-04-11": 1}


def test_days_without_a_partition_are_not_requested(drop: Path) -> None:
    write(drop, "old.json", manifest("rec-old", "2025-06-01T10:00:00Z"))  # before the first partition
    write(drop, "future.json", manifest("rec-future", "2999-01-01T10:00:00Z"))
    write(drop, "ok.json", manifest("rec-ok", "2026-04-07T10:00:00Z"))
    assert requested(tick(drop, None)) == {"2026-04-07": 1}


def test_missing_drop_folder_fails_the_tick_and_a_mangled_cursor_is_not_silently_reset(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tick(tmp_path / "nowhere", None)
    (tmp_path / "drop").mkdir()
    with pytest.raises(ValueError, match="reset the sensor's cursor"):
        tick(tmp_path / "drop", "z1:not-base64-zlib")


def test_a_tick_with_nothing_new_parses_nothing_and_settled_names_leave_the_cursor(drop: Path) -> None:
    for i in range(50):
        write(drop, f"m{i:03}.json", manifest(f"rec-{i:03}", "2026-04-07T10:00:00Z"))
    utc = ZoneInfo("UTC")
    now = max(p.stat().st_ctime_ns for p in (drop / "manifests").iterdir())
    learned = discover(drop, DiscoveryCursor(), utc, now_ns=now)
    assert learned.parsed == 50 and len(learned.cursor.recent) == 50  # too young to settle yet

    idle = discover(drop, learned.cursor, utc, now_ns=now + SECOND_NS)
    assert (idle.examined, idle.parsed, idle.days) == (50, 0, {})
    assert idle.cursor is learned.cursor

    settled = discover(drop, idle.cursor, utc, now_ns=now + (DEFAULT_SETTLE_SECONDS + 1) * SECOND_NS)
    assert settled.parsed == 0 and settled.cursor.recent == frozenset()
    assert len(settled.cursor.encode()) < len(learned.cursor.encode())
    # Once settled, a copy of a known recording is still recognised by its id alone.
    shutil.copy(drop / "manifests" / "m007.json", drop / "manifests" / "copy.json")
    later = discover(drop, DiscoveryCursor.decode(settled.cursor.encode()), utc, now_ns=now + 200 * SECOND_NS)
    assert (
        later.parsed == 1
        and later.days == {}
        and [d.name for d in later.duplicates] == ["manifests/copy.json"]
    )


def test_known_ids_round_trip_compactly() -> None:
    known = KnownRecordingIds()
    ids = [f"rec-2026{i:05}-{i * 7919 % 10007:05}" for i in range(5000)]
    for rid in ids:
        known.add(rid)
    decoded = KnownRecordingIds(encoded=known.encode(), count=len(known))
    assert all(rid in decoded for rid in ids)
    assert sum(f"other-{i}" in decoded for i in range(5000)) == 0
    assert len(known.encode()) < 5000 * 6  # about 4 bytes per id before base64


def test_a_backlog_of_days_is_coalesced_into_ranged_runs_of_at_most_a_month(drop: Path) -> None:
    # 48 days of history over three months (every other day from April 1st): the first tick over such a folder
    # used to queue 48 runs behind the one-writer pool.
    start = date(2026, 4, 1)
    days = [start + timedelta(days=2 * i) for i in range(48)]
    for n, day in enumerate(days):
        write(drop, f"{n:03}.json", manifest(f"rec-{n:03}", f"{day.isoformat()}T10:00:00Z"))
    first = tick(drop, None)
    runs = requested(first)
    assert sum(runs.values()) == 48  # every arrival is in exactly one run
    spans = [tuple(date.fromisoformat(d) for d in key.split("..")) for key in runs]
    assert len(spans) == 3  # April 1st to July 4th in spans of at most 31 days
    assert spans[0][0] == days[0] and spans[-1][-1] == days[-1]
    for a, b in itertools.pairwise(spans):
        assert a[-1] < b[0]  # no day is in two runs
    assert all((s[-1] - s[0]).days < MAX_DAYS_PER_RUN for s in spans)
    # A retried tick asks for the very same runs (Dagster drops the repeats by run key).
    retry = tick(drop, None)
    assert [r.run_key for r in retry.run_requests or []] == [r.run_key for r in first.run_requests or []]
