"""The Nebula domain: Symbl's LLM summaries of each transcript, when an API key is configured."""

import dagster as dg

from orchestration.defs.nebula.assets import NebulaResource, nebula_summaries
from orchestration.defs.symbl.checks import unique_keys_check

defs = dg.Definitions(
    assets=[nebula_summaries],
    asset_checks=[unique_keys_check("nebula_summaries", ("nebula_summaries",))],
    resources={"nebula": NebulaResource()},
)
