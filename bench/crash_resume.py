"""Crash-resume harness: kill -9 an ingest run at a random moment, recover as a user would, count what went wrong.

Each trial gets a fresh sandbox, drop folder (one day of ``--recordings`` calls), warehouse and Dagster instance
(``duckdb_writer`` pool limited to 1, as deployed). The run is a child process; it is sent SIGKILL at a uniformly
random moment of a clean run's duration (or, with ``--point``, exactly at a named point of the submit path, via the
test-only crash hook). Recovery is what happens without a person: one tick of ``dead_run_reaper`` (the daemon runs
it every 30 s), then the day is run again, as a sensor, a schedule or a user would.

Reported per trial and in total:
- manual steps: a re-run that did not finish on its own within ``--rerun-timeout`` (e.g. queued behind a dead run's
  pool slot) or failed, so that someone would have had to act (the harness then frees the slots and re-runs);
- duplicate submissions: Symbl jobs beyond one per recording (the sandbox's own job count);
- tables differing from a clean run: raw tables compared row by row, without ids and timestamps Symbl and the clock
  assign afresh (conversation/job/message ids, *_at columns, verbatim JSON bodies).

    .venv/bin/python bench/crash_resume.py --trials 10 --recordings 20
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import processes
from tests.e2e.processes import Deployment

DAY = "2026-11-03"
POINTS = ("after_intent", "after_answer", "after_journal", "after_wait")
VOLATILE_SUFFIXES = ("_at", "_ms")
VOLATILE = {
    "conversation_id",
    "job_id",
    "message_id",
    "topic_id",
    "action_item_id",
    "question_id",
    "follow_up_id",
    "member_id",
    "summary_id",
    "entity_key",
    "hit_key",
    "run_id",
    "idempotency_key",
    "kit_version_id",
    "message_ids",
    "body",
    "source_file",
    "error_message",
}
# Per table: values the sandbox derives from the conversation id or from the submit's clock (a media submit's
# conversation starts when it is submitted), which differ between two identical runs.
VOLATILE_BY_TABLE = {
    "symbl_messages": {"speaker_id", "start_time", "end_time"},
    "symbl_tracker_hits": {"ref_id"},
}


Contents = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def table_contents(warehouse: Path, root: Path) -> Contents:
    """Every raw table as (columns, sorted rows), without what differs between identical runs (ids, clocks, and
    the trial's own folder inside file paths)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
        ).fetchall()]  # fmt: skip
        out = {}
        for table in tables:
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            keep = [
                c
                for c, t in cols
                if c not in VOLATILE | VOLATILE_BY_TABLE.get(table, set())
                and not c.endswith(VOLATILE_SUFFIXES)
                and t.upper() != "JSON"
            ]
            if not keep:
                continue
            select = ", ".join(f"replace(CAST(\"{c}\" AS VARCHAR), ?, '<root>')" for c in keep)
            rows = con.execute(f"SELECT {select} FROM raw.{table}", [str(root)] * len(keep)).fetchall()
            out[table] = (keep, sorted(rows, key=lambda r: tuple(map(str, r))))
        return out
    finally:
        con.close()


def sandbox(root: Path, processing_factor: float) -> ServedApp:
    config = SandboxConfig(
        data_dir=root / "sandbox",
        processing_factor=processing_factor,
        min_processing_seconds=0.05,
        queue_delay_seconds=0.02,
    )
    return ServedApp(build_app(config)).start()


def first_difference(table: str, reference: Contents, got: Contents) -> str:
    if table not in reference or table not in got:
        return f"{table}: missing"
    cols, want = reference[table]
    _, have = got[table]
    if len(want) != len(have):
        return f"{table}: {len(have)} rows, clean run {len(want)}"
    for a, b in zip(want, have, strict=True):
        if a != b:
            diff = [f"{c}={y!r} (clean {x!r})" for c, x, y in zip(cols, a, b, strict=True) if x != y]
            return f"{table}: " + "; ".join(diff)[:300]
    return f"{table}: ?"


def clean_run(root: Path, n: int, processing_factor: float) -> tuple[Contents, float]:
    served = sandbox(root, processing_factor)
    try:
        dep = Deployment(root, served.base_url, pool_limit=1)
        processes.write_day(dep.drop, DAY, n)
        started = time.monotonic()
        code, err = dep.run(DAY)
        seconds = time.monotonic() - started
        if code != 0:
            raise SystemExit(f"clean run failed:\n{err[-3000:]}")
        return table_contents(dep.warehouse, root), seconds
    finally:
        served.stop()


