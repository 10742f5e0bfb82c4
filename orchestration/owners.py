"""Who answers for each asset group: shown as the asset's owner in the UI, and what alert policies route on.

One team per group, so a new asset in a group is owned without anyone remembering to say so. Deployments rename
the teams here (Dagster owners are ``team:<name>`` or an email address).
"""

from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg

OWNERS_BY_GROUP: dict[str, str] = {
    "recordings": "team:data-platform",
    "symbl": "team:data-platform",
    "transcripts": "team:data-platform",
    "semarize": "team:data-platform",
    "streaming": "team:ai-agents",
    "routing": "team:revops",
    "warehouse": "team:analytics",
    "dbt_seeds": "team:analytics",
    "dbt_staging": "team:analytics",
    "dbt_intermediate": "team:analytics",
    "dbt_marts": "team:analytics",
}


def with_owner(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with its group's owner added (an owner an asset declares itself is kept)."""
    owner = OWNERS_BY_GROUP.get(spec.group_name or "")
    if owner is None or owner in spec.owners:
        return spec
    return spec.replace_attributes(owners=[*spec.owners, owner])


def with_owners(assets: Iterable[Any]) -> Sequence[Any]:
    """The assets with their group's owner added (an owner an asset declares itself is kept)."""
    return list(dg.map_asset_specs(with_owner, assets))
