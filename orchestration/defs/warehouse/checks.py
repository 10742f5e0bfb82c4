"""Asset checks on the built warehouse: no silent partial state reaches the analysts' copy."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.warehouse.resource import WarehouseResource


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
