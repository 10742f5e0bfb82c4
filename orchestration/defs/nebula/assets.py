"""Nebula (Symbl's LLM) summaries: an optional second summary per conversation, when a Nebula key is configured."""

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field, model_validator

from orchestration.defs.semarize import transcripts as transcript_lib
from orchestration.defs.semarize.transcript_store import conversation_turns, transcribed_conversations
from orchestration.defs.symbl import parse
from orchestration.defs.symbl.signals import SignalSourceConfig
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import Subquery, WarehouseResource, WarehouseWriter
from orchestration.http import Bounds, Retries, VendorClient, Waits
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.progress import Progress
from orchestration.settings import NebulaSettings, SettingsResource, require_real_credentials

SUMMARY_INSTRUCTION = (
    "Summarize this sales or support call in 3-5 sentences: the customer's situation, what was agreed, "
    "and the next steps with owners and dates."
)
NEBULA_CONCURRENCY = 4
# Conversations summarised per batch: their turns and answers are in memory at once, never a whole day's.
SUMMARY_BATCH = 200
REJECTION_STAGE = "fetch:nebula_summary"


class NebulaClient(VendorClient):
    """Nebula's generate API (key in the ``ApiKey`` header). Failures: transport errors as httpx raises them,
    refusals and redirects as ``RuntimeError`` naming the status."""

    vendor = "Nebula"

    async def generate(self, body: dict[str, Any]) -> Any:
        response = await self._send(
            "POST", "/v1/model/generate", endpoint="POST /v1/model/generate", json=body
        )
        return response.json()


class NebulaResource(SettingsResource):
    """Nebula's generate API. Disabled (the asset writes nothing) when no API key is configured.

    Fields not given come from NEBULA_BASE_URL and NEBULA_API_KEY (the sandbox's key on loopback).
    """

    settings_section = NebulaSettings

    base_url: str = Field(
        default="http://127.0.0.1:8765/nebula", description="Nebula base URL (env NEBULA_BASE_URL)"
    )
    api_key: str = Field(
        default="", description="Nebula API key (env NEBULA_API_KEY); empty disables summaries"
    )
    max_new_tokens: int = 256
    request_timeout_seconds: float = 60.0
    # Overall bound on one request (connect + the complete answer: a trickling answer ends here) and the
    # largest answer read (a summary is a few KB).
    request_deadline_seconds: float = 180.0
    max_response_bytes: int = 4 * 1024 * 1024
    max_retries: int = 4

    @model_validator(mode="after")
    def _sandbox_credentials_only_on_loopback(self) -> "NebulaResource":
        require_real_credentials(self.base_url, {"NEBULA_API_KEY": self.api_key})
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    async def generate(self, client: NebulaClient, conversation_text: str) -> Any:
        body = {
            "prompt": {"instruction": SUMMARY_INSTRUCTION, "conversation": {"text": conversation_text}},
            "max_new_tokens": self.max_new_tokens,
            "temperature": 0,
        }
        return await client.generate(body)

    def http_client(self) -> NebulaClient:
        return NebulaClient(
            self.base_url,
            bounds=Bounds(
                self.request_timeout_seconds, self.request_deadline_seconds, self.max_response_bytes
            ),
            retries=Retries(max_retries=self.max_retries, waits=Waits(0.5, 2.0, 10.0)),
            headers={"ApiKey": self.api_key},
        )


