"""Live calls in the pipeline: the ``live_call_events`` asset, its job and the sensor that runs it.

Live calls write only files (``eventlog.py``); this asset is the single place they reach the warehouse, inside
the one-writer pool like every other writer. Each run:

1. lands the event-log records not landed yet into ``raw.live_call_events`` (per call: rows after the highest
   ``seq`` already landed; a re-run deletes and re-inserts that tail, so it never duplicates);
2. for each finished call (its summary exists) upserts ``raw.live_calls``, and hands it over to the batch
   path once (``landing.write_handover_manifest``): ledger row first when the live conversation is the record,
   then the recording and its manifest in the drop folder, where ``new_recordings_sensor`` finds it;
3. marks a superseded call with the Async API conversation that replaced it, once the ledger has it.

(No ``from __future__ import annotations`` here: Dagster reads the ``context`` annotation at definition time.)
"""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field

from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.streaming import landing
from orchestration.defs.streaming.calls import DEFAULT_LIVE_DIR
from orchestration.defs.symbl import ledger
from orchestration.defs.symbl.journal import Journal, journal_path_for
from orchestration.defs.symbl.ledger import LedgerEntry
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import PARTITIONS_TIMEZONE, WAREHOUSE_WRITER_POOL
from orchestration.settings import LiveCallsSettings, SettingsResource

LIVE_DIR_ENV = "CONVO_INTEL_LIVE_DIR"


class LiveCallsResource(SettingsResource):
    """Where live calls keep their event logs, recordings and summaries (shared with the live processes)."""

    settings_section = LiveCallsSettings

    live_dir: str = Field(
        default=DEFAULT_LIVE_DIR,
        description=f"Live-call directory (default: ${LIVE_DIR_ENV}, else {DEFAULT_LIVE_DIR}).",
    )

    @property
    def path(self) -> Path:
        return Path(self.live_dir)


def _landed(warehouse: WarehouseResource) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    seqs = {
        r["call_id"]: int(r["seq"])
        for r in warehouse.query("SELECT call_id, max(seq) AS seq FROM raw.live_call_events GROUP BY call_id")
    }
    calls = {r["call_id"]: r for r in warehouse.query("SELECT * FROM raw.live_calls")}
    return seqs, calls


_LIVE_LANDING = (
    "Landed from the live calls' (Symbl Streaming API) fsync'ed event logs in one step with raw.{other}; finished "
    "calls enter the conversation-id ledger and the drop folder, so the batch path fetches their signals without "
    "resubmitting (or, when the stream lost audio, submits the recording)."
)


@dg.multi_asset(
    name="live_call_events",
    specs=[
        dg.AssetSpec(
            "live_call_events",
            group_name="streaming",
            kinds={"python", "duckdb"},
            description="One row per live event item. " + _LIVE_LANDING.format(other="live_calls"),
        ),
        dg.AssetSpec(
            "live_calls",
            group_name="streaming",
            kinds={"python", "duckdb"},
            description="One row per finished live call. " + _LIVE_LANDING.format(other="live_call_events"),
        ),
    ],
    pool=WAREHOUSE_WRITER_POOL,
)
def live_call_events(
    context: AssetExecutionContext,
    live_calls: LiveCallsResource,
    warehouse: WarehouseResource,
    drop_folder: DropFolderResource,
) -> Iterator[dg.MaterializeResult]:
    timezone = ZoneInfo(PARTITIONS_TIMEZONE)
    seqs, known = _landed(warehouse)
    summaries = landing.call_summaries(live_calls.path)
    landed_rows = handed_over = superseded = 0
    for call_id, path in landing.event_files(live_calls.path).items():
        summary = summaries.get(call_id, {})
        manifest = summary.get("manifest") or {}
        partition = landing.partition_date_of(manifest, path.stat().st_mtime, timezone)
        after = seqs.get(call_id, 0)
        conversation_id = (known.get(call_id) or {}).get("conversation_id") or summary.get("conversation_id")
        rows, _ = landing.event_rows(path, partition, after, conversation_id)
        if rows:
            with warehouse.writer() as writer:
                landed_rows += writer.replace_rows(
                    "live_call_events", "call_id = ? AND seq > ?", [call_id, after], rows
                )
        if not summary:
            continue  # still live: only its events so far
        row = {**landing.call_row(call_id, summary, partition), "landed_at": datetime.now(UTC)}
        previous = known.get(call_id) or {}
        row["handover_manifest"] = previous.get("handover_manifest")
        row["superseded_by"] = previous.get("superseded_by")
        if row["handover_manifest"] is None:
            row["handover_manifest"] = str(_hand_over(row, summary, warehouse, drop_folder, partition))
            handed_over += 1
            context.log.info(f"{call_id}: handed over to the batch path as a {row['status']} call")
        if row["status"] == "superseded" and row["superseded_by"] is None:
            entry = ledger.load(warehouse, [row["recording_id"]]).get(row["recording_id"])
            if entry is not None and entry.status == "completed" and entry.conversation_id:
                row["superseded_by"] = entry.conversation_id
                superseded += 1
        with warehouse.writer() as writer:
            writer.replace_rows("live_calls", "call_id = ?", [call_id], [row])
    yield dg.MaterializeResult(asset_key="live_call_events", metadata={"landed_events": landed_rows})
    yield dg.MaterializeResult(
        asset_key="live_calls", metadata={"handed_over": handed_over, "superseded_marked": superseded}
    )


