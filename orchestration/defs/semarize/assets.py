"""`transcripts` (speaker turns per conversation), and `semarize_runs` + `semarize_bricks` (one scoring step)."""

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.semarize import kit_routing
from orchestration.defs.semarize import parse as brick_parse
from orchestration.defs.semarize import transcripts as transcript_lib
from orchestration.defs.semarize.client import SemarizeAPIError, SemarizeClient
from orchestration.defs.semarize.resource import SemarizeResource
from orchestration.defs.semarize.transcript_store import conversation_turns, transcribed_conversations
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import Subquery, WarehouseResource, WarehouseWriter
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.progress import Progress

RUN_CONCURRENCY = 8


class SemarizeBricksConfig(dg.Config):
    """`api` scores with Semarize (reusing stored runs of the same input); `raw` re-derives the bricks of the
    window from raw.semarize_runs (and the Kit schema stored with each run) with no Semarize call at all."""

    source: Literal["api", "raw"] = "api"


def readable_schema(kit: str, doc: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The Kit schema if we can read its (unpublished) shape, else None and why; never an error for the runs."""
    if doc is None:
        return None, "no schema"
    try:
        schema = brick_parse.kit_schema_from_json(doc)
    except ValueError as exc:
        return None, f"unreadable schema ({exc})"
    if not schema.bricks:
        keys = ", ".join(sorted(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
        return None, f"schema in an unknown shape (keys: {keys}); no bricks found in it"
    return doc, None


# Conversations per transcripts batch (their messages, ~100 each, are in memory at once).
TRANSCRIPT_BATCH = 200


@dg.asset(
    name="transcripts",
    group_name="transcripts",
    kinds={"python", "duckdb"},
    deps=["symbl_messages"],
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "Speaker turns per conversation: consecutive Symbl messages by the same speaker merged, in time order. "
        "The Semarize input is built from these turns."
    ),
    metadata=column_schema_metadata("transcripts"),
)
def transcripts(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    conversations = warehouse.query(
        """
        SELECT DISTINCT m.conversation_id
        FROM raw.symbl_messages m JOIN raw.symbl_conversations c USING (conversation_id)
        WHERE m.partition_date >= ? AND m.partition_date < ? AND c.status = 'completed'
        ORDER BY 1
        """,
        [first, end],
    )
    ids = [c["conversation_id"] for c in conversations]
    turns_per_day: Counter[Any] = Counter()
    conversations_per_day: Counter[Any] = Counter()
    sample: list[dict[str, Any]] = []
    # A batch of conversations at a time: the window's messages are never all in memory (a day of 10,000 calls
    # is about a million of them). Each batch replaces its conversations' turns in one transaction.
    for i in range(0, len(ids), TRANSCRIPT_BATCH):
        batch = ids[i : i + TRANSCRIPT_BATCH]
        messages = warehouse.query(
            """
            SELECT m.*, c.recording_id
            FROM raw.symbl_messages m JOIN raw.symbl_conversations c USING (conversation_id)
            WHERE m.conversation_id IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY m.conversation_id, m.start_time, m.time_offset_seconds, m.message_id
            """,
            [batch],
        )
        by_conv: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in messages:
            by_conv[m["conversation_id"]].append(m)
        rows: list[dict[str, Any]] = []
        for cid, msgs in by_conv.items():
            rows += transcript_lib.assemble_turns(
                cid, msgs[0]["recording_id"], msgs[0]["partition_date"], msgs
            )
            conversations_per_day[msgs[0]["partition_date"]] += 1
        with warehouse.writer() as writer:
            writer.replace_ids("transcripts", "conversation_id", batch, rows)
        turns_per_day.update(r["partition_date"] for r in rows)
        sample = sample or rows[:5]
    # Turns of conversations that no longer have completed messages in the window go.
    with warehouse.writer() as writer:
        writer.retain_ids("transcripts", first, end, "conversation_id", ids)
    metadata = {
        "dagster/row_count": sum(turns_per_day.values()),
        "conversations": len(ids),
        "preview": preview("transcripts", sample),
        "seconds": clock.seconds,
    }
    own = {"dagster/row_count": turns_per_day.elements(), "conversations": conversations_per_day.elements()}
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))


def _recording_context(warehouse: WarehouseResource, first: date, end: date) -> dict[str, dict[str, Any]]:
    """Context Semarize Kits use (who the rep is, who else spoke, what the call was), from the manifests."""
    rows = warehouse.query(
        "SELECT recording_id, participants, host_name, host_email, title, account_name, call_type "
        "FROM raw.recordings WHERE partition_date >= ? AND partition_date < ?",
        [first, end],
    )
    out = {}
    for r in rows:
        participants = json.loads(r["participants"]) if r["participants"] else []
        out[r["recording_id"]] = {
            "participants": participants,
            "host": {"name": r["host_name"], "email": r["host_email"], "role": "rep"},
            "meeting_title": r["title"],
            "account_name": r["account_name"],
            "call_type": r["call_type"],
        }
    return out


def _reusable_runs(
    warehouse: WarehouseResource, keys: list[str]
) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    """Succeeded runs already stored under the same idempotency key, with the Kit schema they were typed with:
    a re-run costs no Semarize call at all (not even for the schema)."""
    if not keys:
        return {}
    rows = warehouse.query(
        "SELECT idempotency_key, body, kit_schema FROM raw.semarize_runs "
        "WHERE status = 'succeeded' AND body IS NOT NULL AND idempotency_key IN (SELECT unnest(?::VARCHAR[]))",
        [keys],
    )
    return {
        r["idempotency_key"]: (
            json.loads(r["body"]),
            json.loads(r["kit_schema"]) if r["kit_schema"] else None,
        )
        for r in rows
    }


_KIT_RUNS = (
    "Each configured Semarize Kit run on each conversation's transcript (sync mode, falling back to polling, "
    "with a deterministic Idempotency-Key)."
)


@dg.multi_asset(
    name="semarize_bricks",
    specs=[
        dg.AssetSpec(
            "semarize_runs",
            group_name="semarize",
            kinds={"python", "duckdb"},
            deps=["transcripts"],
            description=f"{_KIT_RUNS} One row per run request (conversation x Kit), with status and error.",
            metadata=column_schema_metadata("semarize_runs"),
            skippable=True,  # re-deriving from raw reads the runs and leaves them as they are
        ),
        dg.AssetSpec(
            "semarize_bricks",
            group_name="semarize",
            kinds={"python", "duckdb"},
            deps=["transcripts"],
            description=(
                f"{_KIT_RUNS} One row per conversation x kit x brick with typed value columns, confidence, "
                "reason and evidence, from the run in raw.semarize_runs."
            ),
            metadata=column_schema_metadata("semarize_bricks"),
        ),
    ],
    **DAILY_WAREHOUSE_WRITER,
    retry_policy=NETWORK_RETRY,
)
async def semarize_bricks(
    context: AssetExecutionContext,
    config: SemarizeBricksConfig,
    semarize: SemarizeResource,
    warehouse: WarehouseResource,
):  # an async generator of MaterializeResult: Dagster reads no AsyncIterator annotation on a multi-asset
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    if config.source == "raw":
        yield _rederive_bricks(context, warehouse, first, end, clock)
        return
    kits = list(semarize.kits)
    # Kits by call type (SEMARIZE_KITS_BY_CALL_TYPE); None when unset: every call runs `kits`.
    routes = kit_routing.routes_from_env()
    context_by_recording = _recording_context(warehouse, first, end)
    ids = transcribed_conversations(warehouse, first, end)
    tally = _BrickTally()
    progress = Progress(context.log, len(ids), "conversations scored")

    async def run_all() -> None:
        async with semarize.client() as client:
            scorer = _Scorer(context, client, tally)
            for i in range(0, len(ids), SCORE_BATCH):
                batch = ids[i : i + SCORE_BATCH]
                turns_by_conv = await asyncio.to_thread(conversation_turns, warehouse, batch)
                jobs = _jobs_for(turns_by_conv, context_by_recording, kits, routes)
                recordings = sorted({turns[0]["recording_id"] for turns in turns_by_conv.values()})
                await scorer.score(warehouse, batch, recordings, jobs)
                for _ in batch:
                    progress.add("done")

    if ids:
        await run_all()
    # Runs, bricks and rejections of conversations no longer transcribed in the window go.
    _remove_untranscribed(warehouse, first, end, ids)
    context.log.info(
        f"{tally.runs_total} kit runs for {len(ids)} conversations; {tally.reused} reused, {tally.scored} scored"
    )
    metadata = {
        "dagster/row_count": sum(tally.bricks.values()),
        "runs": sum(tally.runs.values()),
        "runs_reused": tally.reused,
        "errors": sum(tally.errors.values()),
        "kits": ", ".join(sorted(tally.kits)) or "none",
        # Kits whose schema could not be read: their bricks were typed from the values instead.
        "kit_schema_warnings": "; ".join(f"{k}: {p}" for k, p in tally.schema_problems.items()) or "none",
        "preview": preview("semarize_bricks", tally.sample),
        "seconds": clock.seconds,
    }
    own = {
        "dagster/row_count": tally.bricks.elements(),
        "runs": tally.runs.elements(),
        "errors": tally.errors.elements(),
    }
    yield dg.MaterializeResult(
        asset_key="semarize_bricks",
        metadata=scope_to_partitions(context, metadata, own, asset_key="semarize_bricks"),
    )
    runs = {"dagster/row_count": sum(tally.runs.values()), "runs_reused": tally.reused}
    runs_own = {"dagster/row_count": tally.runs.elements()}
    yield dg.MaterializeResult(
        asset_key="semarize_runs",
        metadata=scope_to_partitions(context, runs, runs_own, asset_key="semarize_runs"),
    )


# Conversations scored per batch: their transcripts, Kit payloads and answers are in memory at once.
SCORE_BATCH = 200

Job = tuple[
    str, str, Any, str, str, dict[str, Any]
]  # conversation, recording, day, kit, idempotency key, payload


@dataclass
class _BrickTally:
    """What semarize_bricks reports, accumulated batch by batch (counts per day, never the rows)."""

    bricks: Counter[Any] = field(default_factory=Counter)
    runs: Counter[Any] = field(default_factory=Counter)
    errors: Counter[Any] = field(default_factory=Counter)
    kits: set[str] = field(default_factory=set)
    schema_problems: dict[str, str] = field(default_factory=dict)
    reused: int = 0
    scored: int = 0
    runs_total: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)


def _jobs_for(
    turns_by_conv: dict[str, list[dict[str, Any]]],
    context_by_recording: dict[str, dict[str, Any]],
    kits: list[str],
    routes: Any,
) -> list[Job]:
    jobs: list[Job] = []
    for cid, turns in turns_by_conv.items():
        rid = turns[0]["recording_id"]
        payload = {
            "transcript": transcript_lib.transcript_turns_payload(turns),
            "conversation_id": cid,
            "recording_id": rid,
            **context_by_recording.get(rid, {}),
        }
        # The key covers the whole input, so a changed roster/participant list is a new run, never a 409.
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        call_type = context_by_recording.get(rid, {}).get("call_type")
        for kit in kit_routing.kits_for(call_type, routes, kits):
            key = SemarizeClient.idempotency_key(cid, kit, canonical)
            jobs.append((cid, rid, turns[0]["partition_date"], kit, key, payload))
    return jobs


class _Scorer:
    """Runs one batch's Kit jobs (reusing stored runs), types the answers and replaces the batch's rows."""

    def __init__(self, context: AssetExecutionContext, client: SemarizeClient, tally: _BrickTally) -> None:
        self._context = context
        self._client = client
        self._tally = tally
        self._gate = asyncio.Semaphore(RUN_CONCURRENCY)
        self._schemas: dict[str, Any] = {}

    async def _schema(self, kit: str) -> Any:
        """Fetched once per run, and only for a Kit that has a run to make (reused runs keep their own)."""
        if kit not in self._schemas:
            try:
                doc = await self._client.kit_schema(kit)
            except SemarizeAPIError as exc:
                doc = None
                self._context.log.warning(f"kit {kit}: no schema ({exc}); brick types will be inferred")
            self._schemas[kit], problem = readable_schema(kit, doc)
            if problem:
                self._tally.schema_problems[kit] = problem
            if problem and doc is not None:
                self._context.log.warning(f"kit {kit}: {problem}; brick types will be inferred")
        return self._schemas[kit]

    async def _one(self, job: Job, reusable: dict[str, Any]) -> tuple[Job, dict[str, Any] | None, str | None]:
        _, _, _, kit, key, payload = job
        if key in reusable:
            return job, reusable[key][0], None
        async with self._gate:
            try:
                return (
                    job,
                    await self._client.create_run(kit, payload, idempotency_key=key, mode="sync"),
                    None,
                )
            except SemarizeAPIError as exc:
                return job, None, f"{exc.code or exc.status}: {exc}"
            except Exception as exc:  # transport failure after retries: recorded, the rest goes on
                return job, None, f"{type(exc).__name__}: {exc}"

    async def score(
        self, warehouse: WarehouseResource, batch: list[str], recordings: list[str], jobs: list[Job]
    ) -> None:
        tally = self._tally
        reusable = await asyncio.to_thread(_reusable_runs, warehouse, [j[4] for j in jobs])
        for kit in sorted({j[3] for j in jobs if j[4] not in reusable}):
            await self._schema(kit)
        results = await asyncio.gather(*(self._one(j, reusable) for j in jobs))
        now = datetime.now(UTC)
        run_rows, brick_rows, rejections = [], [], []
        for (cid, rid, pdate, kit, key, _), run, error in results:
            if run is not None and run.get("status") != "succeeded":
                error = (
                    f"{run.get('error_code') or run.get('status')}: "
                    f"{run.get('error_message') or 'run did not succeed'}"
                )
            row = brick_parse.run_row(cid, rid, kit, pdate, key, run, error)
            row["updated_at"] = now
            schema = reusable[key][1] if key in reusable else self._schemas.get(kit)
            row["kit_schema"] = json.dumps(schema) if schema is not None else None
            run_rows.append(row)
            if error is None and run is not None:
                bricks, problems = _bricks_of_run(cid, rid, kit, pdate, run, schema, now)
                brick_rows += bricks
                rejections += problems
            else:
                self._context.log.error(f"{rid} / {kit}: {error}")
                rejections.append(_rejection(pdate, cid, rid, f"kit {kit}: {error}", now))
        await warehouse.awrite(
            lambda w: _write_scores(w, batch, recordings, run_rows, brick_rows, rejections)
        )
        tally.runs_total += len(jobs)
        tally.reused += sum(j[4] in reusable for j in jobs)
        tally.scored += sum(j[4] not in reusable for j in jobs)
        tally.kits.update(j[3] for j in jobs)
        tally.bricks.update(r["partition_date"] for r in brick_rows)
        tally.runs.update(r["partition_date"] for r in run_rows)
        tally.errors.update(r["partition_date"] for r in rejections)
        tally.sample = tally.sample or brick_rows[:5]


def _remove_untranscribed(warehouse: WarehouseResource, first: date, end: date, ids: list[str]) -> None:
    transcribed = Subquery(
        "SELECT recording_id FROM raw.transcripts WHERE partition_date >= ? AND partition_date < ?",
        [first, end],
    )
    with warehouse.writer() as writer:
        for table in ("semarize_runs", "semarize_bricks"):
            writer.retain_ids(table, first, end, "conversation_id", ids)
        writer.retain_ids(
            "recording_rejections", first, end, "recording_id", transcribed, "stage = 'semarize'"
        )


def _write_scores(
    writer: WarehouseWriter,
    batch: list[str],
    recordings: list[str],
    run_rows: list[dict[str, Any]],
    brick_rows: list[dict[str, Any]],
    rejections: list[dict[str, Any]],
) -> None:
    """The batch's runs, bricks and rejections replace its conversations' previous ones, in one transaction."""
    writer.replace_ids("semarize_runs", "conversation_id", batch, run_rows)
    writer.replace_ids("semarize_bricks", "conversation_id", batch, brick_rows)
    writer.replace_ids("recording_rejections", "recording_id", recordings, rejections, "stage = 'semarize'")


def _bricks_of_run(
    cid: str, rid: str, kit: str, pdate: Any, run: Any, schema: Any, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A run's brick rows, and rejections for what could not be typed; a malformed run rejects only itself."""
    try:
        rows, errors = brick_parse.parse_run(cid, rid, kit, pdate, run, schema)
    except brick_parse.SemarizeParseError as exc:
        return [], [_rejection(pdate, cid, rid, f"malformed run: {exc}", now)]
    return rows, [_rejection(pdate, cid, rid, f"brick type: {e}", now) for e in errors]


def _rederive_bricks(
    context: AssetExecutionContext, warehouse: WarehouseResource, first: date, end: date, clock: Stopwatch
) -> dg.MaterializeResult:
    runs = warehouse.query(
        "SELECT conversation_id, recording_id, kit_code, partition_date, status, error_code, error_message, "
        "body, kit_schema FROM raw.semarize_runs WHERE partition_date >= ? AND partition_date < ? "
        "ORDER BY conversation_id, kit_code",
        [first, end],
    )
    now = datetime.now(UTC)
    brick_rows: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    for r in runs:
        if r["status"] != "succeeded" or r["body"] is None:
            error = f"{r['error_code'] or r['status']}: {r['error_message'] or 'run did not succeed'}"
            rejections.append(
                _rejection(r["partition_date"], r["conversation_id"], r["recording_id"],
                           f"kit {r['kit_code']}: {error}", now)
            )  # fmt: skip
            continue
        schema = json.loads(r["kit_schema"]) if r["kit_schema"] else None
        bricks, problems = _bricks_of_run(
            r["conversation_id"], r["recording_id"], r["kit_code"], r["partition_date"],
            json.loads(r["body"]), schema, now,
        )  # fmt: skip
        brick_rows += bricks
        rejections += problems
    context.log.info(f"re-derived {len(brick_rows)} bricks from {len(runs)} stored runs (no Semarize call)")
    with warehouse.writer() as writer:
        writer.replace_partition("semarize_bricks", first, end, brick_rows)
        writer.replace_partition("recording_rejections", first, end, rejections, "stage = 'semarize'")
    return dg.MaterializeResult(
        asset_key="semarize_bricks",
        metadata={
            "dagster/row_count": len(brick_rows),
            "runs": len(runs),
            "source": "raw",
            "errors": len(rejections),
            "preview": preview("semarize_bricks", brick_rows),
            "seconds": clock.seconds,
        },
    )


def _rejection(pdate: Any, cid: str, rid: str, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "partition_date": pdate,
        "source_file": f"semarize:conversation/{cid}",
        "recording_id": rid,
        "stage": "semarize",
        "reason": reason,
        "rejected_at": now,
    }
