"""Dagster resource for the drop-folder recording source."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field

from orchestration.defs.recordings.policy import (
    InputPolicy,
    build_policy,
    default_allowed_media_hosts,
    default_max_future_hours,
    default_media_roots,
)
from orchestration.defs.recordings.source import DropFolderSource
from orchestration.partitions import PARTITIONS_START_DATE
from orchestration.settings import DropFolderSettings, SettingsResource


@lru_cache(maxsize=8)
def _source(root: str, timezone: str, policy: InputPolicy) -> DropFolderSource:
    # One source per (root, timezone, policy) per process, so that its parsed-manifest cache survives between
    # sensor ticks and asset runs in the same process (resources themselves are rebuilt per run).
    return DropFolderSource(root, timezone, policy)


class DropFolderResource(SettingsResource):
    """The folder of recording manifests + media (docs/drop-folder.md)."""

    settings_section = DropFolderSettings

    root: str = Field(
        default="var/drop",
        description="Drop folder root (default: $CONVO_INTEL_DROP_FOLDER, else var/drop).",
    )
    timezone: str = Field(default="UTC", description="Timezone of the daily partitions (IANA name).")
    media_roots: list[str] = Field(
        default_factory=default_media_roots,
        description=(
            "Folders outside the drop folder that media.path may resolve into (after symlinks). Default: "
            "$CONVO_INTEL_MEDIA_ROOTS (comma-separated), else none: media must live in the drop folder."
        ),
    )
    allowed_media_hosts: list[str] = Field(
        default_factory=default_allowed_media_hosts,
        description=(
            "Hosts ('host' or 'host:port') media URLs may name even when loopback/private/link-local. Default: "
            "$CONVO_INTEL_ALLOWED_MEDIA_HOSTS (comma-separated), else the sandbox's host."
        ),
    )
    resolve_media_hosts: bool = Field(
        default=True,
        description="Resolve each media URL's host and refuse it if any address is internal (DNS at scan time).",
    )
    earliest_start_date: str = Field(
        default=PARTITIONS_START_DATE,
        description="Manifests starting before this date are rejected (default: the first partition).",
    )
    max_future_hours: float = Field(
        default_factory=default_max_future_hours,
        description=(
            "Manifests starting more than this many hours after now are rejected "
            "($CONVO_INTEL_MAX_FUTURE_HOURS, else 24)."
        ),
    )

    def policy(self) -> InputPolicy:
        return build_policy(
            media_roots=self.media_roots,
            allowed_media_hosts=self.allowed_media_hosts,
            earliest_start_date=self.earliest_start_date,
            max_future_hours=self.max_future_hours,
            resolve_media_hosts=self.resolve_media_hosts,
            timezone=ZoneInfo(self.timezone),
        )

    def source(self) -> DropFolderSource:
        return _source(self.root, self.timezone, self.policy())
