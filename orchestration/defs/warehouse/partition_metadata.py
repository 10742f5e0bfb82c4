"""Per-partition figures for runs that cover a range of partitions (single-run backfills).

A single-run backfill materializes every day of its range in one step, and Dagster records one materialization
per day carrying the step's metadata: returned as-is, every day would show the whole range's counts. Dagster
supports partition-scoped metadata (`context.add_asset_metadata(..., partition_key=...)`, merged over the step's
metadata for that partition's event), so `scope_to_partitions` gives each day its own counts for the figures that
can be attributed to a day (rows written, rejections, statuses), and relabels everything else the step reports
(timings, API call outcomes, previews) as `range/<name>` with a `range` entry naming the range, so no day's
materialization shows a figure that is not its own under an unqualified name. A one-partition run is untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import dagster as dg

# Metadata that describes the asset, not a count: kept under its own name on every partition.
_DESCRIPTIVE_KEYS = {"dagster/column_schema", "tables", "enabled"}


def _is_bulky(name: str, value: Any) -> bool:
    # Previews and tables are kilobytes each; as step metadata Dagster copies them into every day's event (and
    # serializes and stores each copy), so a ranged run gives them to its last partition only.
    return name.endswith("preview") or isinstance(value, (dg.MarkdownMetadataValue, dg.TableMetadataValue))


def _key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def scope_to_partitions(
    context: dg.AssetExecutionContext,
    metadata: Mapping[str, Any],
    per_partition: Mapping[str, Iterable[Any]],
    *,
    asset_key: str | None = None,
) -> dict[str, Any]:
    """The step's metadata for a run over a range, with `per_partition` figures given to each partition.

    `per_partition` maps a metadata name to the partition dates of the items it counts (one entry per item,
    e.g. `[row["partition_date"] for row in rows]`); each partition gets the count of its own items (0 if none).
    A multi-asset step names the asset (`asset_key`) whose materializations the figures go to.
    """
    if not context.has_partition_key_range:
        return dict(metadata)
    keys = list(context.partition_keys)
    if len(keys) <= 1:
        return dict(metadata)
    counts = {name: Counter(_key(v) for v in values) for name, values in per_partition.items()}
    bulky = {f"range/{name}": value for name, value in metadata.items() if _is_bulky(name, value)}
    for partition in keys:
        context.add_asset_metadata(
            {name: counter.get(partition, 0) for name, counter in counts.items()}
            | (bulky if partition == keys[-1] else {}),
            asset_key=asset_key,
            partition_key=partition,
        )
    scoped: dict[str, Any] = {
        "range": f"{keys[0]}..{keys[-1]} ({len(keys)} partitions in one run; range/* figures are the whole run's"
        f"{'; previews on ' + keys[-1] if bulky else ''})"
    }
    for name, value in metadata.items():
        if not _is_bulky(name, value):
            scoped[name if name in _DESCRIPTIVE_KEYS else f"range/{name}"] = value
    return scoped
