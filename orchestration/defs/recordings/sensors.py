"""The new-recordings sensor: manifests that arrive in the drop folder become runs of their day partitions.

Never one run per file: a run handles all its recordings concurrently, and a run costs seconds of orchestration
overhead. A tick that finds one day asks for that day's partition; a tick that finds a backlog (the first tick over
a folder of history, or a sensor turned on after a pause) coalesces the days into ranged runs of at most
``MAX_DAYS_PER_RUN`` days (one single-run backfill each, as the ingest assets' backfill policy allows) instead of
one run per day: 48 days of history are 2 runs, not 48 queued behind the one-writer pool. Days without arrivals
inside a range re-run cheaply (the journal skips completed recordings). Run keys are derived from what arrived
(the days and the sorted recording ids), so a tick that is retried after a crash asks for the same keys and
Dagster drops the repeats; a new recording on a day that already ran gives a new key and a new run. The discovery
logic and the cursor format live in :mod:`orchestration.defs.recordings.discovery`.
"""

import hashlib
import logging
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.defs.recordings.discovery import Discovery, DiscoveryCursor, discover
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.jobs import conversation_ingest_job
from orchestration.partitions import recordings_daily_partition

SENSOR_TAG = "convo-intel/trigger"
ARRIVALS_TAG = "convo-intel/arrivals"
# Dagster's own tags for a run over a partition range (what a single-run backfill launches).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# A ranged run holds the one-writer pool for its whole range: a month keeps any one run to minutes at the demo's
# volume while a year of history is still only 12 runs.
MAX_DAYS_PER_RUN = 31


def run_key_for(first: date, last: date, arrivals: list[str]) -> str:
    """Deterministic per (days, what arrived): a retried tick repeats it, a later arrival changes it."""
    digest = hashlib.sha256("\n".join(sorted(arrivals)).encode()).hexdigest()[:16]
    days = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return f"new-recordings:{days}:{digest}"


def coalesce(days: list[date], max_days: int = MAX_DAYS_PER_RUN) -> list[tuple[date, date]]:
    """Sorted days -> [first, last] spans of at most ``max_days`` calendar days, each starting at a requested day."""
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and (day - spans[-1][0]).days < max_days:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def run_requests_for(discovery: Discovery, log: logging.Logger | None = None) -> list[dg.RunRequest]:
    runnable: list[date] = []
    for day in sorted(discovery.days):
        key = day.isoformat()
        if not recordings_daily_partition.has_partition_key(key):
            # Before the first partition, or a start time in the future: no partition to run (yet). The
            # catch-up schedule picks up a future day once it is today.
            if log is not None:
                log.warning(
                    f"{len(discovery.days[day])} new manifest(s) dated {key}, which has no partition; not requested"
                )
            continue
        runnable.append(day)
    requests = []
    for first, last in coalesce(runnable):
        arrivals = [rid for day in runnable if first <= day <= last for rid in discovery.days[day]]
        tags = {SENSOR_TAG: "new_recordings_sensor", ARRIVALS_TAG: str(len(arrivals))}
        run_key = run_key_for(first, last, arrivals)
        if first == last:
            requests.append(dg.RunRequest(partition_key=first.isoformat(), run_key=run_key, tags=tags))
        else:
            tags |= {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
            requests.append(dg.RunRequest(run_key=run_key, tags=tags))
    return requests


@dg.sensor(
    job=conversation_ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Requests conversation_ingest_job runs for the day partitions that received new recording manifests in "
        "the drop folder (a backlog of days coalesced into ranged runs of up to a month). Dedupes by recording "
        "id (a touched file or a copy never runs twice); a tick with "
        "nothing new only stats the manifests."
    ),
)
def new_recordings_sensor(
    context: dg.SensorEvaluationContext, drop_folder: DropFolderResource
) -> dg.SensorResult:
    started = time.perf_counter()
    previous = DiscoveryCursor.decode(context.cursor)
    discovery = discover(
        Path(drop_folder.root),
        previous,
        ZoneInfo(drop_folder.timezone),
        now_ns=time.time_ns(),
        policy=drop_folder.policy(),
    )
    for skipped in discovery.undated:
        context.log.warning(
            f"rejected {skipped.name}: {skipped.reason} (no start time, so no day to run; every ingest run "
            "records it in raw.recording_rejections)"
        )
    for skipped in discovery.out_of_window:
        context.log.warning(
            f"rejected {skipped.name}: {skipped.reason} (every ingest run records it in raw.recording_rejections)"
        )
    if discovery.duplicates:
        names = ", ".join(s.name for s in discovery.duplicates[:5])
        context.log.info(
            f"{len(discovery.duplicates)} manifest(s) with an already-seen recording id: {names}"
        )
    requests = run_requests_for(discovery, context.log)
    # Dagster stores the cursor with every tick: hand back the very same string when nothing moved.
    cursor = context.cursor if discovery.cursor is previous and context.cursor else discovery.cursor.encode()
    context.log.info(
        f"{discovery.examined} manifests stat'ed, {discovery.parsed} parsed, {len(discovery.days)} day(s) in "
        f"{len(requests)} run(s) requested, "
        f"{len(discovery.cursor.known_ids)} known recordings, cursor {len(cursor)} chars, "
        f"{time.perf_counter() - started:.3f} s"
    )
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    reason = (
        "no new manifests"
        if discovery.parsed == 0
        else f"{discovery.parsed} manifest(s) read, none to run (known recording ids, undated, or no partition)"
    )
    return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)
