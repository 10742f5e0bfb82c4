"""The inbox sensor: webhook events become drop-folder manifests and day-partition runs of the ingest job.

* A platform ``recording.completed`` event is written (atomically) as ``<drop>/manifests/webhook/<recording_id>.json``
  and its day partition is requested; the ``recordings`` asset validates it like any manifest.
* A Symbl callback with a terminal status (completed/failed) for a job in the job index (``register_job``) requests
  that recording's partition, so the run finds the job finished without waiting for it. Non-terminal callbacks only
  feed ``latest_job_status``. A terminal callback for an unregistered job stays pending for
  ``UNKNOWN_JOB_GRACE_SECONDS`` (the callback can beat the registration), then is set aside with a warning.
* One run per day partition per tick, never per event; duplicates within a tick collapse, and a terminal
  callback for a job whose run was already requested is dropped (``jobs/<job_id>.handled``).

Why a cursor, and why events move to ``done/`` one tick late: Dagster submits the returned run requests after the
evaluation function returns, and stores the tick's cursor together with the reserved runs. Moving events to
``done/`` inside the evaluation would lose them if the daemon died in between. So the cursor lists the events
handed to Dagster by this tick; the next tick, which only sees that cursor once Dagster committed the tick, moves
them to ``done/``. If a tick is lost, the next one handles the same events again with the same run keys (derived
from the content), and Dagster drops the repeats. The cursor holds one tick's names (at most MAX_EVENTS_PER_TICK).
"""

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.defs.recordings.manifest import ManifestError, parse_manifest
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.source import MANIFESTS_DIR
from orchestration.defs.webhooks import inbox
from orchestration.defs.webhooks.events import check_recording
from orchestration.defs.webhooks.inbox import Event
from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.jobs import conversation_ingest_job
from orchestration.partitions import recordings_daily_partition

WEBHOOK_MANIFESTS_DIR = "webhook"
MAX_EVENTS_PER_TICK = 500
UNKNOWN_JOB_GRACE_SECONDS = 3600
RETENTION_SECONDS = 7 * 24 * 3600
CURSOR_VERSION = 1
TRIGGER_TAG = "convo-intel/trigger"
EVENTS_TAG = "convo-intel/inbox-events"


@dataclass
class InboxCursor:
    """Events handed to Dagster by the previous tick, and the Symbl jobs whose runs it requested."""

    handed_off: list[str] = field(default_factory=list)
    requested_jobs: list[str] = field(default_factory=list)

    def encode(self) -> str:
        doc = {"v": CURSOR_VERSION, "handed_off": self.handed_off, "requested_jobs": self.requested_jobs}
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> "InboxCursor":
        if not cursor:
            return cls()
        doc = json.loads(cursor)
        if doc.get("v") != CURSOR_VERSION:
            raise ValueError(f"inbox sensor cursor version {doc.get('v')!r}; reset the sensor's cursor")
        return cls(list(doc["handed_off"]), list(doc["requested_jobs"]))


@dataclass
class TickPlan:
    """What one tick decided: per day, what arrived for it (for the run key); what to hand to Dagster."""

    days: dict[date, list[str]] = field(default_factory=dict)
    cursor: InboxCursor = field(default_factory=InboxCursor)
    outside_partitions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def manifest_path(drop_root: Path, recording_id: str) -> Path:
    return drop_root / MANIFESTS_DIR / WEBHOOK_MANIFESTS_DIR / f"{recording_id}.json"


