"""The `symbl_conversations` asset: submit each recording exactly once, record the ids at once, wait for the jobs.

Per recording, in order (each step is a function below, so further steps slot in between):
1. claim it in the journal (a second run of the same day waits for the holder instead of submitting too);
2. reconcile an ambiguous earlier submit against Symbl's conversation list (adopt what exists);
3. submit if nothing exists: intent committed before the request, ids committed the instant they arrive;
4. await the job (callback, Job API, or the Conversation API for an adopted conversation);
5. commit the outcome to the journal;
6. a completed job's signals are fetched at once, while the other jobs still wait (``prefetch.py``): the signal
   assets then find their answers landed and only derive the typed tables.
The warehouse ledger is then projected from the journal in one batch. See ``journal.py`` and ``reconcile.py``.
"""

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.recordings.source import MediaError
from orchestration.defs.symbl import crashpoints, ledger, reconcile
from orchestration.defs.symbl.client import (
    JobStatus,
    SymblAPIError,
    SymblClient,
    SymblContractError,
    SymblJobTimeout,
)
from orchestration.defs.symbl.journal import (
    ACTIVE_STATES,
    AMBIGUOUS_STATES,
    Journal,
    JournalEntry,
    StaleAttempt,
    journal_path_for,
    new_owner,
)
from orchestration.defs.symbl.ledger import TERMINAL_STATUSES
from orchestration.defs.symbl.prefetch import SignalPrefetcher, signals_to_prefetch
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.submission import prepare_submit, submit_options
from orchestration.defs.symbl.trackers import load_trackers
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.progress import Progress


class SymblConversationsConfig(dg.Config):
    max_attempts: int = 3  # a recording whose jobs failed this many times is left failed (visible in checks)
    # With callbacks configured, how long to wait for one before polling Symbl's Job API as the backstop.
    callback_grace_seconds: float = 300.0
    # Overrides the resource's job deadline for this run (e.g. a short run that leaves long jobs for the next one).
    job_deadline_seconds: float | None = None
    # How often one recording's submit is tried within a run (429s, and ambiguous failures that Symbl's conversation
    # list shows were never created) before it is left failed for the next run.
    max_submit_tries: int = 8
    # The signals whose answers are fetched the moment each job completes, overlapping the other jobs' waits, so
    # that their signal assets make no API call. None: those whose assets this run materialises (this run's own
    # fetches, moved earlier; a run of this step alone fetches none); [] turns it off (the signal assets fetch
    # everything after this step, as before); a list names signals (`signal_registry.STORED`), e.g. for a later
    # run's assets.
    prefetch_signals: list[str] | None = None


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


_IN_WINDOW = "FROM raw.recordings WHERE partition_date >= ? AND partition_date < ?"
# Recordings read from the warehouse per query as the workers need them: a day of 10,000 is never held at once.
RECORDING_CHUNK = 256


def recording_ids_in_window(warehouse: WarehouseResource, first: date, end: date) -> list[str]:
    rows = warehouse.query(f"SELECT recording_id {_IN_WINDOW} ORDER BY recording_id", [first, end])
    return [r["recording_id"] for r in rows]


def recordings_by_id(
    warehouse: WarehouseResource, first: date, end: date, ids: Sequence[str]
) -> list[dict[str, Any]]:
    marks = ", ".join("?" * len(ids))
    return warehouse.query(
        f"SELECT * {_IN_WINDOW} AND recording_id IN ({marks}) ORDER BY recording_id", [first, end, *ids]
    )


def workers_for(concurrent_jobs: int) -> int:
    """Recordings in hand at once: every job slot busy, and as many claimed and ready to submit the moment a slot
    frees (a finished job's worker records its outcome while the next one submits)."""
    return 2 * concurrent_jobs + 2