def journal_states(dep: Deployment) -> str:
    """Where the killed run was: its recordings' states in the submission journal (e.g. completed=5 submitted=3)."""
    path = dep.warehouse.with_name(dep.warehouse.stem + ".journal.sqlite3")
    if not path.exists():
        return ""
    con = sqlite3.connect(str(path))
    try:
        rows = con.execute("SELECT state, count(*) FROM submissions GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    return " ".join(f"{state}={n}" for state, n in rows)


def reap(dep: Deployment) -> list[str]:
    """One tick of the reaper sensor, against this trial's instance (what the daemon does on its own)."""
    import os

    import dagster as dg

    from orchestration.defs.operations.run_reaper import reap_dead_runs

    os.environ["DAGSTER_HOME"] = str(dep.home)
    with dg.DagsterInstance.get() as instance:
        return reap_dead_runs(instance)


def free_all_slots(dep: Deployment) -> None:
    """The manual step an operator would take (``dagster instance concurrency`` / the UI's "free slots")."""
    import os

    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dep.home)
    with dg.DagsterInstance.get() as instance:
        for run_id in instance.event_log_storage.get_concurrency_run_ids():
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def trial(
    index: int,
    root: Path,
    args: argparse.Namespace,
    reference: Contents,
    clean_seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    served = sandbox(root, args.processing_factor)
    try:
        dep = Deployment(root, served.base_url, pool_limit=1)
        processes.write_day(dep.drop, DAY, args.recordings)
        extra = {}
        if args.point:
            point = args.point if args.point != "any" else rng.choice(POINTS)
            extra["CONVO_INTEL_TEST_CRASH_AT"] = f"{point}:{rng.randint(1, args.recordings)}"
            kill_at = None
            how = extra["CONVO_INTEL_TEST_CRASH_AT"]
        else:
            kill_at = rng.uniform(0.25, 1.0) * clean_seconds
            how = f"SIGKILL at {kill_at:.1f} s"
        proc = dep.start(DAY, **extra)
        if kill_at is not None:
            try:
                proc.wait(timeout=kill_at)
            except Exception:
                proc.kill()  # SIGKILL: no handler, no finally, no flush
        proc.communicate()
        killed = proc.returncode in (-9, 137)
        at_kill = journal_states(dep)
        reaped = [] if args.no_reaper else reap(dep)
        manual = 0
        for _ in range(3):
            rerun = dep.start(DAY)
            try:
                _, err = rerun.communicate(timeout=args.rerun_timeout)
            except Exception:
                rerun.kill()
                rerun.communicate()
                manual += 1
                if not args.no_reaper:
                    reap(dep)
                free_all_slots(dep)
                continue
            if rerun.returncode == 0:
                break
            manual += 1
            print(f"  trial {index}: re-run failed:\n{err[-1500:]}", file=sys.stderr)
        jobs = processes.jobs_total(served.base_url)
        submits = processes.submit_requests(processes.stats(served.base_url)["calls"])
        contents = table_contents(dep.warehouse, root)
        differing = sorted(t for t in set(reference) | set(contents) if reference.get(t) != contents.get(t))
        for table in differing:
            print(f"  trial {index}: {first_difference(table, reference, contents)}", file=sys.stderr)
        return {
            "trial": index,
            "kill": how,
            "killed": killed,
            "at_kill": at_kill,
            "reaped": len(reaped),
            "manual_steps": manual,
            "duplicate_jobs": max(0, jobs - args.recordings),
            "submit_requests": submits,
            "tables_differing": differing,
        }
    finally:
        served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--recordings", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--processing-factor", type=float, default=0.01, help="sandbox seconds per media second"
    )
    parser.add_argument("--rerun-timeout", type=float, default=180.0)
    parser.add_argument(
        "--point",
        choices=(*POINTS, "any"),
        default=None,
        help="crash at a named point instead of a random time",
    )
    parser.add_argument(
        "--no-reaper",
        action="store_true",
        help="control: recover without dead_run_reaper (shows the manual steps)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="crash-resume-") as tmp:
        base = Path(tmp)
        reference, clean_seconds = clean_run(base / "clean", args.recordings, args.processing_factor)
        rows = sum(len(rows) for _, rows in reference.values())
        print(f"clean run: {clean_seconds:.1f} s, {rows} rows in {len(reference)} tables")
        results = []
        for i in range(1, args.trials + 1):
            result = trial(i, base / f"trial-{i}", args, reference, clean_seconds, rng)
            results.append(result)
            print(
                f"trial {i:2d}: {result['kill']:<24} killed={result['killed']!s:<5} journal at kill: "
                f"{result['at_kill'] or 'none'}; reaped={result['reaped']} "
                f"manual={result['manual_steps']} duplicates={result['duplicate_jobs']} "
                f"submits={result['submit_requests']} differing={result['tables_differing'] or 0}",
                flush=True,
            )
    print(
        f"\ntrials {len(results)} (killed mid-run: {sum(r['killed'] for r in results)}), "
        f"recordings per day {args.recordings}\n"
        f"manual steps needed: {sum(r['manual_steps'] for r in results)}\n"
        f"duplicate submissions: {sum(r['duplicate_jobs'] for r in results)}\n"
        f"tables differing from a clean run: {sum(len(r['tables_differing']) for r in results)}"
    )


if __name__ == "__main__":
    main()
