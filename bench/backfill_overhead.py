"""Benchmark: what a single-run backfill costs beyond its API-bound work, per partition in the range.

The same few recordings (all on one day) are ingested twice, each time into a fresh warehouse on a fresh Dagster
instance: once as a one-day run, once as one ranged run over --days days that contains that day. The Symbl and
Semarize work is identical (the sandbox's answer counts are printed for both), so the difference in wall time is
what the range itself costs: partitions planned and materialized, per-day metadata, window queries. Also prints
the events each run wrote to the instance, by type.

    .venv/bin/python bench/backfill_overhead.py --days 180 --recordings 6

Measured 2026-12-03 at dc90204, beside a 10,000-recording ingest run (load 4.4): one-day run 39.4 s, 180-day ranged
run 84.8 s (88 and 87 API calls), 45.3 s for 179 extra partitions = 253 ms per partition; the ranged run wrote
3,060 ASSET_MATERIALIZATION and 3,060 _PLANNED events (17 assets x 180 days), every other kind as the one-day run.
Dagster's own floor for the same shape (bench/dagster_partition_floor.py --days 180 --assets 17, load 3.4): 264 ms
per extra partition for 17 no-op assets, so the range costs what Dagster's per-partition events cost and nothing
of ours on top. (DAGSTER_EVENT_BATCH_SIZE does not help here: SQLite event storage stores a batch one by one.)
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline_partition import squash_to_one_day
from convo_intel.demo import prepare_environment
from sandbox.demo_data import generate
from sandbox.server import free_port, sandbox_process

DAY = "2026-05-05"


def _events_by_type(instance: Any, run_id: str) -> collections.Counter[str]:
    return collections.Counter(
        e.dagster_event.event_type_value for e in instance.all_logs(run_id) if e.dagster_event is not None
    )


def _run(
    work: Path,
    base: str,
    label: str,
    tags: dict[str, str] | None,
    partition_key: str | None,
    profile: Path | None = None,
) -> dict:
    import dagster as dg

    from orchestration.definitions import defs

    # A fresh warehouse each time: the second run must not find the first run's answers already landed.
    warehouse = work / label / "warehouse" / "convo_intel.duckdb"
    os.environ["CONVO_INTEL_WAREHOUSE"] = str(warehouse)
    os.environ.pop("CONVO_INTEL_ANALYST_WAREHOUSE", None)
    instance = dg.DagsterInstance.ephemeral()
    before = httpx.get(f"{base}/_sandbox/stats").json()["calls"]
    profiler = cProfile.Profile() if profile else None
    started = time.monotonic()
    if profiler:
        profiler.enable()
    result = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
        instance=instance, tags=tags, partition_key=partition_key, raise_on_error=False
    )
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds = time.monotonic() - started
    after = httpx.get(f"{base}/_sandbox/stats").json()["calls"]
    calls = sum(after.values()) - sum(before.values())
    return {
        "seconds": seconds,
        "success": result.success,
        "api_calls": calls,
        "events": _events_by_type(instance, result.run_id),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--recordings", type=int, default=6)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the ranged run here (pstats file)")
    args = parser.parse_args()

    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    drop = work / "drop"
    port = free_port()
    generate(
        out_dir=drop, seed=11, recordings=args.recordings, media_base_url=f"http://127.0.0.1:{port}/media"
    )
    env = {"SANDBOX_PROCESSING_FACTOR": "0.001", "SANDBOX_MEDIA_DIR": str((drop / "media").resolve())}
    try:
        with sandbox_process(work / "sandbox", port=port, env=env) as base:
            squash_to_one_day(drop, DAY)
            prepare_environment(work, base)
            first = date.fromisoformat(DAY) - timedelta(days=args.days // 2)
            last = first + timedelta(days=args.days - 1)
            one = _run(work, base, "one-day", None, DAY)
            ranged = _run(
                work,
                base,
                "ranged",
                {
                    ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                },
                None,
                args.profile,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.recordings} recordings on {DAY}; load average {os.getloadavg()}")
    for label, r in (("one-day run", one), (f"{args.days}-day ranged run", ranged)):
        print(f"  {label:<22} {r['seconds']:7.1f} s  success={r['success']}  API calls {r['api_calls']}")
    extra = ranged["seconds"] - one["seconds"]
    print(
        f"range overhead: {extra:.1f} s for {args.days - 1} extra partitions = "
        f"{1000 * extra / max(args.days - 1, 1):.0f} ms per partition"
    )
    print("events written to the instance (one-day -> ranged):")
    for kind in sorted(set(one["events"]) | set(ranged["events"])):
        print(f"  {kind:<32} {one['events'].get(kind, 0):6d} -> {ranged['events'].get(kind, 0):6d}")
    return 0 if one["success"] and ranged["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
