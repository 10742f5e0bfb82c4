"""Asset checks for the promises users care about, evaluated over the whole warehouse (cheap SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from orchestration.partitions import PARTITIONS_TIMEZONE
from orchestration.symbl.signal_registry import STORED
from orchestration.warehouse.resource import WarehouseResource

# table -> key columns (the typed tables' primary keys; the API can repeat items, parsers dedupe)
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "symbl_messages": ("conversation_id", "message_id"),
    "symbl_topics": ("conversation_id", "topic_id"),
    "symbl_action_items": ("conversation_id", "action_item_id"),
    "symbl_questions": ("conversation_id", "question_id"),
    "symbl_follow_ups": ("conversation_id", "follow_up_id"),
    "symbl_entities": ("conversation_id", "entity_key"),
    "symbl_analytics_members": ("conversation_id", "member_id"),
    "symbl_analytics_metrics": ("conversation_id", "metric_type"),
    "symbl_tracker_hits": ("conversation_id", "hit_key"),
    "symbl_summaries": ("conversation_id", "summary_id"),
}


@dg.asset_check(
    asset="symbl_conversations",
    description=(
        "Nothing is lost: every recording is completed, failed with a reason, still running at Symbl, or rejected "
        "with a reason. Fails listing the recordings that are none of these."
    ),
)
def every_recording_accounted_for(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows = warehouse.query(
        """
        SELECT r.recording_id, c.status, c.failure_reason
        FROM raw.recordings r LEFT JOIN raw.symbl_conversations c USING (recording_id)
        WHERE c.recording_id IS NULL
           OR (c.status = 'failed' AND coalesce(trim(c.failure_reason), '') = '')
           OR c.status NOT IN ('completed', 'failed', 'submitted', 'scheduled', 'in_progress')
        """
    )
    counts = warehouse.query("SELECT status, count(*) AS n FROM raw.symbl_conversations GROUP BY status")
    return dg.AssetCheckResult(
        passed=not rows,
        metadata={
            "unaccounted": len(rows),
            "examples": ", ".join(r["recording_id"] for r in rows[:10]) or "none",
            **{f"status.{c['status']}": c["n"] for c in counts},
        },
    )


def _unique_keys_check(asset_name: str, tables: tuple[str, ...]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_name,
        name=f"{asset_name}_keys_unique",
        description=f"Each row of {', '.join('raw.' + t for t in tables)} is unique on its key.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        dupes = {}
        for table in tables:
            keys = ", ".join(TABLE_KEYS[table])
            n = warehouse.query(
                f"SELECT count(*) AS n FROM (SELECT {keys} FROM raw.{table} GROUP BY {keys} HAVING count(*) > 1)"
            )[0]["n"]
            dupes[table] = n
        return dg.AssetCheckResult(
            passed=not any(dupes.values()), metadata={f"duplicates.{t}": n for t, n in dupes.items()}
        )

    return _check


unique_key_checks = [_unique_keys_check(table, (table,)) for s in STORED for table in s.tables]


GENERIC_SPEAKER = r"^(speaker|spk|unknown speaker)[ _-]?\d*$"


@dg.asset_check(
    asset="symbl_messages",
    description=(
        "Diarization looks right: per conversation, the number of distinct speakers Symbl detected is within the "
        "manifest's participant count, and no speaker is a generic 'Speaker N' label (which means diarization "
        "could not tell people apart or channel metadata was missing). Warns listing the conversations."
    ),
)
def speakers_match_participants(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows = warehouse.query(
        f"""
        WITH speakers AS (
            SELECT m.conversation_id,
                   count(DISTINCT coalesce(m.speaker_email, m.speaker_name)) AS detected,
                   count(DISTINCT m.speaker_name) FILTER (
                       WHERE regexp_matches(lower(trim(m.speaker_name)), '{GENERIC_SPEAKER}')
                   ) AS generic
            FROM raw.symbl_messages m GROUP BY 1
        )
        SELECT c.recording_id, s.conversation_id, s.detected, s.generic, r.participant_count
        FROM speakers s
        JOIN raw.symbl_conversations c USING (conversation_id)
        JOIN raw.recordings r USING (recording_id)
        WHERE s.generic > 0 OR s.detected > r.participant_count OR s.detected < least(2, r.participant_count)
        ORDER BY 1
        """
    )
    (total,) = warehouse.query("SELECT count(DISTINCT conversation_id) AS n FROM raw.symbl_messages")[
        0
    ].values()
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "conversations": total,
            "suspicious": len(rows),
            "generic_labels": sum(1 for r in rows if r["generic"]),
            "examples": ", ".join(
                f"{r['recording_id']} ({r['detected']} speakers / {r['participant_count']} participants)"
                for r in rows[:10]
            )
            or "none",
        },
    )


@dg.asset_check(
    asset="semarize_bricks",
    description=(
        "Bricks match their Kit's declared types: every brick value was accepted by the Kit schema (type "
        "violations are rejected into raw.recording_rejections with stage 'semarize'), and each (kit, brick) "
        "always lands with one value type."
    ),
)
def bricks_match_kit_types(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    mixed = warehouse.query(
        """
        SELECT kit_code, brick_key, string_agg(DISTINCT value_type, ', ') AS types
        FROM raw.semarize_bricks WHERE value_type <> 'null'
        GROUP BY 1, 2 HAVING count(DISTINCT value_type) > 1
        """
    )
    violations = warehouse.query(
        "SELECT recording_id, reason FROM raw.recording_rejections "
        "WHERE stage = 'semarize' AND reason LIKE 'brick type:%' ORDER BY rejected_at DESC"
    )
    return dg.AssetCheckResult(
        passed=not mixed and not violations,
        metadata={
            "mixed_types": ", ".join(f"{m['kit_code']}.{m['brick_key']} ({m['types']})" for m in mixed)
            or "none",
            "type_violations": len(violations),
            "examples": "; ".join(f"{v['recording_id']}: {v['reason']}" for v in violations[:5]) or "none",
        },
    )


# Materialized today by 20:00 in the partitions' timezone (calls end; the catch-up has run): a policy on the assets,
# evaluated by Dagster itself (no check, no sensor). Unlike the time-partition checks it replaces, it looks at the
# asset's latest materialization, not at today's partition: a backfill of an old day also counts as fresh.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 20 * * *", lower_bound_delta=timedelta(hours=20), timezone=PARTITIONS_TIMEZONE
)
FRESHNESS_ASSETS = frozenset(
    dg.AssetKey(name) for name in ("recordings", "symbl_conversations", "semarize_bricks")
)


def with_freshness_policies(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets, those in :data:`FRESHNESS_ASSETS` carrying :data:`DAILY_FRESHNESS`."""

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        return dg.apply_freshness_policy(spec, DAILY_FRESHNESS) if spec.key in FRESHNESS_ASSETS else spec

    return list(dg.map_asset_specs(attach, assets))


