"""Asset checks on what Symbl gave us: nothing lost, keys unique, diarization plausible (cheap SQL)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.symbl.signals import SIGNALS
from orchestration.defs.warehouse.resource import WarehouseResource

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


unique_key_checks = [_unique_keys_check(s.asset_name, s.tables) for s in SIGNALS]


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
