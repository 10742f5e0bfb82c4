"""Routing assets: `risk_alerts` (Slack) and `crm_activity` (CRM write-back), per day of recordings.

Both read what the pipeline already landed (bricks in ``raw.semarize_bricks``, call context in
``raw.recordings``) and keep a ledger in the raw schema of what reached the outside world, written right after
each success: a re-run, or a run after a crash, sends only what is not in the ledger yet. No warehouse connection
is held while waiting on Slack or the CRM (each ledger write opens, writes and closes).
"""

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field

from orchestration.defs.routing import payloads
from orchestration.defs.routing.crm import BATCH_LIMIT, CrmAPIError, CrmResource
from orchestration.defs.routing.payloads import RiskAlert
from orchestration.defs.routing.slack import SlackResource, SlackWebhookError
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import DAILY_WAREHOUSE_WRITER, window_dates

# Where "Open the conversation" points. Placeholders: {conversation_id}, {recording_id}, {partition_date},
# {kit_code}, {run_id}. Default: the day's partition of the bricks asset in a local Dagster UI.
DEFAULT_CONVERSATION_URL_TEMPLATE = os.environ.get(
    "CONVO_INTEL_CONVERSATION_URL_TEMPLATE",
    "http://127.0.0.1:3000/assets/semarize_bricks?view=partitions&partition={partition_date}",
)
# CRM answers after which the other batches would fail the same way: stop instead of hammering.
FATAL_CRM_STATUSES = frozenset({401, 403})


class RiskAlertsConfig(dg.Config):
    risk_kit_code: str = Field(
        default="SLSDISC1", description="Kit whose boolean brick flags a deal at risk."
    )
    risk_brick_key: str = Field(default="risk_flag", description="The boolean brick that flags the risk.")
    conversation_url_template: str = Field(
        default=DEFAULT_CONVERSATION_URL_TEMPLATE,
        description="Link to the conversation (placeholders: {conversation_id}, {recording_id}, "
        "{partition_date}, {kit_code}, {run_id}).",
    )
    max_evidence_quotes: int = Field(default=3, description="Evidence quotes shown per alert.")


# --- risk_alerts ----------------------------------------------------------------------------------------------


def _risky_conversations(
    warehouse: WarehouseResource, config: RiskAlertsConfig, first: date, end: date
) -> list[dict[str, Any]]:
    """Every flagged (conversation, run) of the window, with its ledger state (NULL: never attempted)."""
    return warehouse.query(
        """
        SELECT b.conversation_id, b.recording_id, b.partition_date, b.run_id, b.kit_code, b.kit_version_id,
               b.confidence, b.reason, b.evidence,
               r.title, r.account_name, r.host_name, r.host_email, r.start_time, r.duration_seconds,
               l.status AS ledger_status, l.attempts AS ledger_attempts,
               l.first_attempt_at AS ledger_first_attempt_at
        FROM raw.semarize_bricks b
        LEFT JOIN raw.recordings r ON r.recording_id = b.recording_id
        LEFT JOIN raw.risk_alerts_sent l ON l.conversation_id = b.conversation_id AND l.run_id = b.run_id
        WHERE b.kit_code = ? AND b.brick_key = ? AND b.value_type = 'boolean' AND b.value_boolean
          AND b.partition_date >= ? AND b.partition_date < ?
        ORDER BY b.partition_date, r.start_time, b.conversation_id
        """,
        [config.risk_kit_code, config.risk_brick_key, first, end],
    )


def _scorecards(
    warehouse: WarehouseResource, run_ids: Sequence[str], risk_brick_key: str
) -> dict[str, dict[str, payloads.BrickValue]]:
    """run_id -> the run's other bricks (key -> typed value), shown next to the flag."""
    if not run_ids:
        return {}
    rows = warehouse.query(
        "SELECT run_id, brick_key, value_type, value_boolean, value_number, value_string, value_list "
        "FROM raw.semarize_bricks WHERE run_id IN (SELECT unnest(?::VARCHAR[])) AND brick_key <> ? "
        "ORDER BY run_id, brick_key",
        [list(run_ids), risk_brick_key],
    )
    cards: dict[str, dict[str, payloads.BrickValue]] = defaultdict(dict)
    for row in rows:
        cards[row["run_id"]][row["brick_key"]] = payloads.brick_value(row)
    return cards


