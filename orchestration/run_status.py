"""Honest status: a run that leaves recordings rejected or failed says so, by name, in a failed asset check.

Why a failed (ERROR, non-blocking) asset check and not a failed run: promise 2 is that bad input never stops the
other recordings, so the run must go on to score and land everything that did work, and the next run must be
allowed to retry what failed (a failed run would also re-run the good days under a retry policy). A failed check
is shown in red on the asset, on each run's page and in the asset's health, its metadata lists the recordings and
reasons, and alerting policies can fire on it; it passes again once the losses are fixed or retried. The older
`every_recording_accounted_for` stays: it asks a different question (is anything neither done, failed with a
reason, nor running?) and passes when failures are explained; these ask "was anything lost?".

Scope: the days of the run being checked (a one-day run, or a ranged run's whole range, from the run's partition
tags), or the whole warehouse when the check runs on its own. Rejections that cannot be dated (a manifest too
broken to read its start time) belong to every scope until the file is fixed.
"""

from datetime import date
from typing import Any

import dagster as dg

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
MAX_LISTED = 25  # recordings listed by name in the check's metadata (all are counted)


def run_window(context: dg.AssetCheckExecutionContext) -> tuple[date, date] | None:
    """[first, last] days of the run's partitions, or None for an unpartitioned run (whole warehouse)."""
    try:
        tags = context.run.tags
    except Exception:  # invoked outside a run (a direct call): the whole warehouse
        return None
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return date.fromisoformat(tags[RANGE_START_TAG][:10]), date.fromisoformat(tags[RANGE_END_TAG][:10])
    if PARTITION_TAG in tags:
        day = date.fromisoformat(tags[PARTITION_TAG][:10])
        return day, day
    return None


def window_sql(window: tuple[date, date] | None, column: str = "partition_date") -> tuple[str, list[Any]]:
    if window is None:
        return "TRUE", []
    return f"{column} BETWEEN ? AND ?", [window[0], window[1]]


def status_result(
    rows: list[dict[str, Any]], window: tuple[date, date] | None, what: str, extra: dict[str, Any]
) -> dg.AssetCheckResult:
    listed = "\n".join(
        f"- `{r['recording_id'] or r.get('source_file') or '?'}` ({r['partition_date'] or 'undated'}): "
        f"{r['reason']}"
        for r in rows[:MAX_LISTED]
    )
    if len(rows) > MAX_LISTED:
        listed += f"\n- ... and {len(rows) - MAX_LISTED} more"
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(rows)} {what}" if rows else f"no {what}"),
        metadata={
            "scope": f"{window[0]}..{window[1]}" if window else "whole warehouse",
            "count": len(rows),
            "recording_ids": ", ".join(sorted({r["recording_id"] for r in rows if r["recording_id"]}))
            or "none",
            "details": dg.MetadataValue.md(listed or "_none_"),
            **extra,
        },
    )
