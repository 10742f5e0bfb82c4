"""Benchmark: the new-recordings sensor over a drop folder of 10,000 manifests.

Writes N tiny manifests (spread over 100 days, in per-day folders) into a temporary drop folder, runs one tick to
learn them, then measures the wall time of ticks with nothing new (median of --repeat) and of a tick with 10 new
files, and the cursor's size in bytes (Dagster stores it with every tick). Ticks are evaluated exactly as the
daemon evaluates them (the real sensor function, a fresh context built from the previous cursor string).

The learning tick's cursor still lists the names of manifests younger than the settle window; the "settled"
figures are for the same folder once that window has passed (simulated by moving the clock, not by sleeping).

    .venv/bin/python bench/sensor_tick.py --manifests 10000

Measured 2026-12-03 at dc90204, beside a 10,000-recording ingest run (load 2.4-3.3): idle tick with the settled
cursor median 0.229 s (stat of the 10,000 manifests 0.087 s of it), a tick with 10 new manifests 0.287 s, cursor
54,859 bytes (55,159 after the 10 new); the learning tick 7.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.defs.recordings.discovery import DEFAULT_SETTLE_SECONDS, DiscoveryCursor, discover
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.sensors import new_recordings_sensor

FIRST_DAY = date(2026, 2, 1)
DAYS = 100


def write_manifests(drop: Path, first: int, count: int) -> None:
    for i in range(first, first + count):
        day = FIRST_DAY + timedelta(days=i % DAYS)
        rid = f"rec-{day:%Y%m%d}-rep{i % 37:02}-{i:06}"
        doc = {
            "recording_id": rid,
            "start_time": f"{day.isoformat()}T{9 + i % 8:02}:{i % 60:02}:00Z",
            "title": f"Call {i}",
            "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
            "participants": [{"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"}],
            "media": {"kind": "audio_file", "path": "media/call.wav"},
        }
        folder = drop / "manifests" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{rid}.json").write_text(json.dumps(doc))


def tick(resource: DropFolderResource, cursor: str | None) -> tuple[float, dg.SensorResult]:
    context = dg.build_sensor_context(cursor=cursor, resources={"drop_folder": resource})
    started = time.perf_counter()
    result = new_recordings_sensor(context)
    elapsed = time.perf_counter() - started
    assert isinstance(result, dg.SensorResult)
    return elapsed, result


def idle_ticks(resource: DropFolderResource, cursor: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        elapsed, result = tick(resource, cursor)
        assert not result.run_requests, "an idle tick requested runs"
        times.append(elapsed)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifests", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-sensor-") as work:
        drop = Path(work) / "drop"
        (drop / "media").mkdir(parents=True)
        (drop / "media" / "call.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVE")
        started = time.perf_counter()
        write_manifests(drop, 0, args.manifests)
        print(f"wrote {args.manifests} manifests in {time.perf_counter() - started:.1f} s")
        resource = DropFolderResource(root=str(drop), timezone="UTC")

        learn_s, learned = tick(resource, None)
        assert learned.cursor is not None
        print(f"learning tick: {learn_s:.3f} s, {len(learned.run_requests or [])} day runs requested")
        print(f"  cursor (names not yet settled): {len(learned.cursor.encode())} bytes")
        print(
            f"idle tick, unsettled cursor: median {idle_ticks(resource, learned.cursor, args.repeat):.4f} s"
        )

        # The same state once the settle window has passed: only the watermark and the id digests remain.
        later = time.time_ns() + (DEFAULT_SETTLE_SECONDS + 1) * 1_000_000_000
        settled = discover(drop, DiscoveryCursor.decode(learned.cursor), ZoneInfo("UTC"), now_ns=later)
        settled_cursor = settled.cursor.encode()
        print(
            f"  cursor (settled, {len(settled.cursor.known_ids)} known ids): {len(settled_cursor.encode())} bytes"
        )
        print(f"idle tick, settled cursor: median {idle_ticks(resource, settled_cursor, args.repeat):.4f} s")
        # The sensor's own work, without building a Dagster context per tick (the daemon builds one anyway).
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            idle = discover(drop, DiscoveryCursor.decode(settled_cursor), ZoneInfo("UTC"), now_ns=later)
            times.append(time.perf_counter() - started)
            assert idle.parsed == 0
        print(
            f"  of which discovery (stat {idle.examined} manifests): median {statistics.median(times):.4f} s"
        )

        write_manifests(drop, args.manifests, args.new)
        new_s, result = tick(resource, settled_cursor)
        assert result.cursor is not None
        days = len(result.run_requests or [])
        print(f"tick with {args.new} new manifests: {new_s:.4f} s, {days} day runs requested")
        print(f"  cursor after it: {len(result.cursor.encode())} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