@dg.asset_check(
    asset="fct_conversations",
    blocking=True,
    description=(
        "No silent partial state: every recording the ledger calls completed has its Symbl messages, its "
        "transcript, and Semarize bricks (or a Semarize rejection with a reason). Blocking: when it fails, the "
        "analysts' copy is not published, so analysts keep the last complete state instead of a half-ingested one."
    ),
)
def completed_recordings_are_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    rows = warehouse.query(
        """
        SELECT c.recording_id,
               EXISTS (SELECT 1 FROM raw.symbl_messages m WHERE m.conversation_id = c.conversation_id) AS messages,
               EXISTS (SELECT 1 FROM raw.transcripts t WHERE t.recording_id = c.recording_id) AS transcript,
               EXISTS (SELECT 1 FROM raw.semarize_bricks b WHERE b.recording_id = c.recording_id)
               OR EXISTS (SELECT 1 FROM raw.recording_rejections j
                          WHERE j.recording_id = c.recording_id AND j.stage = 'semarize') AS bricks
        FROM raw.symbl_conversations c
        WHERE c.status = 'completed'
        ORDER BY 1
        """
    )
    gaps = [r for r in rows if not (r["messages"] and r["transcript"] and r["bricks"])]
    missing = {k: sum(1 for r in gaps if not r[k]) for k in ("messages", "transcript", "bricks")}
    return dg.AssetCheckResult(
        passed=not gaps,
        metadata={
            "completed": len(rows),
            "incomplete": len(gaps),
            **{f"missing.{k}": n for k, n in missing.items()},
            "examples": ", ".join(
                f"{r['recording_id']} (no {', '.join(k for k in ('messages', 'transcript', 'bricks') if not r[k])})"
                for r in gaps[:10]
            )
            or "none",
        },
    )
