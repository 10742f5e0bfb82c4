"""Dagster resource for the drop-folder recording source."""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
from pydantic import Field

from orchestration.recordings.source import DropFolderSource, default_drop_folder


@lru_cache(maxsize=8)
def _source(root: str, timezone: str) -> DropFolderSource:
    # One source per (root, timezone) per process, so that its parsed-manifest cache survives between sensor
    # ticks and asset runs in the same process (resources themselves are rebuilt per run).
    return DropFolderSource(root, timezone)


class DropFolderResource(dg.ConfigurableResource):
    """The folder of recording manifests + media (docs/drop-folder.md)."""

    root: str = Field(
        default_factory=default_drop_folder,
        description="Drop folder root (default: $CONVO_INTEL_DROP_FOLDER, else var/drop).",
    )
    timezone: str = Field(default="UTC", description="Timezone of the daily partitions (IANA name).")

    def source(self) -> DropFolderSource:
        return _source(self.root, self.timezone)
