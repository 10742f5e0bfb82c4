"""Benchmark: one day partition with N recordings through the ingest job, sandbox concurrency limit 5.

The sandbox runs as a child process (its own interpreter, as in production the vendor is elsewhere); the pipeline
runs in this process exactly as `make demo` runs it. Prints wall time per stage, API calls by endpoint from the
sandbox's counters, the peak RSS of this process (the pipeline's, not the sandbox's), and the calls an immediate
re-run of the finished day makes (goal: none of any kind).

    .venv/bin/python bench/pipeline_partition.py --recordings 100

Measured 2026-12-03 at dc90204 (--recordings 100, beside a 10,000-recording ingest run): ingest run 165 s, the
immediate re-run 21.9 s with 0 API calls; one token (POST /symbl/oauth2/token:generate) over both runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convo_intel.demo import prepare_environment
from sandbox.demo_data import generate
from sandbox.server import free_port, sandbox_process

DAY = "2026-05-05"


def squash_to_one_day(drop: Path, day: str) -> int:
    """Move every manifest onto one day, keeping its time of day, so the corpus is a single partition."""
    n = 0
    for path in sorted((drop / "manifests").rglob("*.json")):
        doc = json.loads(path.read_text())
        doc["start_time"] = day + doc["start_time"][10:]
        path.write_text(json.dumps(doc, indent=2))
        n += 1
    return n


class RssByStep:
    """Samples this process's resident memory every 0.2 s; ``by_step`` attributes each sample to the step that
    was running then (from the run's STEP_START events), so the note can say which asset holds the memory."""

    def __init__(self) -> None:
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._samples.append((time.time(), _rss_mb()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def by_step(self, instance: Any, run_id: str) -> dict[str, tuple[float, float]]:
        starts = sorted(
            (e.timestamp, e.step_key)
            for e in instance.all_logs(run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_START"
        )
        out: dict[str, tuple[float, float]] = {}
        for at, mb in self._samples:
            step = "(before the first step)"
            for started, key in starts:
                if started <= at:
                    step = key
            first, high = out.get(step, (mb, mb))
            out[step] = (first, max(high, mb))
        return out


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--processing-factor", type=float, default=0.001)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-partition-"))
    drop = work / "drop"
    sandbox_env = {
        "SANDBOX_CONCURRENT_JOB_LIMIT": str(args.concurrency),
        "SANDBOX_PROCESSING_FACTOR": str(args.processing_factor),
        "SANDBOX_MEDIA_DIR": str((drop / "media").resolve()),
    }
    port = free_port()
    generate(
        out_dir=drop, seed=11, recordings=args.recordings, media_base_url=f"http://127.0.0.1:{port}/media"
    )
    with sandbox_process(work / "sandbox", port=port, env=sandbox_env) as base:
        n = squash_to_one_day(drop, DAY)
        prepare_environment(work, base)
        os.environ["SYMBL_CONCURRENT_JOBS"] = str(args.concurrency)

        import dagster as dg

        from orchestration.definitions import defs

        instance = dg.DagsterInstance.ephemeral()
        sampler = RssByStep()
        sampler.start()
        started = time.monotonic()
        result = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False
        )
        ingest = time.monotonic() - started
        sampler.stop()
        steps = sampler.by_step(instance, result.run_id)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        before_rerun = httpx.get(f"{base}/_sandbox/stats").json()["calls"]
        started = time.monotonic()
        rerun = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False
        )
        rerun_seconds = time.monotonic() - started
        after_rerun = httpx.get(f"{base}/_sandbox/stats").json()["calls"]
        rerun_calls = {
            k: v - before_rerun.get(k, 0) for k, v in after_rerun.items() if v != before_rerun.get(k, 0)
        }
        started = time.monotonic()
        build = defs.resolve_job_def("warehouse_build_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        warehouse = time.monotonic() - started
        calls = httpx.get(f"{base}/_sandbox/stats").json()["calls"]

    print(f"recordings: {n} on {DAY}, sandbox concurrent-job limit {args.concurrency}")
    print(
        f"ingest run: {ingest:.1f} s (success={result.success}); dbt build + publish: {warehouse:.1f} s "
        f"(success={build.success})"
    )
    print(f"peak RSS of the pipeline process after the ingest run: {peak_rss_mb:.0f} MB")
    print("resident memory by ingest step (MB at the step's start -> highest while it ran):")
    for step, (at_start, high) in steps.items():
        print(f"  {step:<24} {at_start:7.0f} -> {high:7.0f}")
    print(
        f"immediate re-run of the finished day: {rerun_seconds:.1f} s (success={rerun.success}), "
        f"{sum(rerun_calls.values())} API calls {rerun_calls or ''}"
    )
    print(f"load average: {os.getloadavg()}")
    print("API calls by endpoint (first run + re-run):")
    for route, count in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {count:6d}  {route}")
    print(f"  {sum(calls.values()):6d}  total")
    return 0 if result.success and build.success else 1


if __name__ == "__main__":
    sys.exit(main())
