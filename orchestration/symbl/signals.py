"""One asset per Conversation API signal: fetch for the window's completed conversations, keep the raw JSON,
derive the typed table. Fetch and parse errors are recorded per conversation and never stop the others."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.progress import Progress
from orchestration.symbl import parse
from orchestration.symbl.client import SymblClient
from orchestration.symbl.resource import SymblResource
from orchestration.warehouse import duckdb_store
from orchestration.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.warehouse.partition_metadata import scope_to_partitions
from orchestration.warehouse.resource import WarehouseResource

FETCH_CONCURRENCY = 8


class SignalSourceConfig(dg.Config):
    """`api` fetches what has not landed yet from Symbl; `raw` re-derives the typed tables of the window from
    raw.symbl_responses with no API call at all (after a parser fix, one backfill brings the whole history up
    to date). A completed conversation's answers are final, so `api` never fetches one twice unless it was
    re-attributed since (speaker events) or `refresh` asks for it."""

    source: Literal["api", "raw"] = "api"
    refresh: bool = False


@dataclass(frozen=True)
class SignalSpec:
    signal: str  # client signal name, also the `endpoint` value in raw.symbl_responses
    asset_name: str
    tables: tuple[str, ...]
    description: str
    # Rows of the typed table(s) this asset owns, when it shares a table with another asset.
    owned_rows_predicate: str = ""


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "messages",
        "symbl_messages",
        ("symbl_messages",),
        "Transcript messages with speaker, timing and sentiment.",
    ),
    SignalSpec(
        "topics",
        "symbl_topics",
        ("symbl_topics",),
        "Topics with relevance score, sentiment and parent topics.",
    ),
    SignalSpec(
        "action_items",
        "symbl_action_items",
        ("symbl_action_items",),
        "Action items with assignee, due date and whether they were definitive.",
    ),
    SignalSpec("questions", "symbl_questions", ("symbl_questions",), "Questions asked, with who asked them."),
    SignalSpec(
        "follow_ups", "symbl_follow_ups", ("symbl_follow_ups",), "Follow-ups (commitments to reconnect)."
    ),
    SignalSpec(
        "entities",
        "symbl_entities",
        ("symbl_entities",),
        "Entities (people, organisations, money, dates, custom) - one row per match occurrence.",
    ),
    SignalSpec(
        "analytics",
        "symbl_analytics",
        ("symbl_analytics_members", "symbl_analytics_metrics"),
        "Talk/listen time, pace and overlap per member, and silence/talk/overlap totals per conversation.",
    ),
    SignalSpec(
        "trackers", "symbl_trackers", ("symbl_tracker_hits",), "Tracker hits, one row per matched reference."
    ),
    SignalSpec(
        "summary",
        "symbl_summaries",
        ("symbl_summaries",),
        "Symbl's conversation summary.",
        "source = 'symbl'",
    ),
)


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
    client: SymblClient, signal: str, conversations: list[dict[str, Any]], progress: Progress
) -> list[tuple[dict[str, Any], Any, Exception | None]]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(conv: dict[str, Any]) -> tuple[dict[str, Any], Any, Exception | None]:
        async with gate:
            try:
                got = conv, await client.get_signal(conv["conversation_id"], signal), None
                progress.add("fetched")
                return got
            except Exception as exc:  # recorded per conversation; the other fetches go on
                progress.add("failed")
                return conv, None, exc

    return list(await asyncio.gather(*(one(c) for c in conversations)))


def current_responses(
    warehouse: WarehouseResource, signal: str, first: date, end: date
) -> dict[str, dict[str, Any]]:
    """The window's stored answers for ``signal`` that are still current: fetched after any speaker events
    were applied to the conversation (events re-attribute every signal, so older answers are stale)."""
    rows = warehouse.query(
        """
        SELECT r.conversation_id, r.body, r.fetched_at
        FROM raw.symbl_responses r
        LEFT JOIN raw.symbl_speaker_events s
            ON s.conversation_id = r.conversation_id AND s.status = 'applied'
        WHERE r.partition_date >= ? AND r.partition_date < ? AND r.endpoint = ?
          AND (s.sent_at IS NULL OR r.fetched_at >= s.sent_at)
        """,
        [first, end, signal],
    )
    return {r["conversation_id"]: r for r in rows}


def stored_responses(
    warehouse: WarehouseResource, signal: str, conversations: list[dict[str, Any]], first: date, end: date
) -> list[tuple[dict[str, Any], Any, Exception | None]]:
    """The window's verbatim answers for ``signal``, as if just fetched; a conversation never fetched has
    none, which is an error for it (re-derive cannot invent what was never received)."""
    rows = warehouse.query(
        "SELECT conversation_id, body FROM raw.symbl_responses "
        "WHERE partition_date >= ? AND partition_date < ? AND endpoint = ?",
        [first, end, signal],
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


def _parse(spec: SignalSpec, conv: dict[str, Any], body: Any) -> dict[str, list[dict[str, Any]]]:
    parser = parse.PARSERS[spec.signal]
    result = parser(conv["conversation_id"], conv["partition_date"], body)
    if len(spec.tables) == 1:
        return {spec.tables[0]: result}
    return dict(zip(spec.tables, result, strict=True))


def build_signal_asset(spec: SignalSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.asset_name,
        group_name="symbl",
        kinds={"python", "duckdb"},
        # Speaker events are applied first: every signal then reads the re-attributed speakers.
        deps=["symbl_conversations", "symbl_speaker_events"],
        **DAILY_WAREHOUSE_WRITER,
        retry_policy=NETWORK_RETRY,
        description=(
            f"{spec.description} From GET /v1/conversations/{{id}}/{spec.signal.replace('_', '-')} for every "
            "completed conversation of the partition; the verbatim response is kept in raw.symbl_responses."
        ),
        metadata=column_schema_metadata(*spec.tables),
    )
    def _signal_asset(
        context: AssetExecutionContext,
        config: SignalSourceConfig,
        symbl: SymblResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        clock = Stopwatch()
        _, _, first, end = window_dates(context)
        conversations = completed_conversations(warehouse, first, end)
        from_raw = config.source == "raw"
        context.log.info(
            f"{'re-deriving' if from_raw else 'fetching'} {spec.signal} for {len(conversations)} "
            f"conversations ({first}..{end})"
        )

        async def fetch(todo: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Any, Exception | None]]:
            async with symbl.client() as client:
                progress = Progress(context.log, len(todo), f"{spec.signal} fetches")
                return await _fetch_all(client, spec.signal, todo, progress)

        kept: dict[str, dict[str, Any]] = {}
        if from_raw:
            fetched = stored_responses(warehouse, spec.signal, conversations, first, end)
        else:
            kept = {} if config.refresh else current_responses(warehouse, spec.signal, first, end)
            to_fetch = [c for c in conversations if c["conversation_id"] not in kept]
            context.log.info(f"{len(kept)} already landed and current; fetching {len(to_fetch)}")
            fetched = asyncio.run(fetch(to_fetch)) if to_fetch else []
            fetched += [
                (c, kept[c["conversation_id"]]["body"], None)
                for c in conversations
                if c["conversation_id"] in kept
            ]
        now = datetime.now(UTC)
        raw_rows: list[dict[str, Any]] = []
        typed: dict[str, list[dict[str, Any]]] = {t: [] for t in spec.tables}
        rejections: list[dict[str, Any]] = []
        for conv, body, error in fetched:
            stage = f"fetch:{spec.signal}"
            if error is None and not from_raw:
                previous = kept.get(conv["conversation_id"])
                raw_rows.append(
                    {
                        "conversation_id": conv["conversation_id"],
                        "partition_date": conv["partition_date"],
                        "endpoint": spec.signal,
                        # A kept answer keeps its own fetch time (and its text exactly as it arrived).
                        "fetched_at": previous["fetched_at"] if previous else now,
                        "body": previous["body"] if previous else json.dumps(body),
                    }
                )
            if error is None:
                try:
                    for table, rows in _parse(spec, conv, body).items():
                        typed[table].extend(rows)
                    continue
                except parse.ParseError as exc:
                    stage, error = f"parse:{spec.signal}", exc
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

        with warehouse.connection() as con:
            if not from_raw:  # re-deriving leaves the verbatim answers exactly as they are
                duckdb_store.replace_partition_rows(
                    con, "symbl_responses", first, end, raw_rows, "endpoint = ?", [spec.signal]
                )
            for table, rows in typed.items():
                duckdb_store.replace_partition_rows(con, table, first, end, rows, spec.owned_rows_predicate)
            duckdb_store.replace_partition_rows(
                con,
                "recording_rejections",
                first,
                end,
                rejections,
                "stage IN (?, ?)",
                [f"fetch:{spec.signal}", f"parse:{spec.signal}"],
            )
        main_table = spec.tables[0]
        metadata = {
            "dagster/row_count": sum(len(r) for r in typed.values()),
            **{f"rows.{t}": len(r) for t, r in typed.items()},
            "conversations": len(conversations),
            "source": config.source,
            "fetched": 0 if from_raw else len(conversations) - len(kept),
            "reused": len(kept),
            "errors": len(rejections),
            "preview": preview(main_table, typed[main_table]),
            "seconds": clock.seconds,
        }
        own = {  # per-day figures of a ranged run
            "dagster/row_count": [r["partition_date"] for rows in typed.values() for r in rows],
            **{f"rows.{t}": [r["partition_date"] for r in rows] for t, rows in typed.items()},
            "conversations": [c["partition_date"] for c in conversations],
            "errors": [r["partition_date"] for r in rejections],
        }
        return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))

    return _signal_asset


signal_assets = [build_signal_asset(spec) for spec in SIGNALS]
