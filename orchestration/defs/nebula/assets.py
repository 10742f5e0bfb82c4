"""Nebula (Symbl's LLM) summaries: an optional second summary per conversation, when a Nebula key is configured."""

import asyncio
import contextlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field, model_validator

from orchestration.defs.semarize import transcripts as transcript_lib
from orchestration.defs.symbl import parse
from orchestration.defs.symbl.signals import SignalSourceConfig
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.http import Bounds, Retries, VendorClient, Waits
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    NETWORK_RETRY,
    window_dates,
)
from orchestration.settings import NebulaSettings, SettingsResource, require_real_credentials

SUMMARY_INSTRUCTION = (
    "Summarize this sales or support call in 3-5 sentences: the customer's situation, what was agreed, "
    "and the next steps with owners and dates."
)
NEBULA_CONCURRENCY = 4


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
    turns = warehouse.query(
        "SELECT * FROM raw.transcripts WHERE partition_date >= ? AND partition_date < ? "
        "ORDER BY conversation_id, turn_index",
        [first, end],
    )
    by_conv: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in turns:
        by_conv[t["conversation_id"]].append(t)
    # A summary generated from the conversation's current messages is kept: a re-run asks Nebula nothing.
    kept = {
        r["conversation_id"]: r
        for r in warehouse.query(
            """
            SELECT n.conversation_id, n.body, n.fetched_at FROM raw.symbl_responses n
            JOIN raw.symbl_responses m ON m.conversation_id = n.conversation_id AND m.endpoint = 'messages'
            WHERE n.partition_date >= ? AND n.partition_date < ? AND n.endpoint = 'nebula_summary'
              AND n.fetched_at >= m.fetched_at
            """,
            [first, end],
        )
        if not config.refresh
    }
    context.log.info(f"{len(by_conv)} conversations; {len(kept)} Nebula summaries already current")

    async def run_all() -> list[tuple[str, Any, Any, Exception | None]]:
        gate = asyncio.Semaphore(NEBULA_CONCURRENCY)
        async with nebula.http_client() as client:

            async def one(cid: str, rows: list[dict[str, Any]]) -> tuple[str, Any, Any, Exception | None]:
                async with gate:
                    try:
                        body = await nebula.generate(client, transcript_lib.transcript_text(rows))
                        return cid, rows[0], body, None
                    except Exception as exc:  # recorded per conversation; the others go on
                        return cid, rows[0], None, exc

            todo = {c: r for c, r in by_conv.items() if c not in kept}
            return list(await asyncio.gather(*(one(c, r) for c, r in todo.items())))

    now = datetime.now(UTC)
    summaries, raw_rows, rejections = [], [], []
    results = await run_all()
    results += [(cid, rows[0], kept[cid]["body"], None) for cid, rows in by_conv.items() if cid in kept]
    for cid, first_turn, body, error in results:
        if error is None:
            previous = kept.get(cid)
            raw_rows.append(
                {
                    "conversation_id": cid,
                    "partition_date": first_turn["partition_date"],
                    "endpoint": "nebula_summary",
                    "fetched_at": previous["fetched_at"] if previous else now,
                    "body": previous["body"] if previous else json.dumps(body),
                }
            )
            try:
                summaries += parse.parse_nebula_summary(cid, first_turn["partition_date"], body)
                continue
            except parse.ParseError as exc:
                error = exc
        context.log.error(f"{first_turn['recording_id']} / {cid}: Nebula summary failed: {error}")
        rejections.append(
            {
                "partition_date": first_turn["partition_date"],
                "source_file": f"nebula:conversation/{cid}",
                "recording_id": first_turn["recording_id"],
                "stage": "fetch:nebula_summary",
                "reason": f"{type(error).__name__}: {error}",
                "rejected_at": now,
            }
        )
    with warehouse.writer() as writer:
        writer.replace_partition("nebula_summaries", first, end, summaries)
        writer.replace_partition("symbl_responses", first, end, raw_rows, "endpoint = 'nebula_summary'")
        writer.replace_partition(
            "recording_rejections", first, end, rejections, "stage = 'fetch:nebula_summary'"
        )
    metadata = {
        "enabled": True,
        "dagster/row_count": len(summaries),
        "errors": len(rejections),
        "generated": len(by_conv) - len(kept),
        "reused": len(kept),
        "preview": preview("nebula_summaries", summaries),
        "seconds": clock.seconds,
    }
    own = {  # per-day figures of a ranged run
        "dagster/row_count": [r["partition_date"] for r in summaries],
        "errors": [r["partition_date"] for r in rejections],
    }
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))


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
