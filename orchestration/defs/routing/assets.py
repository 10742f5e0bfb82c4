"""Routing assets: `risk_alerts` (Slack) and `crm_activity` (CRM write-back), per day of conversations.

Both read the dbt marts, never the raw tables, so Slack and the CRM show the scorecards' numbers in their units:
``marts.fct_conversations`` (one row per conversation: talk ratio, duration, rep, the sales-discovery bricks) and
the product-feedback pivot (``orchestration.defs.routing.payloads`` names every column sent). They depend on those
dbt assets and run after each warehouse build (``routing_after_warehouse_build_sensor``). Only the wording of a
risk flag (its reason, evidence and confidence) is read beside the mart, from the staging model of the very
Semarize run the mart's ``risk_flag`` comes from (``risk_flag_run_id``).

Each keeps a ledger in the raw schema of what reached the outside world, written right after each success: a
re-run, or a run after a crash, sends only what is not in the ledger yet. No warehouse connection is held while
waiting on Slack or the CRM (each ledger write opens, writes and closes).
"""

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import duckdb
from dagster import AssetExecutionContext
from pydantic import Field

from orchestration.defs.routing import payloads
from orchestration.defs.routing.crm import BATCH_LIMIT, CrmAPIError, CrmResource
from orchestration.defs.routing.payloads import ALERT_CARD_COLUMNS, DISCOVERY, PRODUCT_FEEDBACK, RiskAlert
from orchestration.defs.routing.slack import SlackResource, SlackWebhookError
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import DAILY_WAREHOUSE_WRITER, window_dates
from orchestration.settings import RoutingSettings

# CRM answers after which the other batches would fail the same way: stop instead of hammering.
FATAL_CRM_STATUSES = frozenset({401, 403})


# The dbt assets routing reads (bare model names): it runs after they are built, never before.
MART_DEPS = ["fct_conversations", "int_product_feedback_bricks_pivoted", "stg_semarize__bricks"]


class RiskAlertsConfig(dg.Config):
    # None, not the environment's value, as the default: the run reads the variable, the module's import does not.
    conversation_url_template: str | None = Field(
        default=None,
        description="Link to the conversation (placeholders: {conversation_id}, {recording_id}, "
        "{partition_date}, {kit_code}, {run_id}). Default: $CONVO_INTEL_CONVERSATION_URL_TEMPLATE, else the "
        "day's partition of semarize_bricks in a local Dagster UI.",
    )
    max_evidence_quotes: int = Field(default=3, description="Evidence quotes shown per alert.")

    def url_template(self) -> str:
        if self.conversation_url_template is not None:
            return self.conversation_url_template
        return RoutingSettings().conversation_url_template


# --- risk_alerts ----------------------------------------------------------------------------------------------


def _mart_query(warehouse: WarehouseResource, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """A query of the marts; a warehouse dbt has not built yet is a clear failure, not a DuckDB traceback."""
    try:
        return warehouse.query(sql, params)
    except duckdb.CatalogException as exc:
        raise dg.Failure(
            description=(
                f"routing reads the dbt marts, which are not built in this warehouse yet ({exc}); "
                "run warehouse_build_job first (routing_after_warehouse_build_sensor then runs routing)."
            )
        ) from None


def _risky_conversations(warehouse: WarehouseResource, first: date, end: date) -> list[dict[str, Any]]:
    """Every conversation of the window whose mart risk_flag is true, with the flag's wording and ledger state
    (ledger NULL: never attempted). The flag's run is its brick version, the ledger's key."""
    card = ", ".join(f"f.{column}" for column in ALERT_CARD_COLUMNS)
    return _mart_query(
        warehouse,
        f"""
        SELECT f.conversation_id, f.recording_id, f.conversation_date AS partition_date,
               f.risk_flag_run_id AS run_id, b.kit_code, b.kit_version_id, b.confidence, b.reason, b.evidence,
               f.title, f.account_name, f.rep_name, f.rep_email, f.started_at, f.duration_seconds, {card},
               l.status AS ledger_status, l.attempts AS ledger_attempts,
               l.first_attempt_at AS ledger_first_attempt_at
        FROM {DISCOVERY.relation} f
        JOIN staging.stg_semarize__bricks b
          ON b.conversation_id = f.conversation_id AND b.run_id = f.risk_flag_run_id AND b.brick_key = 'risk_flag'
        LEFT JOIN raw.risk_alerts_sent l ON l.conversation_id = f.conversation_id AND l.run_id = f.risk_flag_run_id
        WHERE f.risk_flag AND f.conversation_date >= ? AND f.conversation_date < ?
        ORDER BY f.conversation_date, f.started_at, f.conversation_id
        """,  # column and relation names are this module's constants, never input
        [first, end],
    )


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


def _alert(row: dict[str, Any]) -> RiskAlert:
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
        rep_name=row["rep_name"],
        rep_email=row["rep_email"],
        start_time=row["started_at"],
        duration_seconds=row["duration_seconds"],
        values={column: payloads.mart_value(row[column]) for column in ALERT_CARD_COLUMNS},
    )


