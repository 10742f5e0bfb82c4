"""Peak resident memory of one ingest run at N recordings, and where (which step) it is reached.

The goal (issue 12, flat memory): the peak RSS of an ingest run at 10,000 recordings within 1.3x of that at 100.
The sandbox runs as a child process (its memory is not counted); the pipeline runs `conversation_ingest_job` for
one day partition holding all N recordings, in this process, as `make demo` runs it. Nothing else runs (no re-run,
no dbt build), so the figure is the ingest run's own.

Resident memory (VmRSS) is sampled every 50 ms and attributed to the step running then (from the run's STEP_START
events); per step it prints RSS at the step's start, its highest while the step ran, and the highest bytes held by
Arrow's memory pool. The peak is the kernel's high-water mark (VmHWM), which no sampling can miss, reset when the
run starts: generating the corpus beforehand (all N transcripts, in this process) is setup, printed apart.

    .venv/bin/python bench/ingest_memory.py --recordings 100
    MALLOC_ARENA_MAX=2 .venv/bin/python bench/ingest_memory.py --recordings 1000   # allocator experiments

Each figure is one process: run the sizes as separate commands (a second run in one process starts from the
first one's high-water mark). The work folder (corpus, sandbox state, warehouse) is kept and printed; to measure
one step again on it without resubmitting anything, give it with ``--work`` and name the step with ``--asset``
(a signal asset then refetches every answer, ``refresh``; ``--source raw`` re-derives from the stored answers):

    .venv/bin/python bench/ingest_memory.py --work /tmp/bench-memory-XXXX --asset symbl_messages
    .venv/bin/python bench/ingest_memory.py --work /tmp/bench-memory-XXXX --asset symbl_messages \
        --trace-connections 40 2>&1 | grep -F '[trace]'     # which DuckDB operation makes the peak

Measured 2026-12-02 before raw.symbl_responses was stored in parts (2 shared cores, load 4-12): peak 576 MB at 100
recordings, 1,110 MB at 1,000 (concurrency 25), each peak the close of a connection (DuckDB's checkpoint) after
raw.symbl_responses gained rows holding the ~300 KB verbatim transcripts (bench/duckdb_checkpoint_memory.py).
With the answers stored in 4,000-byte parts and 2,048-row groups (same day, --concurrency 25): 540 MB at 100,
710 MB at 1,000 (1.31x); symbl_messages still grows from 504 to 704 MB between the two sizes.
Measured 2026-12-03 at a6fe434's parent (DuckDB memory_limit 128MB, the recordings scan, speaker events and Nebula
summaries in batches; --concurrency 25): 592 MB at 100 (load 4-5), 710 MB at 2,000 (1.20x; load 2.5-7, beside
a CI run), the peak in symbl_messages at both sizes. At 10,000 (a6fe434, load 1.5-4) the whole run does not fit
a session here (about 3 hours): the run up to and through symbl_conversations peaked at 698 MB (then killed in
symbl_speaker_events, flat at 571 MB), and symbl_messages alone on its work folder (--work ... --asset
symbl_messages) at 744 MB, against 600 MB at 100 and 708 MB at 2,000 measured the same way (1.24x from 100).

Measured 2026-12-03 at dc90204 (sandbox caches; bench/scale_report.py --only memory-N; 100 and 2,000 beside the
10,000 run, 2,000 at nice 19; load 1.5-7): 573 MB at 100, 678 MB at 2,000 (1.18x; symbl_messages 503 -> 674).
At 10,000 the run went through symbl_conversations (1 h 51 min, sandbox-bound at ~1.6 recordings/s), speaker
events (19 min 29 s, 4,167 conversations), symbl_action_items (5 min 34 s) and symbl_analytics (4 min 58 s) and
symbl_entities and symbl_follow_ups (~5 min each; all under 727 MB), and was in symbl_messages when the session
ended: VmHWM 750 MB there (1.31x of 100, over the goal), the signal steps' highs growing with the day (514 MB at
100, 626 at 2,000, ~727 at 10,000).
100, 626 at 2,000, ~727 at 10,000).

Measured 2026-12-06 (2 shared cores; --concurrency 25, the sandbox with 2 analysis processes):
* 100 at 10cbeaa (load 1.6-2.8): 536 MB (was 570 before the fixed mmap threshold); at e81d751 526 MB (load 2.5).
* 2,000 at e81d751 (load 3-3.6, beside a CI run): 619 MB = 1.18x of 526, 984 s (symbl_messages 459 -> 615).
* 10,000 at f6a5e5a (the corpus generated in a child; load 1.2-5, beside a CI run for 15 of its 81 minutes): the
  whole run for the first time in one session, 4,872 s (symbl_conversations 29 min, was 1 h 51 min with the
  analysis on the sandbox's own threads): peak 745 MB = 1.39x of 536 (1.42x of 526), over the 1.3x goal.
  Highs: recordings 583 (Arrow 46 MB: fixed after, in 99b626b, 525 MB on the same corpus alone),
  symbl_conversations 632, signal steps 651-691 (symbl_messages), nebula_summaries 730, semarize_bricks 715;
  the steps start higher as the run goes on (515 MB at symbl_conversations, 615 at semarize_bricks).
* Where the rest is: DuckDB's buffer pool. At 100 the file (17 MB) never fills the 128MB cap; at 10,000 (1.6 GB)
  every step that scans the window fills it. nebula_summaries alone on the 10,000 folder: 544 MB at 128MB, 475 MB
  at CONVO_INTEL_DUCKDB_MEMORY_LIMIT=64MB. 64MB is not the default: one batch of 25 verbose transcripts
  pins ~30 MB (symbl_messages fails with DuckDB's out-of-memory error at 32MB, at 100 recordings as at 1,000),
  and 128MB leaves room for calls four times as long.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from bench.pipeline_partition import DAY, squash_to_one_day
from convo_intel.demo import prepare_environment
from orchestration.defs.warehouse.duckdb_store import memory_limit
from sandbox.demo_data import generate
from sandbox.server import free_port, sandbox_process


def status_mb(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM, ...) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """VmRSS and Arrow's allocated bytes every ``interval`` seconds, on a daemon thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.samples: list[tuple[float, float, float]] = []
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.samples.append((time.time(), status_mb("VmRSS"), pa.total_allocated_bytes() / 2**20))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def by_step(self, instance: Any, run_id: str) -> list[tuple[str, float, float, float, float]]:
        """(step, seconds, RSS at start, highest RSS, highest Arrow MB) in the order the steps started."""
        starts = sorted(
            (e.timestamp, e.step_key)
            for e in instance.all_logs(run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_START"
        )
        out: dict[str, list[float]] = {}
        for at, rss, arrow in self.samples:
            step = "(before the first step)"
            for started, key in starts:
                if started <= at:
                    step = key
            first = out.setdefault(step, [at, at, rss, rss, arrow])
            first[1] = at
            first[3] = max(first[3], rss)
            first[4] = max(first[4], arrow)
        return [(step, v[1] - v[0], v[2], v[3], v[4]) for step, v in out.items()]


class _TracedConnection:
    """A DuckDB connection whose statements and close report their own memory peak (VmHWM reset before each),
    printed when it is more than ``threshold`` MB above the RSS the operation started from."""

    def __init__(self, con: Any, threshold: float) -> None:
        self._con = con
        self._threshold = threshold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def _measured(self, label: str, call: Any, *args: Any) -> Any:
        before = status_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        started = time.monotonic()
        out = call(*args)
        peak = status_mb("VmHWM")
        if peak - before > self._threshold:
            print(
                f"  [trace] {label[:60]:<60} RSS {before:5.0f} -> peak {peak:5.0f} MB "
                f"({time.monotonic() - started:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
        return out

    def execute(self, sql: str, *args: Any) -> Any:
        return self._measured(" ".join(sql.split()), self._con.execute, sql, *args)

    def close(self) -> None:
        self._measured("close (checkpoint)", self._con.close)


def trace_connections(threshold: float) -> None:
    """Every connection the pipeline opens reports the statements (and closes) that raise memory the most."""
    import duckdb

    from orchestration.defs.warehouse import duckdb_store

    class _Module:  # duckdb as duckdb_store sees it, with connect wrapped
        def __getattr__(self, name: str) -> Any:
            return getattr(duckdb, name)

        @staticmethod
        def connect(*args: Any, **kwargs: Any) -> _TracedConnection:
            return _TracedConnection(duckdb.connect(*args, **kwargs), threshold)

    duckdb_store.duckdb = _Module()  # type: ignore[assignment]


def make_corpus(drop: Path, recordings: int, media_base_url: str) -> None:
    """The day's corpus, in a child process: generating 10,000 transcripts here would leave this process's heap
    larger than the run itself needs (freed, but kept by the allocator), and that would count as the run's."""
    generate(out_dir=drop, seed=11, recordings=recordings, media_base_url=media_base_url)
    squash_to_one_day(drop, DAY)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recordings", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--processing-factor", type=float, default=0.001)
    parser.add_argument(
        "--analysis-processes",
        type=int,
        default=2,
        help="the sandbox's analysis workers (SANDBOX_ANALYSIS_PROCESSES): one process alone was CPU-bound at "
        "~1.6 finished jobs a second, 1 h 51 min of a 10,000-recording run",
    )
    parser.add_argument("--work", type=Path, help="a kept work folder: re-run --asset on it")
    parser.add_argument("--asset", action="append", default=[], help="with --work: the asset(s) to run")
    parser.add_argument("--source", choices=("api", "raw"), default="api", help="signal assets' source")
    parser.add_argument(
        "--trace-connections",
        type=float,
        metavar="MB",
        help="print (stderr) each DuckDB statement or close whose peak is more than MB above its start",
    )
    args = parser.parse_args()
    if args.trace_connections is not None:
        trace_connections(args.trace_connections)

    reuse = args.work is not None
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    drop = work / "drop"
    sandbox_env = {
        "SANDBOX_CONCURRENT_JOB_LIMIT": str(args.concurrency),
        "SANDBOX_PROCESSING_FACTOR": str(args.processing_factor),
        "SANDBOX_ANALYSIS_PROCESSES": str(args.analysis_processes),
        "SANDBOX_MEDIA_DIR": str((drop / "media").resolve()),
    }
    if reuse:
        port = int((work / "port").read_text())
    else:
        port = free_port()
        (work / "port").write_text(str(port))  # the manifests' media URLs name it
        corpus = multiprocessing.get_context("spawn").Process(
            target=make_corpus, args=(drop, args.recordings, f"http://127.0.0.1:{port}/media")
        )
        corpus.start()
        corpus.join()
        if corpus.exitcode != 0:
            raise SystemExit(f"generating the corpus failed (exit code {corpus.exitcode})")
    with sandbox_process(work / "sandbox", port=port, env=sandbox_env) as base:
        n = len(list((drop / "manifests").rglob("*.json")))
        prepare_environment(work, base)
        os.environ["SYMBL_CONCURRENT_JOBS"] = str(args.concurrency)

        import dagster as dg

        from orchestration.definitions import defs

        instance = dg.DagsterInstance.ephemeral()
        setup_peak = status_mb("VmHWM")  # imports and the sandbox's start are not the run's
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here on: the run's own peak
        before = status_mb("VmRSS")
        started = time.monotonic()
        job = defs.resolve_job_def("conversation_ingest_job")
        selection = [dg.AssetKey(a) for a in args.asset] if reuse else None
        signal_config = {"config": {"source": args.source, "refresh": args.source == "api"}}
        run_config = (
            {"ops": {a: signal_config for a in args.asset if a.startswith("symbl_")}} if reuse else {}
        )
        with Sampler() as sampler:
            result = job.execute_in_process(
                partition_key=DAY,
                instance=instance,
                raise_on_error=False,
                asset_selection=selection,
                run_config=run_config,
            )
        seconds = time.monotonic() - started
        peak = status_mb("VmHWM")
        after = status_mb("VmRSS")
        steps = sampler.by_step(instance, result.run_id)

    what = f"assets {', '.join(args.asset)} (source {args.source})" if reuse else "ingest run"
    print(f"work folder {work}; recordings: {n} on {DAY}; {what} {seconds:.0f} s, success={result.success}")
    print(
        f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '(unset)')}, "
        f"Arrow pool {pa.default_memory_pool().backend_name}, "
        f"DuckDB memory_limit {memory_limit()}"
    )
    traced = " (reset by --trace-connections: read the by-step highs)" if args.trace_connections else ""
    print(
        f"RSS before the run {before:.0f} MB, after {after:.0f} MB; peak (VmHWM) {peak:.0f} MB{traced} "
        f"(setup before the run, not counted: {setup_peak:.0f} MB)"
    )
    print("by step: seconds, RSS at start -> highest while it ran (MB), highest Arrow pool (MB)")
    for step, secs, at_start, high, arrow in steps:
        print(f"  {step:<48} {secs:6.1f} s {at_start:7.0f} -> {high:7.0f}   arrow {arrow:6.1f}")
    print(f"load average: {os.getloadavg()}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
