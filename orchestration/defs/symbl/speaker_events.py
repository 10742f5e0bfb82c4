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
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.submission import speaker_events_payload
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import DAILY_WAREHOUSE_WRITER, NETWORK_RETRY, window_dates

CONCURRENCY = 8


def _pending(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    """Completed conversations whose recording has speaker events, with what was last sent for them."""
    return warehouse.query(
        """
        SELECT c.conversation_id, c.recording_id, r.partition_date, r.speaker_events,
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
    todo = []
    for row in candidates:
        payload = speaker_events_payload(json.loads(row["speaker_events"]))
        sha = events_sha256(payload)
        if row["sent_sha256"] == sha and row["sent_status"] == "applied":
            continue
        todo.append((row, payload, sha))
    context.log.info(f"{len(candidates)} conversations with speaker events; {len(todo)} to send")

    async def send_all() -> list[tuple[dict[str, Any], list[dict[str, Any]], str, str | None]]:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with symbl.client() as client:

            async def one(item: tuple[dict[str, Any], list[dict[str, Any]], str]) -> Any:
                row, payload, sha = item
                async with gate:
                    try:
                        await client.put_speaker_events(row["conversation_id"], payload)
                        return row, payload, sha, None
                    except Exception as exc:  # recorded for this conversation; the others go on
                        return row, payload, sha, f"{type(exc).__name__}: {exc}"

            return list(await asyncio.gather(*(one(t) for t in todo)))

    results = await send_all() if todo else []
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
        for row, payload, sha, error in results
    ]
    for row in rows:
        if row["error"]:
            context.log.error(f"{row['recording_id']}: speaker events not applied: {row['error']}")
    if rows:
        with warehouse.writer() as writer:
            writer.replace_ids(
                "symbl_speaker_events", "conversation_id", [r["conversation_id"] for r in rows], rows
            )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "conversations_with_events": len(candidates),
            "sent": sum(r["status"] == "applied" for r in rows),
            "failed": sum(r["status"] == "failed" for r in rows),
            "preview": preview("symbl_speaker_events", rows),
            "seconds": clock.seconds,
        }
    )
