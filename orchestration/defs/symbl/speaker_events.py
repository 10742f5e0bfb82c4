"""The `symbl_speaker_events` asset: who spoke when, sent to Symbl before any signal is fetched.

Diarized media comes back from Symbl with generic `Speaker <n>` speakers, so no message can be tied to the rep.
When the recording platform reported speaker events (Zoom and Teams do), the manifest carries them and this
asset sends them to Symbl (`PUT /v1/conversations/{id}/speakers`), which re-attributes messages, insights and
analytics. Each (conversation, event set) is sent once: the table records what was sent, so a re-run makes no
call and a changed manifest sends the new events.
"""

import asyncio
import hashlib
import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.submission import speaker_events_payload
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import DAILY_WAREHOUSE_WRITER, NETWORK_RETRY, window_dates

CONCURRENCY = 8
# Conversations handled per batch: their events (a long call's can be thousands) are read, sent and recorded one
# batch at a time, so a day of 10,000 calls never holds every event list at once.
BATCH_SIZE = 100


def _pending(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    """Completed conversations whose recording has speaker events, with what was last sent for them (the events
    themselves are read per batch, ``_events``)."""
    return warehouse.query(
        """
        SELECT c.conversation_id, c.recording_id, r.partition_date,
               s.events_sha256 AS sent_sha256, s.status AS sent_status
        FROM raw.symbl_conversations c
        JOIN raw.recordings r USING (recording_id)
        LEFT JOIN raw.symbl_speaker_events s USING (conversation_id)
        WHERE r.partition_date >= ? AND r.partition_date < ? AND c.status = 'completed'
          AND r.speaker_events IS NOT NULL
        ORDER BY c.conversation_id
        """,
        [first, end],
    )


def _events(warehouse: WarehouseResource, first: date, end: date, recording_ids: list[str]) -> dict[str, str]:
    rows = warehouse.query(
        "SELECT recording_id, speaker_events FROM raw.recordings WHERE partition_date >= ? AND partition_date < ? "
        "AND recording_id IN (SELECT unnest(?::VARCHAR[]))",
        [first, end, recording_ids],
    )
    return {r["recording_id"]: r["speaker_events"] for r in rows}


def events_sha256(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dg.asset(
    name="symbl_speaker_events",
    group_name="symbl",
    kinds={"symbl", "duckdb"},
    owners=["team:data-platform"],
    deps=["symbl_conversations"],
    **DAILY_WAREHOUSE_WRITER,
    retry_policy=NETWORK_RETRY,
    description=(
        "Speaker events from the recording platform (manifest `speaker_events`) sent to Symbl with PUT "
        "/v1/conversations/{id}/speakers once each job completes and before any signal is fetched, so that "
        "diarized `Speaker <n>` voices are re-attributed to the people who spoke. One row per conversation."
    ),
    metadata=column_schema_metadata("symbl_speaker_events"),
)
async def symbl_speaker_events(
    context: AssetExecutionContext, symbl: SymblResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    clock = Stopwatch()
    _, _, first, end = window_dates(context)
    candidates = _pending(warehouse, first, end)
    context.log.info(f"{len(candidates)} conversations with speaker events")
    tally: Counter[str] = Counter()
    sample: list[dict[str, Any]] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(client: SymblClient, row: dict[str, Any], payload: list[dict[str, Any]]) -> str | None:
        async with gate:
            try:
                await client.put_speaker_events(row["conversation_id"], payload)
                return None
            except Exception as exc:  # recorded for this conversation; the others go on
                return f"{type(exc).__name__}: {exc}"

    async def send_batch(client: SymblClient, batch: list[dict[str, Any]]) -> None:
        events = await asyncio.to_thread(_events, warehouse, first, end, [r["recording_id"] for r in batch])
        todo = []
        for row in batch:
            payload = speaker_events_payload(json.loads(events[row["recording_id"]]))
            sha = events_sha256(payload)
            if not (row["sent_sha256"] == sha and row["sent_status"] == "applied"):
                todo.append((row, payload, sha))
        errors = await asyncio.gather(*(send(client, row, payload) for row, payload, _ in todo))
        now = datetime.now(UTC)
        rows = [
            {
                "conversation_id": row["conversation_id"],
                "recording_id": row["recording_id"],
                "partition_date": row["partition_date"],
                "events_sha256": sha,
                "event_count": len(payload),
                "status": "applied" if error is None else "failed",
                "error": error,
                "sent_at": now,
            }
            for (row, payload, sha), error in zip(todo, errors, strict=True)
        ]
        for row in rows:
            tally[row["status"]] += 1
            if row["error"]:
                context.log.error(f"{row['recording_id']}: speaker events not applied: {row['error']}")
        if rows:
            ids = [r["conversation_id"] for r in rows]
            await warehouse.awrite(
                lambda w: w.replace_ids("symbl_speaker_events", "conversation_id", ids, rows)
            )
        sample.extend(rows[: 5 - len(sample)])

    if candidates:
        async with symbl.client() as client:
            for i in range(0, len(candidates), BATCH_SIZE):
                await send_batch(client, candidates[i : i + BATCH_SIZE])
    context.log.info(
        f"speaker events sent for {tally['applied'] + tally['failed']} of {len(candidates)} conversations "
        f"({tally['failed']} failed; the rest unchanged since they were applied)"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": tally["applied"] + tally["failed"],
            "conversations_with_events": len(candidates),
            "sent": tally["applied"],
            "failed": tally["failed"],
            "preview": preview("symbl_speaker_events", sample),
            "seconds": clock.seconds,
        }
    )