def _hand_over(
    row: dict[str, Any],
    summary: dict[str, Any],
    warehouse: WarehouseResource,
    drop_folder: DropFolderResource,
    partition: Any,
) -> Path:
    recording_id = row["recording_id"]
    if row["status"] == "live":
        # Before the manifest exists: the batch path must find the recording already completed, or it would
        # submit it a second time. The submission journal is the source of truth (the warehouse ledger is its
        # projection); seeding never overwrites what a batch run already recorded for the recording.
        now = datetime.now(UTC)
        entry = LedgerEntry(
            recording_id=recording_id,
            partition_date=partition,
            conversation_id=row["conversation_id"],
            job_id=None,
            status="completed",
            attempts=1,
            failure_reason=None,
            submitted_at=row["ended_at"] or now,
            completed_at=row["ended_at"] or now,
            updated_at=now,
        )
        with Journal(journal_path_for(warehouse.path)) as journal:
            journal.seed([vars(entry)])
            recorded = journal.get(recording_id)
        if recorded is not None:
            ledger.project(warehouse, [recorded])
    return landing.write_handover_manifest(Path(drop_folder.root), row["call_id"], summary)


live_calls_job = dg.define_asset_job(
    name="live_calls_job",
    selection=dg.AssetSelection.assets(live_call_events),
    description="Land live-call event logs and hand finished live calls over to the batch path.",
)


def _listing_digest(live_dir: Path) -> str | None:
    """Names, sizes and mtimes of the event logs and summaries (changes whenever a call wrote something);
    None when there is no live call at all."""
    digest = hashlib.sha256()
    seen = False
    for sub in ("events", "calls"):
        folder = live_dir / sub
        for path in sorted(folder.glob("*.json*")) if folder.is_dir() else []:
            stat = path.stat()
            digest.update(f"{sub}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
            seen = True
    return digest.hexdigest()[:32] if seen else None


@dg.sensor(
    job=live_calls_job,
    minimum_interval_seconds=10,
    description="Runs live_calls_job when a live call wrote events or finished (a stat of the live directory).",
)
def live_calls_sensor(context: dg.SensorEvaluationContext, live_calls: LiveCallsResource) -> dg.SensorResult:
    digest = _listing_digest(live_calls.path)
    if digest is None:
        return dg.SensorResult(skip_reason="no live calls", cursor=context.cursor)
    if digest == context.cursor:
        return dg.SensorResult(skip_reason="no live-call changes", cursor=digest)
    # The run key is the listing itself: a tick repeated after a crash asks for the same run, deduplicated.
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"live-{digest}")], cursor=digest)
