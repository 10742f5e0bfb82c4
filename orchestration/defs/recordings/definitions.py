"""The recordings domain: the drop folder's manifests and media, and the ingest it triggers."""

import dagster as dg

from orchestration.defs.recordings.assets import recordings
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.schedules import recordings_catch_up_schedule
from orchestration.defs.recordings.sensors import new_recordings_sensor
from orchestration.defs.recordings.status_checks import no_recordings_rejected
from orchestration.partitions import PARTITIONS_TIMEZONE

defs = dg.Definitions(
    assets=[recordings],
    asset_checks=[no_recordings_rejected],
    sensors=[new_recordings_sensor],
    schedules=[recordings_catch_up_schedule],
    resources={"drop_folder": DropFolderResource(timezone=PARTITIONS_TIMEZONE)},
)
