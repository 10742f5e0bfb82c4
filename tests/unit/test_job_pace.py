"""Job polls aimed at the expected finish: the plan, the learnt rate, and the re-plan when the rate changes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.job_pace import PollPlan, ProcessingPace
from tests.unit.test_symbl_client import APP_SECRET, FakeSymbl, FakeTime, make_client

PLAN = PollPlan(prior_rate=0.1, margin=0.1, retry_fraction=0.2, growth=2.0, probe=0.6)


def finishing_at(time_: FakeTime, done_at: dict[str, float]) -> Any:
    """A Job API whose job ``j`` is in progress until the fake clock passes ``done_at[j]``."""

    def answer(request: httpx.Request) -> httpx.Response:
        job = request.url.path.rsplit("/", 1)[-1]
        status = "completed" if time_.now >= done_at[job] else "in_progress"
        return httpx.Response(200, json={"id": job, "status": status})

    return answer


def wait(client: SymblClient, job: str, media_seconds: float | None, submitted_at: float) -> Any:
    return client.wait_for_job(
        job, deadline_seconds=3600, media_seconds=media_seconds, submitted_at=submitted_at
    )


def test_the_first_poll_is_aimed_past_the_expected_finish_and_finds_the_job_done() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 9.0}))

    async def run() -> str:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            return (await wait(symbl, "j1", 100.0, start)).status

    assert asyncio.run(run()) == "completed"
    assert time_.sleeps == [pytest.approx(11.0)]  # 0.1 s/s x 100 s x 1.1, then one poll
    assert len(fake.api_requests()) == 1


def test_misses_poll_again_after_a_fraction_then_in_proportion_to_the_age() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 40.0}))

    async def run() -> ProcessingPace:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            await wait(symbl, "j1", 100.0, start)
            return symbl.pace

    pace = asyncio.run(run())
    # 11 s (aim), +2 s (a fifth of the expected 10 s), then the wait doubles the age: 13 -> 26 -> 52.
    assert time_.sleeps == pytest.approx([11.0, 2.0, 13.0, 26.0])
    # Seen unfinished at 26 s and finished at 52 s: the midpoint is observed, 0.39 s per second of media.
    assert pace.rate == pytest.approx(0.39)


def test_the_rate_learnt_from_one_job_aims_the_next() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 12.0}))

    async def run() -> list[float]:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            await wait(symbl, "j1", 100.0, start)  # missed at 11 s, found at 13 s: 0.12 s/s observed
            second = time_.now
            fake.route("GET", "/v1/job/j2", finishing_at(time_, {"j2": second + 23.0}))
            before = len(time_.sleeps)
            await wait(symbl, "j2", 200.0, second)
            return time_.sleeps[before:]

    assert asyncio.run(run()) == [pytest.approx(0.12 * 200 * 1.1)]


def test_a_first_poll_hit_lets_the_estimate_fall() -> None:
    pace = ProcessingPace(PLAN)
    pace.observe(100.0, None, 11.0)  # done at the first poll, 11 s: at most 0.11 s/s, observed as 0.066
    assert pace.rate == pytest.approx(0.066)
    pace.observe(100.0, 20.0, 30.0)
    pace.observe(100.0, 20.0, 30.0)
    assert pace.rate == pytest.approx(0.25)  # the median: one low probe does not drag the estimate


def test_unknown_duration_polls_at_once_as_before() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": time_.now}))

    async def run() -> None:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            await wait(symbl, "j1", None, time_.now)

    asyncio.run(run())
    assert time_.sleeps == [] and len(fake.api_requests()) == 1


def test_a_waiting_job_replans_when_another_job_changes_the_rate() -> None:
    """Real time: the prior says 30 s; another job's completion says 0.01 s/s, so the wait ends early."""
    fake = FakeSymbl()
    fake.route("GET", "/v1/job/j1", lambda r: httpx.Response(200, json={"id": "j1", "status": "completed"}))

    async def run() -> float:
        client = SymblClient(
            "http://symbl.test/symbl",
            "app-id",
            APP_SECRET,
            transport=httpx.MockTransport(fake),
            pace=PollPlan(prior_rate=0.3, margin=0.0),
        )
        began = time.monotonic()
        async with client as symbl:

            async def other_job_finishes() -> None:
                await asyncio.sleep(0.2)
                symbl.pace.observe(100.0, 0.5, 1.5)  # 0.01 s per second of media

            job, _ = await asyncio.gather(wait(symbl, "j1", 100.0, time.time()), other_job_finishes())
            assert job.status == "completed"
        return time.monotonic() - began

    assert asyncio.run(run()) < 5.0
    assert len(fake.api_requests()) == 1
