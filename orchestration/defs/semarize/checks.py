"""Asset checks on Semarize's answers: bricks land with the types their Kit declares."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.warehouse.resource import WarehouseResource


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