def _record_alert_attempt(
    warehouse: WarehouseResource, row: dict[str, Any], error: str | None, now: datetime
) -> None:
    """Replace the (conversation, run) ledger row in one short transaction."""
    sent = error is None
    ledger_row = {
        "conversation_id": row["conversation_id"],
        "run_id": row["run_id"],
        "partition_date": row["partition_date"],
        "recording_id": row["recording_id"],
        "kit_code": row["kit_code"],
        "kit_version_id": row["kit_version_id"],
        "status": "sent" if sent else "failed",
        "attempts": (row["ledger_attempts"] or 0) + 1,
        "last_error": error,
        "first_attempt_at": row["ledger_first_attempt_at"] or now,
        "sent_at": now if sent else None,
        "updated_at": now,
    }
    with warehouse.writer() as writer:
        writer.replace_rows(
            "risk_alerts_sent", "conversation_id = ? AND run_id = ?", [row["conversation_id"], row["run_id"]],
            [ledger_row],
        )  # fmt: skip


def _alert(row: dict[str, Any], values: dict[str, payloads.BrickValue]) -> RiskAlert:
    return RiskAlert(
        conversation_id=row["conversation_id"],
        recording_id=row["recording_id"],
        partition_date=row["partition_date"],
        run_id=row["run_id"],
        kit_code=row["kit_code"],
        kit_version_id=row["kit_version_id"],
        confidence=row["confidence"],
        reason=row["reason"],
        evidence=list(row["evidence"] or []),
        title=row["title"],
        account_name=row["account_name"],
        host_name=row["host_name"],
        host_email=row["host_email"],
        start_time=row["start_time"],
        duration_seconds=row["duration_seconds"],
        values=values,
    )


