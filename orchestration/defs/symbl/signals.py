"""One step per stored Conversation API signal (``signal_registry.STORED``), one asset per table it fills: fetch
for the window's completed conversations, keep the raw JSON, derive the typed table(s). Fetch and parse errors are
recorded per conversation and never stop the others."""

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.symbl import parse, signal_registry
from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.signal_registry import Signal
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import Subquery, WarehouseResource, WarehouseWriter
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.progress import Progress

FETCH_CONCURRENCY = 8


class SignalSourceConfig(dg.Config):
    """`api` fetches what has not landed yet from Symbl; `raw` re-derives the typed tables of the window from
    raw.symbl_responses with no API call at all (after a parser fix, one backfill brings the whole history up
    to date). A completed conversation's answers are final, so `api` never fetches one twice unless it was
    re-attributed since (speaker events) or `refresh` asks for it."""

    source: Literal["api", "raw"] = "api"
    refresh: bool = False


def completed_conversations(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    return warehouse.query(
        """
        SELECT c.recording_id, c.conversation_id, r.partition_date
        FROM raw.symbl_conversations c JOIN raw.recordings r USING (recording_id)
        WHERE r.partition_date >= ? AND r.partition_date < ? AND c.status = 'completed'
        ORDER BY c.conversation_id
        """,
        [first, end],
    )


async def _fetch_all(
    client: SymblClient, signal: str, conversations: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Any, Exception | None]]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(conv: dict[str, Any]) -> tuple[dict[str, Any], Any, Exception | None]:
        async with gate:
            try:
                return conv, await client.get_signal(conv["conversation_id"], signal), None
            except Exception as exc:  # recorded per conversation; the other fetches go on
                return conv, None, exc

    return list(await asyncio.gather(*(one(c) for c in conversations)))


