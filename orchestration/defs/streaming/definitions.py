"""The live-calls domain: Streaming API calls journaled to disk, landed by a sensor-triggered job."""

import dagster as dg

from orchestration.defs.streaming.assets import (
    LiveCallsResource,
    live_call_events,
    live_calls_job,
    live_calls_sensor,
)

defs = dg.Definitions(
    assets=[live_call_events],
    jobs=[live_calls_job],
    sensors=[live_calls_sensor],
    resources={"live_calls": LiveCallsResource()},
)