@dg.asset(
    name="risk_alerts",
    group_name="routing",
    kinds={"slack", "duckdb"},
    deps=["semarize_bricks"],
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "One Slack message per conversation whose risk brick (SLSDISC1 risk_flag) is true: score card, reason, "
        "evidence, rep, account and a link back. Never twice for the same brick version (conversation x "
        "Semarize run): raw.risk_alerts_sent is written right after Slack answers ok. Slack failures are "
        "recorded there and retried by the next run; the step fails so that they are seen."
    ),
)
def risk_alerts(
    context: AssetExecutionContext,
    config: RiskAlertsConfig,
    slack: SlackResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    started = datetime.now(UTC)
    _, _, first, end = window_dates(context)
    flagged = _risky_conversations(warehouse, config, first, end)
    pending = [r for r in flagged if r["ledger_status"] != "sent"]
    cards = _scorecards(warehouse, [r["run_id"] for r in pending], config.risk_brick_key)
    # Build every message before sending any: a bad URL template fails the step before anything is posted.
    outbox = []
    for row in pending:
        alert = _alert(row, cards.get(row["run_id"], {}))
        url = payloads.conversation_url(config.conversation_url_template, alert)
        outbox.append((row, payloads.risk_alert_message(alert, url, config.max_evidence_quotes)))
    context.log.info(f"{len(flagged)} flagged conversations, {len(flagged) - len(pending)} already alerted")

    sent: list[str] = []
    failed: dict[str, str] = {}

    async def post_all() -> None:
        # One at a time: Slack allows about one message per second per webhook, and the ledger row of each
        # message must be written before the next is posted.
        async with slack.client() as client:
            for row, message in outbox:
                cid = row["conversation_id"]
                try:
                    await client.post(message)
                except SlackWebhookError as exc:
                    failed[cid] = exc.code
                    context.log.error(f"risk alert for {cid} not posted: {exc}")
                    await asyncio.to_thread(
                        _record_alert_attempt, warehouse, row, exc.code, datetime.now(UTC)
                    )
                    continue
                await asyncio.to_thread(_record_alert_attempt, warehouse, row, None, datetime.now(UTC))
                sent.append(cid)

    asyncio.run(post_all())
    metadata: dict[str, Any] = {
        "flagged_conversations": len(flagged),
        "already_alerted": len(flagged) - len(pending),
        "alerts_sent": len(sent),
        "alerts_failed": len(failed),
        "sent_conversations": ", ".join(sent[:20]) or "none",
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
    }
    if failed:
        codes = ", ".join(sorted(set(failed.values())))
        raise dg.Failure(
            description=(
                f"{len(failed)} of {len(outbox)} risk alerts were not posted to Slack ({codes}); they are "
                "recorded in raw.risk_alerts_sent and the next run retries them."
            ),
            metadata={**metadata, "failed_conversations": ", ".join(sorted(failed)[:20])},
        )
    return dg.MaterializeResult(metadata=metadata)


# --- crm_activity ---------------------------------------------------------------------------------------------


def _scored_conversations(
    warehouse: WarehouseResource, first: date, end: date
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, payloads.BrickValue]]]]:
    """conversation id -> its recording row, and conversation id -> kit -> brick -> typed value."""
    bricks = warehouse.query(
        "SELECT conversation_id, recording_id, partition_date, kit_code, brick_key, value_type, value_boolean, "
        "value_number, value_string, value_list FROM raw.semarize_bricks "
        "WHERE partition_date >= ? AND partition_date < ? ORDER BY conversation_id, kit_code, brick_key",
        [first, end],
    )
    values: dict[str, dict[str, dict[str, payloads.BrickValue]]] = defaultdict(lambda: defaultdict(dict))
    recording_of: dict[str, tuple[str, date]] = {}
    for b in bricks:
        values[b["conversation_id"]][b["kit_code"]][b["brick_key"]] = payloads.brick_value(b)
        recording_of[b["conversation_id"]] = (b["recording_id"], b["partition_date"])
    recordings = {
        r["recording_id"]: r
        for r in warehouse.query(
            "SELECT recording_id, title, start_time, duration_seconds, host_name, host_email, account_id, "
            "account_name, call_type FROM raw.recordings WHERE recording_id IN (SELECT unnest(?::VARCHAR[]))",
            [sorted({rid for rid, _ in recording_of.values()})],
        )
    }
    conversations = {
        cid: {**recordings.get(rid, {"recording_id": rid}), "partition_date": pdate}
        for cid, (rid, pdate) in recording_of.items()
    }
    return conversations, values


def _rep_talk_ratios(warehouse: WarehouseResource, conversation_ids: Sequence[str]) -> dict[str, float]:
    """The rep's (recording host's) share of talk time per conversation, from Symbl's analytics."""
    if not conversation_ids:
        return {}
    rows = warehouse.query(
        """
        SELECT m.conversation_id, max(m.talk_time_percentage) AS ratio
        FROM raw.symbl_analytics_members m
        JOIN raw.symbl_conversations c ON c.conversation_id = m.conversation_id
        JOIN raw.recordings r ON r.recording_id = c.recording_id
        WHERE m.conversation_id IN (SELECT unnest(?::VARCHAR[])) AND lower(m.email) = lower(r.host_email)
        GROUP BY m.conversation_id
        """,
        [list(conversation_ids)],
    )
    return {r["conversation_id"]: r["ratio"] for r in rows if r["ratio"] is not None}