def write_manifest(drop_root: Path, recording: dict[str, Any]) -> tuple[Path, str]:
    """Write the event's manifest atomically (unchanged content is not rewritten); returns path and sha256."""
    data = (json.dumps(recording, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    path = manifest_path(drop_root, recording["recording_id"])
    try:
        unchanged = path.read_bytes() == data
    except FileNotFoundError:
        unchanged = False
    if not unchanged:  # a rewrite would look like a new arrival to the new-recordings sensor
        inbox.atomic_write(path, data)
    return path, hashlib.sha256(data).hexdigest()


def finish_previous_tick(inbox_dir: Path, previous: InboxCursor) -> None:
    """The previous tick's runs are committed: remember its jobs as handled, then move its events to done/."""
    for job_id in previous.requested_jobs:
        inbox.mark_job_handled(inbox_dir, job_id, "requested")
    pending = inbox_dir / inbox.PENDING
    for name in previous.handed_off:
        path = pending / name
        if path.exists():
            inbox.mark_done(inbox.read_event(path))


def plan_tick(
    events: list[Event], inbox_dir: Path, drop_root: Path, timezone: ZoneInfo, now: float
) -> TickPlan:
    plan = TickPlan()
    jobs_this_tick: set[str] = set()

    def request(day: date, item: str) -> None:
        plan.days.setdefault(day, []).append(item)

    def handle(event: Event) -> None:
        if event.kind == inbox.PLATFORM_RECORDING:
            recording = event.payload["recording"]
            check_recording(recording)  # the id becomes a file name: never trust a file in pending/ blindly
            path, sha = write_manifest(drop_root, recording)
            try:
                manifest = parse_manifest(path, drop_root)
                day = manifest.partition_date(timezone)
            except ManifestError as exc:
                # The recordings asset records the rejection with this reason; the day still runs so it does.
                plan.notes.append(f"manifest {path.name} will be rejected: {exc.reason}")
                day = datetime.fromisoformat(recording["start_time"]).astimezone(timezone).date()
            request(day, f"recording:{recording['recording_id']}:{sha[:12]}")
            plan.cursor.handed_off.append(event.name)
            return
        job_id, status = event.payload["job_id"], event.payload["status"]
        if status not in inbox.TERMINAL_JOB_STATUSES:
            plan.cursor.handed_off.append(event.name)  # kept in done/ for latest_job_status()
            return
        if job_id in jobs_this_tick or inbox.job_handled(inbox_dir, job_id):
            plan.cursor.handed_off.append(event.name)  # a repeated delivery: its run is already requested
            return
        ref = inbox.lookup_job(inbox_dir, job_id)
        if ref is None:
            if now - event.arrived_ns / 1e9 < UNKNOWN_JOB_GRACE_SECONDS:
                return  # the submit that registers it may still be in flight: look again next tick
            plan.notes.append(f"callback for job {job_id} that was never registered; set aside")
            plan.cursor.handed_off.append(event.name)
            return
        jobs_this_tick.add(job_id)
        request(ref.partition_date, f"job:{job_id}:{status}")
        plan.cursor.handed_off.append(event.name)
        plan.cursor.requested_jobs.append(job_id)

    for event in events:
        try:
            if event.error is not None:
                raise ValueError(event.error)
            handle(event)
        except (KeyError, TypeError, ValueError) as exc:
            # Only a file put into pending/ by hand can get here (the receiver validates what it writes). No run
            # depends on it, so it moves to failed/ at once instead of blocking every later tick.
            inbox.mark_failed(event, f"unusable event: {exc!r}")
            plan.notes.append(f"{event.name}: unusable event ({exc!r}); moved to failed/")
    return plan


def run_requests_for(plan: TickPlan) -> list[dg.RunRequest]:
    requests = []
    for day in sorted(plan.days):
        items = sorted(set(plan.days[day]))
        key = day.isoformat()
        if not recordings_daily_partition.has_partition_key(key):
            # Before the first partition or in the future: the manifest is in the drop folder, and the catch-up
            # schedule runs the day once it exists.
            plan.outside_partitions.append(key)
            continue
        digest = hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=f"inbox:{key}:{digest}",
                tags={TRIGGER_TAG: "inbox_sensor", EVENTS_TAG: str(len(items))},
            )
        )
    return requests


@dg.sensor(
    job=conversation_ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Reads the webhook inbox: recording-platform events become manifests in the drop folder, and Symbl "
        "callbacks that finish a registered job request that recording's day partition. One run per day per tick."
    ),
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, webhook_inbox: WebhookInboxResource, drop_folder: DropFolderResource
) -> dg.SensorResult:
    started = time.perf_counter()
    inbox_dir, drop_root = webhook_inbox.path, Path(drop_folder.root)
    previous = InboxCursor.decode(context.cursor)
    finish_previous_tick(inbox_dir, previous)
    events = inbox.pending_events(inbox_dir, limit=MAX_EVENTS_PER_TICK)
    plan = plan_tick(events, inbox_dir, drop_root, ZoneInfo(drop_folder.timezone), time.time())
    requests = run_requests_for(plan)
    for note in plan.notes:
        context.log.warning(note)
    if plan.outside_partitions:
        context.log.warning(f"no partition (yet) for {', '.join(plan.outside_partitions)}; not requested")
    pruned = inbox.prune(inbox_dir, RETENTION_SECONDS)
    context.log.info(
        f"{len(events)} pending event(s), {len(plan.cursor.handed_off)} handled, {len(requests)} run(s) "
        f"requested, {len(previous.handed_off)} moved to done/, {pruned} pruned, "
        f"{time.perf_counter() - started:.3f} s"
    )
    cursor = plan.cursor.encode()
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    reason = "inbox empty" if not events else f"{len(events)} event(s), no run needed"
    return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)
