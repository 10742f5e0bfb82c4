"""`failed_recordings_retry_schedule`: days with failed (or interrupted) submissions are re-run, in any past day.

The catch-up schedule only re-runs today and yesterday; a job that failed last week would stay failed until someone
re-ran that day. This schedule reads the submission journal (SQLite beside the warehouse: it never touches the
DuckDB file or its lock) for days holding a recording that is failed under the attempt cap, or whose submit was
interrupted (intent/uncertain: reconciled against Symbl by the run), and requests that day's ingest run. The attempt
cap bounds it: a recording that failed ``max_attempts`` times is left failed (visible in the checks).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg

from orchestration.defs.symbl.journal import AMBIGUOUS_STATES, journal_path_for
from orchestration.defs.warehouse.duckdb_store import default_warehouse_path
from orchestration.jobs import conversation_ingest_job, day_runs
from orchestration.partitions import PARTITIONS_TIMEZONE, recordings_daily_partition

MAX_ATTEMPTS = 3  # the default of SymblConversationsConfig.max_attempts


def retryable_days(journal_path: str, max_attempts: int = MAX_ATTEMPTS) -> list[str]:
    if not Path(journal_path).exists():
        return []
    con = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=30)
    try:
        marks = ",".join("?" * len(AMBIGUOUS_STATES))
        rows = con.execute(
            "SELECT DISTINCT partition_date FROM submissions "
            f"WHERE (state = 'failed' AND attempts < ?) OR state IN ({marks}) ORDER BY 1",
            (max_attempts, *AMBIGUOUS_STATES),
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows if recordings_daily_partition.has_partition_key(r[0])]


@dg.schedule(
    cron_schedule="50 3 * * *",
    job=conversation_ingest_job,
    execution_timezone=PARTITIONS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Daily at 03:50: re-runs every past day that holds a failed recording under the attempt cap, or an "
        "interrupted submit, so failures are retried without a person (bounded by max_attempts)."
    ),
)
def failed_recordings_retry_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    days = retryable_days(journal_path_for(default_warehouse_path()))
    if not days:
        return dg.SkipReason("no failed or interrupted recordings under the attempt cap")
    tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M%z")
    return day_runs(days, "failed_recordings_retry_schedule", "retry-failed", tick)
