"""The `symbl_conversations` asset: submit what is new, record the ids at once, wait for the jobs."""

import asyncio
import time
from collections import Counter
from datetime import date
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.recordings.source import MediaError
from orchestration.symbl import ledger
from orchestration.symbl.client import JobStatus, SymblAPIError, SymblClient, SymblJobTimeout
from orchestration.symbl.ledger import ACTIVE_STATUSES, TERMINAL_STATUSES, LedgerEntry
from orchestration.symbl.resource import SymblResource
from orchestration.symbl.submission import prepare_submit, submit_options
from orchestration.symbl.trackers import load_trackers
from orchestration.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.warehouse.partition_metadata import scope_to_partitions
from orchestration.warehouse.resource import WarehouseResource
from orchestration.webhooks.resource import WebhookInboxResource


class SymblConversationsConfig(dg.Config):
    max_attempts: int = 3  # a recording whose jobs failed this many times is left failed (visible in checks)
    # With callbacks configured, how long to wait for one before polling Symbl's Job API as the backstop.
    callback_grace_seconds: float = 300.0
    # Overrides the resource's job deadline for this run (e.g. a short run that leaves long jobs for the next one).
    job_deadline_seconds: float | None = None


class CallbackWatcher:
    """Job statuses from Symbl's callbacks in the webhook inbox: a local file read, no API call.

    All waiting jobs share one read of the inbox per refresh interval, so a thousand waiting jobs cost one
    directory scan every half second, not a thousand.
    """

    def __init__(self, inbox: WebhookInboxResource, refresh_seconds: float = 0.5) -> None:
        self._inbox = inbox
        self._refresh = refresh_seconds
        self._statuses: dict[str, str] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def status(self, job_id: str) -> str | None:
        async with self._lock:
            if time.monotonic() - self._read_at >= self._refresh:
                self._statuses = await asyncio.to_thread(self._inbox.latest_job_status)
                self._read_at = time.monotonic()
        return self._statuses.get(job_id)

    async def wait(self, job_id: str, timeout_seconds: float) -> str | None:
        """The job's terminal status once its callback arrives, or None after the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            status = await self.status(job_id)
            if status in TERMINAL_STATUSES:
                return status
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self._refresh)


def recordings_in_window(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    return warehouse.query(
        "SELECT * FROM raw.recordings WHERE partition_date >= ? AND partition_date < ? ORDER BY recording_id",
        [first, end],
    )


async def _process(
    context: AssetExecutionContext,
    client: SymblClient,
    warehouse: WarehouseResource,
    recording: dict[str, Any],
    entry: LedgerEntry,
    config: SymblConversationsConfig,
    deadline_seconds: float,
    trackers: list[dict[str, Any]],
    inbox: WebhookInboxResource,
    callbacks: CallbackWatcher | None,
) -> str:
    rid = recording["recording_id"]
    if entry.status == "completed":
        return "already_completed"
    if entry.status == "failed" and entry.attempts >= config.max_attempts:
        return "gave_up"

    async with client.job_slot():
        if entry.status in ACTIVE_STATUSES and entry.job_id:
            outcome = "resumed"
            context.log.info(f"{rid}: resuming wait on job {entry.job_id}")
        else:
            try:
                call = prepare_submit(
                    client,
                    recording,
                    submit_options(recording, webhook_url=inbox.symbl_callback_url(), trackers=trackers),
                )
                result = await call()
            except MediaError as exc:
                ledger.save(warehouse, entry.failed_before_submit(f"media: {exc}"))
                context.log.error(f"{rid}: {exc}")
                return "failed"
            except SymblAPIError as exc:
                ledger.save(warehouse, entry.failed_before_submit(f"submit refused: {exc}"))
                context.log.error(f"{rid}: submit refused: {exc}")
                return "failed"
            entry = entry.submitted(result.conversation_id, result.job_id)
            ledger.save(warehouse, entry)  # the id is durable before any waiting
            if callbacks is not None:
                inbox.register_job(result.job_id, rid, entry.partition_date)
            outcome = "submitted"
            context.log.info(f"{rid}: conversation {result.conversation_id}, job {result.job_id}")

        try:
            status = await _await_job(client, callbacks, entry.job_id, deadline_seconds, config)
        except SymblJobTimeout:
            ledger.save(warehouse, entry.with_status("in_progress"))
            context.log.warning(f"{rid}: job {entry.job_id} still running at the deadline; resumed next run")
            return "still_running"
        except SymblAPIError as exc:
            if exc.status == 404:  # the job is unknown to Symbl: resubmit on the next run
                ledger.save(warehouse, entry.with_status("failed", f"job {entry.job_id} unknown to Symbl"))
                return "failed"
            raise
    if status.status == "completed":
        ledger.save(warehouse, entry.with_status("completed"))
        return outcome
    reason = status.message or "Symbl reported the job failed (no reason given)"
    ledger.save(warehouse, entry.with_status("failed", reason))
    context.log.error(f"{rid}: job {entry.job_id} failed: {reason}")
    return "failed"


async def _await_job(
    client: SymblClient,
    callbacks: CallbackWatcher | None,
    job_id: str,
    deadline_seconds: float,
    config: SymblConversationsConfig,
) -> JobStatus:
    """By callback when configured (zero Job API calls for a completed job), else by polling with backoff."""
    if callbacks is not None:
        hinted = await callbacks.wait(job_id, min(config.callback_grace_seconds, deadline_seconds))
        if hinted == "completed":
            return JobStatus(job_id, "completed", None)
        if hinted == "failed":
            return await client.get_job(
                job_id
            )  # one read, for the failure reason the callback does not carry
    return await client.wait_for_job(job_id, deadline_seconds=deadline_seconds)


@dg.asset(
    name="symbl_conversations",
    group_name="symbl",
    kinds={"python", "duckdb"},
    deps=["recordings"],
    **DAILY_WAREHOUSE_WRITER,
    retry_policy=NETWORK_RETRY,
    description=(
        "The conversation-id ledger: each recording submitted to Symbl's Async API once, its conversation and job "
        "ids written the moment Symbl answers, then the jobs awaited (polling with backoff, bounded by the "
        "account's concurrent-job limit). Failed jobs keep their reason and are resubmitted on the next run."
    ),
    metadata=column_schema_metadata("symbl_conversations"),
)
def symbl_conversations(
    context: AssetExecutionContext,
    config: SymblConversationsConfig,
    symbl: SymblResource,
    warehouse: WarehouseResource,
    webhook_inbox: WebhookInboxResource,
) -> dg.MaterializeResult:
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    recs = recordings_in_window(warehouse, first, end)
    existing = ledger.load(warehouse, [r["recording_id"] for r in recs])
    trackers = [{"name": t["name"], "vocabulary": t["vocabulary"]} for t in load_trackers()]
    context.log.info(f"{len(recs)} recordings in {first}..{end}; {len(existing)} already in the ledger")

    callbacks = CallbackWatcher(webhook_inbox) if webhook_inbox.callbacks_enabled else None
    context.log.info(
        "awaiting jobs by " + ("Symbl callbacks (polling as backstop)" if callbacks else "polling")
    )

    async def run_all() -> list[str]:
        async with symbl.client() as client:
            tasks = [
                _process(
                    context,
                    client,
                    warehouse,
                    rec,
                    existing.get(rec["recording_id"])
                    or LedgerEntry.new(rec["recording_id"], rec["partition_date"]),
                    config,
                    config.job_deadline_seconds or symbl.job_deadline_seconds,
                    trackers,
                    webhook_inbox,
                    callbacks,
                )
                for rec in recs
            ]
            return list(await asyncio.gather(*tasks))

    outcomes = Counter(asyncio.run(run_all()))
    rows = ledger.load(warehouse, [r["recording_id"] for r in recs])
    statuses = Counter(e.status for e in rows.values())
    context.log.info(f"outcomes {dict(outcomes)}; ledger statuses {dict(statuses)}")
    metadata = {
        "dagster/row_count": len(rows),
        "submitted": outcomes["submitted"],
        "resumed": outcomes["resumed"],
        "already_completed": outcomes["already_completed"],
        "failed": statuses["failed"],
        "completed": statuses["completed"],
        "still_running": outcomes["still_running"],
        "preview": preview("symbl_conversations", [vars(e) for e in rows.values()]),
        "seconds": clock.seconds,
    }
    own = {  # per-day ledger figures of a ranged run (the outcomes of this run stay range-wide)
        "dagster/row_count": [e.partition_date for e in rows.values()],
        "failed": [e.partition_date for e in rows.values() if e.status == "failed"],
        "completed": [e.partition_date for e in rows.values() if e.status == "completed"],
    }
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))
