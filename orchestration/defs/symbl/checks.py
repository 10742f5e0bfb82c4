"""Asset checks on what Symbl gave us: nothing lost, keys unique, diarization plausible (cheap SQL)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.symbl.signal_registry import STORED
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.warehouse.schema import TABLES


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


def unique_keys_check(asset_name: str, tables: tuple[str, ...]) -> dg.AssetChecksDefinition:
    """Each table's declared key (``Table.key``) is unique (the API can repeat items; parsers dedupe). Every
    table the asset writes must declare one."""
    keys = {table: TABLES[table].key for table in tables}
    if not all(keys.values()):
        raise ValueError(
            f"{asset_name}: tables without a declared key: {[t for t, k in keys.items() if not k]}"
        )

    @dg.asset_check(
        asset=asset_name,
        name=f"{asset_name}_keys_unique",
        description=f"Each row of {', '.join('raw.' + t for t in tables)} is unique on its key.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        dupes = {}
        for table, key in keys.items():
            cols = ", ".join(key)
            n = warehouse.query(
                f"SELECT count(*) AS n FROM (SELECT {cols} FROM raw.{table} GROUP BY {cols} HAVING count(*) > 1)"
            )[0]["n"]
            dupes[table] = n
        return dg.AssetCheckResult(
            passed=not any(dupes.values()), metadata={f"duplicates.{t}": n for t, n in dupes.items()}
        )

    return _check


unique_key_checks = [unique_keys_check(table, (table,)) for s in STORED for table in s.tables]


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
