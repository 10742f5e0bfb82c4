"""When the code location's daily assets must have been materialized: a policy Dagster evaluates itself."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import dagster as dg

from orchestration.partitions import PARTITIONS_TIMEZONE

# Materialized today by 20:00 in the partitions' timezone (calls end; the catch-up has run): a policy on the assets,
# evaluated by Dagster itself (no check, no sensor). Unlike the time-partition checks it replaces, it looks at the
# asset's latest materialization, not at today's partition: a backfill of an old day also counts as fresh.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 20 * * *", lower_bound_delta=timedelta(hours=20), timezone=PARTITIONS_TIMEZONE
)
FRESHNESS_ASSETS = frozenset(
    dg.AssetKey(name) for name in ("recordings", "symbl_conversations", "semarize_bricks")
)


def with_freshness_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec, carrying :data:`DAILY_FRESHNESS` when it is one of :data:`FRESHNESS_ASSETS`."""
    return dg.apply_freshness_policy(spec, DAILY_FRESHNESS) if spec.key in FRESHNESS_ASSETS else spec


def with_freshness_policies(assets: Iterable[Any]) -> list[Any]:
    """The assets, those in :data:`FRESHNESS_ASSETS` carrying :data:`DAILY_FRESHNESS`."""
    return list(dg.map_asset_specs(with_freshness_policy, assets))