def _synced_hashes(
    warehouse: WarehouseResource, object_type: str, conversation_ids: Sequence[str]
) -> dict[str, str]:
    if not conversation_ids:
        return {}
    rows = warehouse.query(
        "SELECT conversation_id, properties_hash FROM raw.crm_sync "
        "WHERE object_type = ? AND conversation_id IN (SELECT unnest(?::VARCHAR[]))",
        [object_type, list(conversation_ids)],
    )
    return {r["conversation_id"]: r["properties_hash"] for r in rows}


def _record_sync(warehouse: WarehouseResource, object_type: str, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the batch's ledger rows in one short transaction."""
    ledger_rows = [
        {
            "conversation_id": r["conversation_id"],
            "object_type": object_type,
            "partition_date": r["partition_date"],
            "crm_id": r["crm_id"],
            "properties_hash": r["properties_hash"],
            "properties": json.dumps(r["properties"], sort_keys=True),
            "synced_at": r["synced_at"],
        }
        for r in rows
    ]
    with warehouse.writer() as writer:
        writer.replace_ids(
            "crm_sync",
            "conversation_id",
            [r["conversation_id"] for r in rows],
            ledger_rows,
            "object_type = ?",
            [object_type],
        )


@dg.asset(
    name="crm_activity",
    group_name="routing",
    kinds={"hubspot", "duckdb"},
    deps=["semarize_bricks", "symbl_analytics"],
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "Every scored conversation upserted to the CRM as a call (keyed by conversation id, batches of 100): "
        "title, start, duration, rep, account, rep talk ratio and each kit's typed brick values "
        "(<kit>_<brick>). raw.crm_sync records what was written; unchanged conversations are not re-sent."
    ),
)
def crm_activity(
    context: AssetExecutionContext, crm: CrmResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    started = datetime.now(UTC)
    _, _, first, end = window_dates(context)
    conversations, bricks = _scored_conversations(warehouse, first, end)
    ids = sorted(conversations)
    ratios = _rep_talk_ratios(warehouse, ids)
    synced = _synced_hashes(warehouse, crm.object_type, ids)
    changed = []
    for cid in ids:
        properties = payloads.crm_call_properties(conversations[cid], bricks[cid], ratios.get(cid))
        digest = payloads.properties_hash(properties)
        if synced.get(cid) != digest:
            changed.append((cid, properties, digest))
    context.log.info(f"{len(ids)} scored conversations, {len(changed)} new or changed since the last sync")

    created = updated = 0
    errors: list[str] = []

    async def upsert_all() -> None:
        nonlocal created, updated
        async with crm.client() as client:
            for start in range(0, len(changed), BATCH_LIMIT):
                batch = changed[start : start + BATCH_LIMIT]
                try:
                    results = await client.batch_upsert([(cid, props) for cid, props, _ in batch])
                except CrmAPIError as exc:
                    errors.append(f"{len(batch)} conversations: {exc}")
                    context.log.error(f"CRM batch of {len(batch)} not written: {exc}")
                    if exc.status in FATAL_CRM_STATUSES:
                        return
                    continue
                now = datetime.now(UTC)
                await asyncio.to_thread(
                    _record_sync,
                    warehouse,
                    crm.object_type,
                    [
                        {
                            "conversation_id": cid,
                            "partition_date": conversations[cid]["partition_date"],
                            "crm_id": result.crm_id,
                            "properties_hash": digest,
                            "properties": props,
                            "synced_at": now,
                        }
                        for (cid, props, digest), result in zip(batch, results, strict=True)
                    ],
                )
                created += sum(r.new for r in results)
                updated += sum(not r.new for r in results)

    asyncio.run(upsert_all())
    metadata: dict[str, Any] = {
        "scored_conversations": len(ids),
        "unchanged": len(ids) - len(changed),
        "created": created,
        "updated": updated,
        "object_type": crm.object_type,
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
    }
    if errors:
        raise dg.Failure(
            description=f"CRM write-back incomplete: {'; '.join(errors[:5])}. The next run retries what is missing.",
            metadata={**metadata, "failed_batches": len(errors)},
        )
    return dg.MaterializeResult(metadata=metadata)
