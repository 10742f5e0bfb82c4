"""The Semarize domain: transcripts scored by the Kits their call type calls for, each brick typed."""

import dagster as dg

from orchestration.defs.semarize.assets import semarize_bricks, transcripts
from orchestration.defs.semarize.checks import bricks_match_kit_types
from orchestration.defs.semarize.resource import SemarizeResource
from orchestration.defs.semarize.status_checks import no_semarize_runs_failed

defs = dg.Definitions(
    assets=[transcripts, semarize_bricks],
    asset_checks=[bricks_match_kit_types, no_semarize_runs_failed],
    resources={"semarize": SemarizeResource()},
)
