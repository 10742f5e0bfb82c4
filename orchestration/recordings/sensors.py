"""The new-recordings sensor: manifests that arrive in the drop folder become runs of their day partitions.

One ``RunRequest`` per affected day, never per file: a day's run handles all its recordings concurrently, and a
run costs seconds of orchestration overhead. Run keys are derived from what arrived (the day and the sorted
recording ids), so a tick that is retried after a crash asks for the same keys and Dagster drops the repeats;
a new recording on a day that already ran gives a new key and a new run. The discovery logic and the cursor
format live in :mod:`orchestration.recordings.discovery`.
"""

import hashlib
import logging
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.partitions import recordings_daily_partition
from orchestration.recordings.discovery import Discovery, DiscoveryCursor, discover
from orchestration.recordings.resource import DropFolderResource

INGEST_JOB_NAME = "conversation_ingest_job"
SENSOR_TAG = "convo-intel/trigger"
ARRIVALS_TAG = "convo-intel/arrivals"


def run_key_for(day: date, arrivals: list[str]) -> str:
    """Deterministic per (day, what arrived): a retried tick repeats it, a later arrival changes it."""
    digest = hashlib.sha256("\n".join(sorted(arrivals)).encode()).hexdigest()[:16]
    return f"new-recordings:{day.isoformat()}:{digest}"


def run_requests_for(discovery: Discovery, log: logging.Logger | None = None) -> list[dg.RunRequest]:
    requests = []
    for day in sorted(discovery.days):
        arrivals = discovery.days[day]
        key = day.isoformat()
        if not recordings_daily_partition.has_partition_key(key):
            # Before the first partition, or a start time in the future: no partition to run (yet). The
            # catch-up schedule picks up a future day once it is today.
            if log is not None:
                log.warning(
                    f"{len(arrivals)} new manifest(s) dated {key}, which has no partition; not requested"
                )
            continue
        requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=run_key_for(day, arrivals),
                tags={SENSOR_TAG: "new_recordings_sensor", ARRIVALS_TAG: str(len(arrivals))},
            )
        )
    return requests


@dg.sensor(
    job_name=INGEST_JOB_NAME,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Requests one conversation_ingest_job run per day partition that received new recording manifests in "
        "the drop folder. Dedupes by recording id (a touched file or a copy never runs twice); a tick with "
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
        f"{discovery.examined} manifests stat'ed, {discovery.parsed} parsed, {len(requests)} day(s) requested, "
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
