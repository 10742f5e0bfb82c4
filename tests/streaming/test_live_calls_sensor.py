"""live_calls_sensor: a run when a live call wrote something, nothing when the live directory is unchanged."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.defs.streaming.assets import LiveCallsResource, live_calls_sensor
from orchestration.defs.streaming.eventlog import EventLog


def tick(live_dir: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, resources={"live_calls": LiveCallsResource(live_dir=str(live_dir))}
    )
    result = live_calls_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_a_new_event_requests_one_run_and_an_unchanged_directory_none(tmp_path: Path) -> None:
    assert tick(tmp_path, None).run_requests == []  # nothing live yet (empty listing, first cursor)
    log = EventLog(tmp_path / "events" / "call-1.jsonl", "call-1")
    log.append("client", {"type": "connected"}, 1)
    first = tick(tmp_path, None)
    assert len(first.run_requests) == 1
    again = tick(tmp_path, first.cursor)
    assert again.run_requests == [] and again.cursor == first.cursor
    log.append("client", {"type": "dropped"}, 1)
    later = tick(tmp_path, again.cursor)
    assert len(later.run_requests) == 1 and later.run_requests[0].run_key != first.run_requests[0].run_key
    log.close()