@dg.asset(
    name="nebula_summaries",
    group_name="symbl",
    kinds={"python", "duckdb"},
    deps=["transcripts"],
    **DAILY_WAREHOUSE_WRITER,
    retry_policy=NETWORK_RETRY,
    description=(
        "A Nebula LLM summary of each conversation's transcript, in raw.nebula_summaries (Symbl's own summary "
        "is raw.symbl_summaries; the two tables have the same columns). Skipped (no rows, no calls) when "
        "NEBULA_API_KEY is not set."
    ),
    metadata=column_schema_metadata("nebula_summaries"),
)
async def nebula_summaries(
    context: AssetExecutionContext,
    config: SignalSourceConfig,
    nebula: NebulaResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    if config.source == "raw":
        return _rederive_summaries(warehouse, first, end, clock)
    if not nebula.enabled:
        context.log.info("NEBULA_API_KEY not set: Nebula summaries are disabled")
        return dg.MaterializeResult(metadata={"enabled": False, "dagster/row_count": 0})
    ids = transcribed_conversations(warehouse, first, end)
    # A summary generated from the conversation's current messages is kept as it is (answer, typed rows and any
    # rejection untouched): a re-run asks Nebula nothing and writes nothing for it.
    current = set() if config.refresh else _current_summaries(warehouse, first, end)
    todo = [cid for cid in ids if cid not in current]
    context.log.info(f"{len(ids)} conversations; {len(current)} Nebula summaries already current")
    progress = Progress(context.log, len(todo), "conversations summarised")
    generated, errors = 0, Counter[Any]()  # errors: per day
    if todo:
        async with nebula.http_client() as client:
            for i in range(0, len(todo), SUMMARY_BATCH):
                batch = todo[i : i + SUMMARY_BATCH]
                turns = await asyncio.to_thread(conversation_turns, warehouse, batch)
                landed = await _summarise_batch(context, nebula, client, batch, turns, progress)
                await warehouse.awrite(landed.write)
                generated += len(landed.answers)
                errors.update(r["partition_date"] for r in landed.rejections)
    # Summaries, answers and rejections of conversations no longer transcribed in the window go.
    _remove_untranscribed(warehouse, first, end, ids)
    per_day = _summaries_per_day(warehouse, first, end)
    metadata = {
        "enabled": True,
        "dagster/row_count": sum(per_day.values()),
        "errors": sum(errors.values()),
        "generated": generated,
        "reused": len(current),
        "preview": preview("nebula_summaries", _first_summaries(warehouse, first, end)),
        "seconds": clock.seconds,
    }
    own = {"dagster/row_count": per_day.elements(), "errors": errors.elements()}  # per day of a ranged run
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))


@dataclass
class _LandedBatch:
    """One batch's Nebula answers typed: what replaces the batch's conversations' rows."""

    batch: list[str]
    turns: dict[str, list[dict[str, Any]]]
    answers: list[dict[str, Any]] = field(default_factory=list)  # raw.symbl_responses rows
    summaries: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def write(self, writer: WarehouseWriter) -> None:
        """In one transaction: a failed conversation loses its stale summary and gains its rejection."""
        batch = self.batch
        recordings = sorted({rows[0]["recording_id"] for rows in self.turns.values()})
        writer.replace_ids("nebula_summaries", "conversation_id", batch, self.summaries)
        writer.replace_ids(
            "symbl_responses", "conversation_id", batch, self.answers, "endpoint = 'nebula_summary'"
        )
        writer.replace_ids(
            "recording_rejections",
            "recording_id",
            recordings,
            self.rejections,
            f"stage = '{REJECTION_STAGE}'",
        )