async def process_in_pool(
    ids: Sequence[str],
    load: Callable[[Sequence[str]], list[dict[str, Any]]],
    process: Callable[[dict[str, Any]], Awaitable[str]],
    workers: int,
) -> Counter[str]:
    """``process`` every recording with ``workers`` at a time, reading them ``RECORDING_CHUNK`` ids a query.

    Memory is the pool's, not the day's: a task per recording for 10,000 recordings held every row, coroutine
    and claim from the start. The first error stops the pool (the other workers are cancelled) and is raised.
    """
    outcomes: Counter[str] = Counter()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=workers)

    async def feed() -> None:
        for i in range(0, len(ids), RECORDING_CHUNK):
            for recording in await asyncio.to_thread(load, ids[i : i + RECORDING_CHUNK]):
                await queue.put(recording)
        for _ in range(workers):
            await queue.put(None)

    async def work() -> None:
        while (recording := await queue.get()) is not None:
            outcomes[await process(recording)] += 1

    tasks = [asyncio.create_task(feed()), *(asyncio.create_task(work()) for _ in range(workers))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return outcomes


@dataclass
class _Run:
    """What every recording's task of one run shares."""

    context: AssetExecutionContext
    client: SymblClient  # retries transient failures: polls, lists, reads
    submitter: SymblClient  # never re-sends on its own: an ambiguous submit is reconciled first
    journal: Journal
    owner: str
    config: SymblConversationsConfig
    deadline_seconds: float
    trackers: list[dict[str, Any]]
    inbox: WebhookInboxResource
    callbacks: CallbackWatcher | None
    prefetch: SignalPrefetcher | None = None


async def _process(run: _Run, recording: dict[str, Any]) -> str:
    rid = recording["recording_id"]
    entry = await _claim(run, rid, recording["partition_date"])
    if entry is None:
        return "held_by_another_run"
    try:
        return await _process_claimed(run, recording, entry)
    except StaleAttempt as exc:  # another run took the recording over (our lease lapsed): its state stands
        run.context.log.warning(f"{rid}: {exc}; leaving it to the run that holds it")
        return "superseded"
    finally:
        run.journal.release(rid, run.owner)


async def _claim(run: _Run, rid: str, partition_date: date) -> JournalEntry | None:
    """Take the recording's claim, waiting while another live run holds it (then its result is reused)."""
    give_up_at = time.monotonic() + run.deadline_seconds
    logged = False
    while not run.journal.claim(rid, partition_date, run.owner):
        if not logged:
            run.context.log.info(f"{rid}: claimed by another run; waiting for it instead of submitting too")
            logged = True
        if time.monotonic() >= give_up_at:
            return None
        await asyncio.sleep(0.5 + random.random())
    return run.journal.get(rid)


async def _process_claimed(run: _Run, recording: dict[str, Any], entry: JournalEntry) -> str:
    rid = recording["recording_id"]
    if entry.state == "completed":
        return "already_completed"
    if entry.state == "failed" and entry.attempts >= run.config.max_attempts:
        return "gave_up"

    async with run.client.job_slot():
        outcome = "resumed"
        if entry.state in AMBIGUOUS_STATES:
            reconciled = await _reconcile(run, recording, entry)
            if reconciled is None:
                return "uncertain"
            entry = reconciled
            outcome = "adopted" if entry.state in ACTIVE_STATES else outcome
        if entry.state in ACTIVE_STATES and (entry.job_id or entry.conversation_id):
            run.context.log.info(
                f"{rid}: resuming wait on conversation {entry.conversation_id} job {entry.job_id}"
            )
        else:
            submitted = await _submit(run, recording, entry)
            if submitted is None:
                return "failed"
            entry, outcome = submitted, "submitted" if submitted.job_id else "adopted"

        try:
            status = await _await_outcome(run, entry, recording.get("duration_seconds"))
        except SymblJobTimeout:
            run.journal.status(rid, entry.attempts, "in_progress")
            run.context.log.warning(
                f"{rid}: job {entry.job_id} still running at the deadline; resumed next run"
            )
            return "still_running"
        except SymblAPIError as exc:
            if exc.status == 404:  # the job is unknown to Symbl: resubmit on the next run
                run.journal.status(rid, entry.attempts, "failed", f"job {entry.job_id} unknown to Symbl")
                return "failed"
            if isinstance(exc, SymblContractError):  # an answer off the contract: this recording only
                run.journal.status(rid, entry.attempts, "failed", f"job status unreadable: {exc}")
                run.context.log.error(f"{rid}: job {entry.job_id}: {exc}")
                return "failed"
            raise
    crashpoints.reached("after_wait")
    # (Steps that must follow a completed job, before it counts as completed, go here.)
    result = _record_outcome(run, rid, entry, status, outcome)
    if status.status == "completed":
        _start_prefetch(run, recording, entry, outcome)
    return result


def _start_prefetch(run: _Run, recording: dict[str, Any], entry: JournalEntry, outcome: str) -> None:
    """Hand the completed conversation to the prefetcher (returns at once; its failures are its own)."""
    # Speaker events are sent after this step and re-attribute every signal: answers fetched now would be stale.
    if run.prefetch is None or entry.conversation_id is None or recording.get("speaker_events") is not None:
        return
    conversation = {
        "conversation_id": entry.conversation_id,
        "recording_id": recording["recording_id"],
        "partition_date": recording["partition_date"],
    }
    # A conversation submitted in this run has no stored answers; a resumed or adopted one may.
    run.prefetch.start(conversation, may_have_answers=outcome != "submitted")


def _record_outcome(run: _Run, rid: str, entry: JournalEntry, status: JobStatus, outcome: str) -> str:
    if status.status == "completed":
        run.journal.status(rid, entry.attempts, "completed")
        return outcome
    reason = status.message or "Symbl reported the job failed (no reason given)"
    run.journal.status(rid, entry.attempts, "failed", reason)
    run.context.log.error(f"{rid}: job {entry.job_id or entry.conversation_id} failed: {reason}")
    return "failed"


async def _reconcile(run: _Run, recording: dict[str, Any], entry: JournalEntry) -> JournalEntry | None:
    """An intent or uncertain submit: adopt Symbl's conversation if it exists; else the submit may be re-sent.

    Returns the entry to continue with, or None when Symbl could not be searched (left ambiguous for next run).
    """
    rid = recording["recording_id"]
    try:
        found = await reconcile.find_submission(run.client, rid, entry.attempts, recording["start_time"])
    except (
        Exception
    ) as exc:  # whatever went wrong, not knowing means not resubmitting: the next run checks again
        run.context.log.error(f"{rid}: could not check Symbl for an earlier submit ({exc}); not resubmitting")
        return None
    if found is None:
        run.journal.not_found(rid, entry.attempts)
        run.context.log.info(f"{rid}: attempt {entry.attempts} never reached Symbl; submitting it")
    else:
        run.journal.answered(rid, entry.attempts, found, None, event="adopted")
        run.context.log.warning(f"{rid}: adopted conversation {found} from an earlier, unrecorded submit")
    return run.journal.get(rid)


def _definitely_refused(exc: Exception) -> bool:
    """A 4xx (other than 429) means Symbl created nothing; 5xx or no answer means it might have."""
    return (
        isinstance(exc, SymblAPIError)
        and exc.status is not None
        and 400 <= exc.status < 500
        and exc.status != 429
    )


async def _submit(run: _Run, recording: dict[str, Any], entry: JournalEntry) -> JournalEntry | None:
    """Submit under a committed intent; reconcile before any second try. None when it ended failed."""
    rid = recording["recording_id"]
    # An intent that reconciliation showed never reached Symbl is re-sent under its own attempt number.
    attempt = entry.attempts if entry.state == "intent" else run.journal.intent(rid, run.owner)
    crashpoints.reached("after_intent")
    options = submit_options(recording, webhook_url=run.inbox.symbl_callback_url(), trackers=run.trackers)
    options = replace(options, metadata={**(options.metadata or {}), "submit_attempt": attempt})
    try:
        call = prepare_submit(run.submitter, recording, options)
    except MediaError as exc:
        run.journal.refused(rid, attempt, f"media: {exc}")
        run.context.log.error(f"{rid}: {exc}")
        return None
    last_error = ""
    for tries in range(run.config.max_submit_tries):
        if tries:
            await asyncio.sleep(random.random() * min(30.0, 2.0**tries))
        try:
            result = await call()
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            if _definitely_refused(exc):
                run.journal.refused(rid, attempt, f"submit refused: {exc}")
                run.context.log.error(f"{rid}: submit refused: {exc}")
                return None
            if isinstance(exc, SymblAPIError) and exc.status == 429:
                continue  # refused for the concurrency limit: nothing was created
            run.journal.uncertain(rid, attempt, f"submit answer lost: {last_error}")
            run.context.log.warning(
                f"{rid}: submit answer lost ({last_error}); checking Symbl before retrying"
            )
            reconciled = await _reconcile(run, recording, run.journal.get(rid) or entry)
            if reconciled is None:
                return None  # left uncertain: the next run checks again
            if reconciled.state in ACTIVE_STATES:
                return reconciled
            continue
        # No await between the answer and the commit: only a crash inside these lines leaves the intent open,
        # and the next run finds the conversation by its metadata.
        crashpoints.reached("after_answer")
        run.journal.answered(rid, attempt, result.conversation_id, result.job_id)
        crashpoints.reached("after_journal")
        if run.callbacks is not None:
            run.inbox.register_job(result.job_id, rid, recording["partition_date"])
        return run.journal.get(rid)
    run.journal.refused(rid, attempt, f"submit failed {run.config.max_submit_tries} times: {last_error}")
    run.context.log.error(f"{rid}: submit failed {run.config.max_submit_tries} times: {last_error}")
    return None


async def _await_outcome(run: _Run, entry: JournalEntry, media_seconds: float | None) -> JobStatus:
    if entry.job_id is None:  # adopted: Symbl gives no conversation -> job mapping (see reconcile.py)
        assert entry.conversation_id is not None
        return await reconcile.wait_for_adopted(run.client, entry.conversation_id, run.deadline_seconds)
    return await _await_job(
        run.client,
        run.callbacks,
        entry.job_id,
        run.deadline_seconds,
        run.config,
        media_seconds=media_seconds,
        submitted_at=entry.submitted_at,
    )


async def _heartbeat(journal: Journal, owner: str, every_seconds: float = 30.0) -> None:
    """Keep this run's claims alive while it works (a dead run's claims lapse, or are taken once its pid is gone)."""
    while True:
        await asyncio.sleep(every_seconds)
        await asyncio.to_thread(journal.renew, owner)


def _seed_journal(journal: Journal, warehouse: WarehouseResource, recording_ids: list[str]) -> None:
    """Recordings the warehouse ledger knows but the journal does not (written before the journal existed)."""
    known = journal.get_many(recording_ids)
    missing = [r for r in recording_ids if r not in known]
    if missing:
        journal.seed([vars(e) for e in ledger.load(warehouse, missing).values()])


async def _await_job(
    client: SymblClient,
    callbacks: CallbackWatcher | None,
    job_id: str,
    deadline_seconds: float,
    config: SymblConversationsConfig,
    *,
    media_seconds: float | None = None,
    submitted_at: float | None = None,
) -> JobStatus:
    """By callback when configured (zero Job API calls for a completed job), else by polling: the first poll
    near the job's expected finish (from the recording's duration and the run's processing rate), then
    backoff."""
    if callbacks is not None:
        hinted = await callbacks.wait(job_id, min(config.callback_grace_seconds, deadline_seconds))
        if hinted == "completed":
            return JobStatus(job_id, "completed", None)
        if hinted == "failed":
            return await client.get_job(
                job_id
            )  # one read, for the failure reason the callback does not carry
    return await client.wait_for_job(
        job_id, deadline_seconds=deadline_seconds, media_seconds=media_seconds, submitted_at=submitted_at
    )


@dg.asset(
    name="symbl_conversations",
    group_name="symbl",
    kinds={"python", "duckdb"},
    deps=["recordings"],
    **DAILY_WAREHOUSE_WRITER,
    retry_policy=NETWORK_RETRY,
    description=(
        "The conversation-id ledger: each recording submitted to Symbl's Async API exactly once (intent and ids "
        "committed to the submission journal beside the warehouse, ambiguous submits reconciled against Symbl's "
        "conversation list before any resubmit), then the jobs awaited (polling with backoff, bounded by the "
        "account's concurrent-job limit). Failed jobs keep their reason and are resubmitted on the next run. "
        "The table is a projection of the journal, written in one batch."
    ),
    metadata=column_schema_metadata("symbl_conversations"),
)
async def symbl_conversations(
    context: AssetExecutionContext,
    config: SymblConversationsConfig,
    symbl: SymblResource,
    warehouse: WarehouseResource,
    webhook_inbox: WebhookInboxResource,
) -> dg.MaterializeResult:
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    ids = recording_ids_in_window(warehouse, first, end)
    trackers = [{"name": t["name"], "vocabulary": t["vocabulary"]} for t in load_trackers()]
    callbacks = CallbackWatcher(webhook_inbox) if webhook_inbox.callbacks_enabled else None
    context.log.info(
        "awaiting jobs by " + ("Symbl callbacks (polling as backstop)" if callbacks else "polling")
    )
    signals = signals_to_prefetch(config.prefetch_signals, context.job_def.asset_layer.selected_asset_keys)
    context.log.info(f"prefetching {', '.join(signals)} as each job completes" if signals else "no prefetch")

    with Journal(journal_path_for(warehouse.path)) as journal:
        _seed_journal(journal, warehouse, ids)
        known = journal.get_many(ids)
        context.log.info(f"{len(ids)} recordings in {first}..{end}; {len(known)} already in the journal")
        owner = new_owner()
        prefetched: list[Counter[str]] = []

        async def run_all() -> Counter[str]:
            async with (
                symbl.client() as client,
                symbl.client(retry_transient=False) as submitter,
                contextlib.AsyncExitStack() as stack,
            ):
                learnt = journal.learnt_rate()
                if learnt is not None:
                    client.pace.start_from(learnt)
                prefetch = None
                if signals:
                    prefetch = await stack.enter_async_context(
                        SignalPrefetcher(client, warehouse, context.log, signals=signals)
                    )
                    prefetched.append(prefetch.tally)
                run = _Run(
                    context,
                    client,
                    submitter,
                    journal,
                    owner,
                    config,
                    config.job_deadline_seconds or symbl.job_deadline_seconds,
                    trackers,
                    webhook_inbox,
                    callbacks,
                    prefetch,
                )
                beat = asyncio.create_task(_heartbeat(journal, owner))
                try:
                    progress = Progress(context.log, len(ids), "recordings")
                    return await process_in_pool(
                        ids,
                        lambda chunk: recordings_by_id(warehouse, first, end, chunk),
                        lambda recording: progress.track(_process(run, recording)),
                        workers_for(symbl.concurrent_jobs),
                    )
                finally:
                    beat.cancel()
                    if client.pace.observations:
                        journal.save_rate(client.pace.rate, client.pace.observations)
                        context.log.info(
                            f"processing rate {client.pace.rate:.4f} s per second of media "
                            f"({client.pace.observations} jobs observed) kept for the next run"
                        )

        try:
            outcomes = await run_all()
        finally:
            journal.release_all(owner)
        entries = [e for e in journal.get_many(ids).values()]
    # One batched write; if the live file stays locked past the bounded wait this raises, and the retried step
    # finds everything in the journal (no resubmission, no API call for finished work) and projects again.
    ledger.project(warehouse, entries)
    rows = ledger.load(warehouse, ids)
    statuses = Counter(e.status for e in rows.values())
    context.log.info(f"outcomes {dict(outcomes)}; ledger statuses {dict(statuses)}")
    tally = prefetched[0] if prefetched else Counter()
    if prefetched:
        context.log.info(f"signals prefetched: {dict(tally)}")
    metadata = {
        "dagster/row_count": len(rows),
        "submitted": outcomes["submitted"],
        "adopted": outcomes["adopted"],
        "resumed": outcomes["resumed"],
        "already_completed": outcomes["already_completed"],
        "held_by_another_run": outcomes["held_by_another_run"],
        "failed": statuses["failed"],
        "completed": statuses["completed"],
        "still_running": outcomes["still_running"],
        # Signal answers landed for the signal assets (0 without prefetch), and those left to them.
        "prefetched_answers": tally["answers"],
        "prefetch_failures": tally["fetch_failures"] + tally["read_failures"] + tally["write_failures"],
        "preview": preview("symbl_conversations", [vars(e) for e in rows.values()]),
        "seconds": clock.seconds,
    }
    own = {  # per-day ledger figures of a ranged run (the outcomes of this run stay range-wide)
        "dagster/row_count": [e.partition_date for e in rows.values()],
        "failed": [e.partition_date for e in rows.values() if e.status == "failed"],
        "completed": [e.partition_date for e in rows.values() if e.status == "completed"],
    }
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))
