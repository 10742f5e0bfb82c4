"""Progress lines: k of N at every tenth of the work and on a heartbeat, never one per item."""

import asyncio
import logging

import pytest

from orchestration.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "progress-test"]


def test_a_line_per_tenth_of_the_work_with_outcome_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="progress-test")
    progress = Progress(logging.getLogger("progress-test"), 120, "recordings", clock=Clock())
    for n in range(120):
        progress.add("failed" if n % 40 == 0 else "submitted")
    got = lines(caplog)
    assert len(got) == 10  # 120 items, 10 lines
    assert got[0] == "12/120 recordings done (failed 1, submitted 11)"
    assert got[-1] == "120/120 recordings done (failed 3, submitted 117)"


def test_a_heartbeat_when_the_work_is_slow_and_the_last_item_always_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="progress-test")
    clock = Clock()
    progress = Progress(logging.getLogger("progress-test"), 1000, "fetches", clock=clock, every_seconds=30)
    progress.add()
    assert lines(caplog) == []  # 1 of 1000, 0 s: nothing to say yet
    clock.now = 31.0
    progress.add()
    assert lines(caplog) == ["2/1000 fetches done (done 2)"]
    small = Progress(logging.getLogger("progress-test"), 3, "kit runs", clock=clock)
    for _ in range(3):
        asyncio.run(small.track(asyncio.sleep(0, result="scored")))
    assert lines(caplog)[-1] == "3/3 kit runs done (scored 3)"