async def _summarise_batch(
    context: AssetExecutionContext,
    nebula: NebulaResource,
    client: NebulaClient,
    batch: list[str],
    turns: dict[str, list[dict[str, Any]]],
    progress: Progress,
) -> _LandedBatch:
    gate = asyncio.Semaphore(NEBULA_CONCURRENCY)

    async def one(rows: list[dict[str, Any]]) -> tuple[Any, Exception | None]:
        async with gate:
            try:
                return await nebula.generate(client, transcript_lib.transcript_text(rows)), None
            except Exception as exc:  # recorded per conversation; the others go on
                return None, exc
            finally:
                progress.add()

    results = await asyncio.gather(*(one(rows) for rows in turns.values()))
    now = datetime.now(UTC)
    landed = _LandedBatch(batch, turns)
    for (cid, rows), (body, error) in zip(turns.items(), results, strict=True):
        day = rows[0]["partition_date"]
        if error is None:
            landed.answers.append(
                {
                    "conversation_id": cid,
                    "partition_date": day,
                    "endpoint": "nebula_summary",
                    "fetched_at": now,
                    "body": json.dumps(body),
                }
            )
            try:
                landed.summaries += parse.parse_nebula_summary(cid, day, body)
                continue
            except parse.ParseError as exc:
                error = exc
        context.log.error(f"{rows[0]['recording_id']} / {cid}: Nebula summary failed: {error}")
        landed.rejections.append(
            {
                "partition_date": day,
                "source_file": f"nebula:conversation/{cid}",
                "recording_id": rows[0]["recording_id"],
                "stage": REJECTION_STAGE,
                "reason": f"{type(error).__name__}: {error}",
                "rejected_at": now,
            }
        )
    return landed


def _current_summaries(warehouse: WarehouseResource, first: date, end: date) -> set[str]:
    """Conversations whose Nebula answer is at least as new as their messages."""
    rows = warehouse.query(
        """
        SELECT n.conversation_id FROM raw.symbl_responses n
        JOIN raw.symbl_responses m ON m.conversation_id = n.conversation_id AND m.endpoint = 'messages'
        WHERE n.partition_date >= ? AND n.partition_date < ? AND n.endpoint = 'nebula_summary'
          AND n.fetched_at >= m.fetched_at
        """,
        [first, end],
    )
    return {r["conversation_id"] for r in rows}


def _remove_untranscribed(warehouse: WarehouseResource, first: date, end: date, ids: list[str]) -> None:
    transcribed = Subquery(
        "SELECT recording_id FROM raw.transcripts WHERE partition_date >= ? AND partition_date < ?",
        [first, end],
    )
    with warehouse.writer() as writer:
        writer.retain_ids("nebula_summaries", first, end, "conversation_id", ids)
        writer.retain_ids(
            "symbl_responses", first, end, "conversation_id", ids, "endpoint = 'nebula_summary'"
        )
        writer.retain_ids(
            "recording_rejections", first, end, "recording_id", transcribed, f"stage = '{REJECTION_STAGE}'"
        )


def _summaries_per_day(warehouse: WarehouseResource, first: date, end: date) -> Counter[Any]:
    rows = warehouse.query(
        "SELECT partition_date, count(*) AS n FROM raw.nebula_summaries "
        "WHERE partition_date >= ? AND partition_date < ? GROUP BY 1",
        [first, end],
    )
    return Counter({r["partition_date"]: r["n"] for r in rows})


def _first_summaries(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    return warehouse.query(
        "SELECT * FROM raw.nebula_summaries WHERE partition_date >= ? AND partition_date < ? "
        "ORDER BY conversation_id LIMIT 5",
        [first, end],
    )


def _rederive_summaries(warehouse: WarehouseResource, first: Any, end: Any, clock: Stopwatch) -> Any:
    """The window's Nebula summaries parsed again from the stored answers: no Nebula call."""
    stored = warehouse.query(
        "SELECT conversation_id, partition_date, body FROM raw.symbl_responses "
        "WHERE partition_date >= ? AND partition_date < ? AND endpoint = 'nebula_summary'",
        [first, end],
    )
    summaries = []
    for row in stored:
        with contextlib.suppress(parse.ParseError):  # a bad answer was rejected when it arrived
            summaries += parse.parse_nebula_summary(
                row["conversation_id"], row["partition_date"], row["body"]
            )
    with warehouse.writer() as writer:
        writer.replace_partition("nebula_summaries", first, end, summaries)
    return dg.MaterializeResult(
        metadata={
            "source": "raw",
            "dagster/row_count": len(summaries),
            "preview": preview("nebula_summaries", summaries),
            "seconds": clock.seconds,
        }
    )