@dg.asset(
    name="risk_alerts",
    group_name="routing",
    kinds={"slack", "duckdb"},
    deps=MART_DEPS,
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "One Slack message per conversation whose marts.fct_conversations risk_flag (SLSDISC1) is true: the "
        "mart's score card (talk ratio as a 0..1 fraction, discovery depth, sentiment, next step...), reason, "
        "evidence, rep, account and a link back. Never twice for the same brick version (conversation x "
        "risk_flag_run_id): raw.risk_alerts_sent is written right after Slack answers ok. Slack failures are "
        "recorded there and retried by the next run; the step fails so that they are seen."
    ),
)
async def risk_alerts(
    context: AssetExecutionContext,
    config: RiskAlertsConfig,
    slack: SlackResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    started = datetime.now(UTC)
    _, _, first, end = window_dates(context)
    flagged = _risky_conversations(warehouse, first, end)
    pending = [r for r in flagged if r["ledger_status"] != "sent"]
    # Build every message before sending any: a bad URL template fails the step before anything is posted.
    outbox = []
    url_template = config.url_template()
    for row in pending:
        alert = _alert(row)
        url = payloads.conversation_url(url_template, alert)
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

    await post_all()
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
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """conversation id -> its fct_conversations row, and -> its product-feedback pivot row (when that Kit scored
    it), for every conversation of the window a Kit scored."""
    feedback = ", ".join(f"p.{c} AS feedback__{c}" for c in PRODUCT_FEEDBACK.columns)
    rows = _mart_query(
        warehouse,
        f"""
        SELECT f.*, p.conversation_id IS NOT NULL AS has_feedback_scores, {feedback}
        FROM {DISCOVERY.relation} f
        LEFT JOIN {PRODUCT_FEEDBACK.relation} p ON p.conversation_id = f.conversation_id
        WHERE f.conversation_date >= ? AND f.conversation_date < ?
          AND (f.has_discovery_scores OR p.conversation_id IS NOT NULL)
        ORDER BY f.conversation_id
        """,  # column and relation names are this module's constants, never input
        [first, end],
    )
    conversations = {r["conversation_id"]: r for r in rows}
    feedback_rows = {
        r["conversation_id"]: {c: r[f"feedback__{c}"] for c in PRODUCT_FEEDBACK.columns}
        for r in rows
        if r["has_feedback_scores"]
    }
    return conversations, feedback_rows


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
    deps=MART_DEPS,
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "Every scored conversation upserted to the CRM as a call (keyed by conversation id, batches of 100), "
        "every figure from marts.fct_conversations and the product-feedback pivot: title, start, duration, rep, "
        "account, convo_intel_rep_talk_ratio (the mart's talk_ratio, a 0..1 fraction) and each Kit's brick "
        "columns (<kit>_<brick>). raw.crm_sync records what was written; unchanged conversations are not re-sent."
    ),
)
async def crm_activity(
    context: AssetExecutionContext, crm: CrmResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    started = datetime.now(UTC)
    _, _, first, end = window_dates(context)
    conversations, feedback = _scored_conversations(warehouse, first, end)
    ids = sorted(conversations)
    synced = _synced_hashes(warehouse, crm.object_type, ids)
    changed = []
    for cid in ids:
        properties = payloads.crm_call_properties(conversations[cid], feedback.get(cid))
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
                            "partition_date": conversations[cid]["conversation_date"],
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

    await upsert_all()
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
