"""The Nebula domain: Symbl's LLM summaries of each transcript, when an API key is configured."""

import dagster as dg

from orchestration.defs.nebula.assets import NebulaResource, nebula_summaries

defs = dg.Definitions(assets=[nebula_summaries], resources={"nebula": NebulaResource()})
