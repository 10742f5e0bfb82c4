"""The catch-up and warehouse-build schedules: which partitions, run keys per tick, and their timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from orchestration.defs.recordings.schedules import recordings_catch_up_schedule
from orchestration.defs.warehouse.schedules import warehouse_build_schedule
from orchestration.partitions import PARTITIONS_START_DATE


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    """The real code location: a tick is resolved against the jobs the schedules target (an unknown partition
    key fails the evaluation)."""
    from orchestration.definitions import defs

    return defs.get_repository_def()


def evaluate(
    schedule: dg.ScheduleDefinition, when: datetime, repository: dg.RepositoryDefinition
) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=repository)
    data = schedule.evaluate_tick(context)
    return list(data.run_requests or [])


def test_catch_up_requests_yesterday_and_today_in_the_partitions_timezone(
    repository: dg.RepositoryDefinition,
) -> None:
    # 20:15 in New York on the 6th is 00:15 UTC on the 7th, and the partitions are UTC.
    when = datetime(2026, 4, 6, 20, 15, tzinfo=timezone(timedelta(hours=-4)))
    requests = evaluate(recordings_catch_up_schedule, when, repository)
    assert [r.partition_key for r in requests] == ["2026-04-06", "2026-04-07"]


def test_catch_up_run_keys_are_per_day_and_tick(repository: dg.RepositoryDefinition) -> None:
    first = evaluate(recordings_catch_up_schedule, datetime(2026, 4, 7, 10, 15, tzinfo=UTC), repository)
    repeat = evaluate(recordings_catch_up_schedule, datetime(2026, 4, 7, 10, 15, tzinfo=UTC), repository)
    next_hour = evaluate(recordings_catch_up_schedule, datetime(2026, 4, 7, 11, 15, tzinfo=UTC), repository)
    keys = [r.run_key for r in first]
    assert len(set(keys)) == 2
    assert keys == [r.run_key for r in repeat]  # a re-evaluated tick is deduplicated by Dagster
    assert not set(keys) & {r.run_key for r in next_hour}


def test_catch_up_on_the_first_partition_day_requests_only_that_day(
    repository: dg.RepositoryDefinition,
) -> None:
    first_day = datetime.fromisoformat(PARTITIONS_START_DATE).replace(hour=3, minute=15, tzinfo=UTC)
    requests = evaluate(recordings_catch_up_schedule, first_day, repository)
    assert [r.partition_key for r in requests] == [PARTITIONS_START_DATE]


def test_warehouse_build_runs_hourly_well_after_each_catch_up(repository: dg.RepositoryDefinition) -> None:
    start = datetime(2026, 4, 7, tzinfo=UTC).timestamp()
    catch_ups = cron_string_iterator(start, recordings_catch_up_schedule.cron_schedule, "UTC")
    builds = cron_string_iterator(start, warehouse_build_schedule.cron_schedule, "UTC")
    for _ in range(24):
        catch_up, build = next(catch_ups), next(builds)
        # One build per catch-up, never in the same minute: the two share DuckDB's single writer.
        assert timedelta(minutes=15) <= build - catch_up < timedelta(hours=1)
    assert [
        r.partition_key
        for r in evaluate(warehouse_build_schedule, datetime(2026, 4, 7, 10, 45, tzinfo=UTC), repository)
    ] == [None]


def test_routing_schedule_requests_yesterday_and_today_after_the_catch_up() -> None:
    from orchestration.defs.routing.schedules import routing_schedule

    tick = datetime(2026, 5, 6, 10, 35, tzinfo=UTC)
    requests = routing_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert [r.partition_key for r in requests] == ["2026-05-05", "2026-05-06"]
    assert len({r.run_key for r in requests}) == 2
