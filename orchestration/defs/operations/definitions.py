"""Operations: keeping the instance honest when a run's process dies without telling Dagster."""

import dagster as dg

from orchestration.defs.operations.run_reaper import dead_run_reaper

defs = dg.Definitions(sensors=[dead_run_reaper])