def _ids_clause(conversations: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    ids = [c["conversation_id"] for c in conversations]
    return f"conversation_id IN ({', '.join('?' * len(ids))})", ids


def current_responses(
    warehouse: WarehouseResource, signal: str, conversations: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The batch's stored answers for ``signal`` that are still current: fetched after any speaker events
    were applied to the conversation (events re-attribute every signal, so older answers are stale)."""
    if not conversations:
        return {}
    clause, ids = _ids_clause(conversations)
    rows = warehouse.query(
        f"""
        SELECT r.conversation_id, r.body, r.fetched_at
        FROM raw.symbl_responses r
        LEFT JOIN raw.symbl_speaker_events s
            ON s.conversation_id = r.conversation_id AND s.status = 'applied'
        WHERE r.endpoint = ? AND r.{clause}
          AND (s.sent_at IS NULL OR r.fetched_at >= s.sent_at)
        """,
        [signal, *ids],
    )
    return {r["conversation_id"]: r for r in rows}


def stored_responses(
    warehouse: WarehouseResource, signal: str, conversations: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Any, Exception | None]]:
    """The batch's verbatim answers for ``signal``, as if just fetched; a conversation never fetched has
    none, which is an error for it (re-derive cannot invent what was never received)."""
    if not conversations:
        return []
    clause, ids = _ids_clause(conversations)
    rows = warehouse.query(
        f"SELECT conversation_id, body FROM raw.symbl_responses WHERE endpoint = ? AND {clause}",
        [signal, *ids],
    )
    bodies = {r["conversation_id"]: r["body"] for r in rows}
    return [
        (
            conv,
            bodies.get(conv["conversation_id"]),
            None
            if conv["conversation_id"] in bodies
            else LookupError(f"no stored {signal} response to re-derive from"),
        )
        for conv in conversations
    ]


# Conversations handled per batch: answers, typed rows and their Arrow copies exist for one batch at a time.
# Measured at 300 recordings (bench/pipeline_partition.py, resident memory by step): a batch of 100 verbose
# transcripts (messages with sentiment) took the process from 428 to 936 MB; the other signals are far smaller.
BATCH_SIZE = 25


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class _Tally:
    """What a signal asset reports, accumulated batch by batch (counts per day, never the rows)."""

    tables: tuple[str, ...]
    rows: dict[str, Counter[Any]] = field(init=False)
    rejections: Counter[Any] = field(default_factory=Counter)
    fetched: int = 0
    reused: int = 0
    sample: dict[str, list[dict[str, Any]]] = field(init=False)  # the first rows of each table

    def __post_init__(self) -> None:
        self.rows = {t: Counter() for t in self.tables}
        self.sample = {t: [] for t in self.tables}


async def _land_batch(
    spec: Signal,
    config: SignalSourceConfig,
    client: SymblClient,
    warehouse: WarehouseResource,
    batch: list[dict[str, Any]],
    tally: _Tally,
    context: AssetExecutionContext,
) -> None:
    """Fetch (or read back) one batch's answers, parse them, and replace the batch's rows in one transaction.

    Each conversation's rows are replaced together, so a run stopped between batches leaves every conversation
    either as before or as now, never half; the next run finishes the rest without refetching what landed.
    """
    from_raw = config.source == "raw"
    kept: dict[str, dict[str, Any]] = {}
    if from_raw:
        fetched = await asyncio.to_thread(stored_responses, warehouse, spec.name, batch)
    else:
        kept = (
            {} if config.refresh else await asyncio.to_thread(current_responses, warehouse, spec.name, batch)
        )
        to_fetch = [c for c in batch if c["conversation_id"] not in kept]
        fetched = await _fetch_all(client, spec.name, to_fetch) if to_fetch else []
        fetched += [
            (c, kept[c["conversation_id"]]["body"], None) for c in batch if c["conversation_id"] in kept
        ]
        tally.fetched += len(to_fetch)
        tally.reused += len(kept)
    now = datetime.now(UTC)
    raw_rows: list[dict[str, Any]] = []
    typed: dict[str, list[dict[str, Any]]] = {t: [] for t in spec.tables}
    rejections: list[dict[str, Any]] = []
    for conv, body, error in fetched:
        stage = f"fetch:{spec.name}"
        # A kept answer stays as stored (written once, with its own fetch time); a new one is added.
        if error is None and not from_raw and conv["conversation_id"] not in kept:
            raw_rows.append(
                {
                    "conversation_id": conv["conversation_id"],
                    "partition_date": conv["partition_date"],
                    "endpoint": spec.name,
                    "fetched_at": now,
                    "body": json.dumps(body),
                }
            )
        if error is None:
            try:
                for table, rows in spec.parse(conv["conversation_id"], conv["partition_date"], body).items():
                    typed[table].extend(rows)
                continue
            except parse.ParseError as exc:
                stage, error = f"parse:{spec.name}", exc
        context.log.error(f"{conv['recording_id']} / {conv['conversation_id']}: {stage} failed: {error}")
        rejections.append(
            {
                "partition_date": conv["partition_date"],
                "source_file": f"symbl:conversation/{conv['conversation_id']}",
                "recording_id": conv["recording_id"],
                "stage": stage,
                "reason": f"{type(error).__name__}: {error}",
                "rejected_at": now,
            }
        )
    await warehouse.awrite(
        lambda w: _write_batch(spec, w, batch, raw_rows, typed, rejections, from_raw, set(kept))
    )
    for table, rows in typed.items():
        tally.rows[table].update(r["partition_date"] for r in rows)
    tally.rejections.update(r["partition_date"] for r in rejections)
    for table, sample in tally.sample.items():
        sample.extend(typed[table][: 5 - len(sample)])


def _write_batch(
    spec: Signal,
    writer: WarehouseWriter,
    batch: list[dict[str, Any]],
    raw_rows: list[dict[str, Any]],
    typed: dict[str, list[dict[str, Any]]],
    rejections: list[dict[str, Any]],
    from_raw: bool,
    kept: set[str],
) -> None:
    ids = [c["conversation_id"] for c in batch]
    if not from_raw:  # re-deriving leaves the verbatim answers exactly as they are, and so do kept ones
        answered = [i for i in ids if i not in kept]
        writer.replace_ids(
            "symbl_responses", "conversation_id", answered, raw_rows, "endpoint = ?", [spec.name]
        )
    for table, rows in typed.items():
        writer.replace_ids(table, "conversation_id", ids, rows)
    writer.replace_ids(
        "recording_rejections", "recording_id", [c["recording_id"] for c in batch], rejections,
        "stage IN (?, ?)", [f"fetch:{spec.name}", f"parse:{spec.name}"],
    )  # fmt: skip


_COMPLETED = "SELECT {} FROM raw.symbl_conversations WHERE status = 'completed'"


def _remove_not_completed(
    spec: Signal, warehouse: WarehouseResource, first: date, end: date, from_raw: bool
) -> int:
    """Delete the window's rows (and fetch/parse rejections) of conversations no longer completed in the ledger."""
    completed = Subquery(_COMPLETED.format("conversation_id") + " AND conversation_id IS NOT NULL")
    removed = 0
    with warehouse.writer() as writer:
        for table in spec.tables:
            removed += writer.retain_ids(table, first, end, "conversation_id", completed)
        if not from_raw:
            removed += writer.retain_ids(
                "symbl_responses", first, end, "conversation_id", completed, "endpoint = ?", [spec.name]
            )
        writer.retain_ids(
            "recording_rejections", first, end, "recording_id", Subquery(_COMPLETED.format("recording_id")),
            "stage IN (?, ?)", [f"fetch:{spec.name}", f"parse:{spec.name}"],
        )  # fmt: skip
    return removed


def build_signal_asset(spec: Signal) -> dg.AssetsDefinition:
    source = (
        f"From GET /v1/conversations/{{id}}/{spec.path} for every completed conversation of the partition; the "
        "verbatim response is kept in raw.symbl_responses."
    )

    def describe(table: str) -> str:
        others = [f"raw.{t}" for t in spec.tables if t != table]
        return " ".join(
            [spec.tables[table], source, *([f"The same answer fills {', '.join(others)}."] if others else [])]
        )

    @dg.multi_asset(
        name=spec.asset_name,
        specs=[
            dg.AssetSpec(
                table,
                group_name="symbl",
                kinds={"python", "duckdb"},
                # Speaker events are applied first: every signal then reads the re-attributed speakers.
                deps=["symbl_conversations", "symbl_speaker_events"],
                description=describe(table),
                metadata=column_schema_metadata(table),
            )
            for table in spec.tables
        ],
        **DAILY_WAREHOUSE_WRITER,
        retry_policy=NETWORK_RETRY,
    )
    async def _signal_asset(
        context: AssetExecutionContext,
        config: SignalSourceConfig,
        symbl: SymblResource,
        warehouse: WarehouseResource,
    ):  # an async generator of MaterializeResult: Dagster reads no AsyncIterator annotation on a multi-asset
        clock = Stopwatch()
        _, _, first, end = window_dates(context)
        conversations = completed_conversations(warehouse, first, end)
        from_raw = config.source == "raw"
        context.log.info(
            f"{'re-deriving' if from_raw else 'fetching'} {spec.name} for {len(conversations)} "
            f"conversations ({first}..{end})"
        )

        tables = tuple(spec.tables)
        tally = _Tally(tables)
        progress = Progress(context.log, len(conversations), f"{spec.name} conversations")

        async def land_all() -> None:
            async with symbl.client() as client:
                for batch in _batches(conversations, BATCH_SIZE):
                    await _land_batch(spec, config, client, warehouse, batch, tally, context)
                    for _ in batch:
                        progress.add("done")

        if conversations:
            await land_all()
        # Rows of conversations that are no longer completed in the window (a job re-run that failed) go too.
        removed = _remove_not_completed(spec, warehouse, first, end, from_raw)
        if removed:
            context.log.info(f"removed {removed} rows of conversations no longer completed")
        # The fetch is one for all the tables: each table's materialization carries its figures.
        step = {
            "conversations": len(conversations),
            "source": config.source,
            "fetched": tally.fetched,
            "reused": tally.reused,
            "errors": sum(tally.rejections.values()),
            "batches": -(-len(conversations) // BATCH_SIZE),
            "seconds": clock.seconds,
        }
        for table in tables:
            rows = tally.rows[table]
            metadata = {
                "dagster/row_count": sum(rows.values()),
                **step,
                "preview": preview(table, tally.sample[table]),
            }
            own = {  # per-day figures of a ranged run
                "dagster/row_count": rows.elements(),
                "conversations": [c["partition_date"] for c in conversations],
                "errors": tally.rejections.elements(),
            }
            yield dg.MaterializeResult(
                asset_key=table, metadata=scope_to_partitions(context, metadata, own, asset_key=table)
            )

    return _signal_asset


signal_assets = [build_signal_asset(spec) for spec in signal_registry.STORED]
