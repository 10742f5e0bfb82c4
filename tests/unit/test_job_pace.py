"""Job polls aimed at the expected finish: the plan, the learnt rate, and the re-plan when the rate changes."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from typing import Any

import httpx
import pytest

from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.job_pace import PollPlan, ProcessingPace
from tests.unit.test_symbl_client import APP_SECRET, FakeSymbl, FakeTime, make_client

# lead 0: the first poll exactly at the expected finish (the lead has its own test); no early probes (their own
# tests use PROBING).
PLAN = PollPlan(prior_rate=0.1, min_step=0.03, max_step=0.25, growth=1.5, lead=0.0, probe=0.95, probe_after=0)
PROBING = dataclasses.replace(PLAN, probe_after=4, probe_fraction=0.5)


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


def test_the_first_poll_is_aimed_at_the_expected_finish_and_finds_the_job_done() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 9.0}))

    async def run() -> str:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            return (await wait(symbl, "j1", 100.0, start)).status

    assert asyncio.run(run()) == "completed"
    assert time_.sleeps == [pytest.approx(10.0)]  # 0.1 s/s x 100 s, then one poll
    assert len(fake.api_requests()) == 1


def test_misses_poll_again_a_widening_step_apart_up_to_half_the_age() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 40.0}))

    async def run() -> ProcessingPace:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            await wait(symbl, "j1", 100.0, start)
            return symbl.pace

    pace = asyncio.run(run())
    # Aim 10 s; no spread known yet, so the step is max_step (a quarter of the age), x1.5 per further miss,
    # until it reaches half the age: +2.5 -> 12.5, +4.69 -> 17.19, then half the age each time (found at 58 s).
    polls = [10.0, 12.5, 17.1875, 25.78125, 38.671875, 58.0078125]
    assert time_.sleeps == pytest.approx([polls[0]] + [b - a for a, b in itertools.pairwise(polls)])
    assert len(fake.api_requests()) == len(polls)
    # Seen unfinished at 38.7 s and finished at 58 s: the midpoint is observed.
    assert pace.rate == pytest.approx((polls[-2] + polls[-1]) / 2 / 100)


def test_the_rate_learnt_from_one_job_aims_the_next() -> None:
    fake, time_ = FakeSymbl(), FakeTime()
    start = time_.now
    fake.route("GET", "/v1/job/j1", finishing_at(time_, {"j1": start + 12.0}))

    async def run() -> list[float]:
        async with make_client(fake, time_, pace=PLAN) as symbl:
            await wait(symbl, "j1", 100.0, start)  # missed at 10 s, found at 12.5 s: 0.1125 s/s observed
            second = time_.now
            fake.route("GET", "/v1/job/j2", finishing_at(time_, {"j2": second + 22.0}))
            before = len(time_.sleeps)
            await wait(symbl, "j2", 200.0, second)
            return time_.sleeps[before:]

    assert asyncio.run(run()) == [pytest.approx(0.1125 * 200)]


def test_a_first_poll_hit_lets_the_estimate_fall() -> None:
    pace = ProcessingPace(PLAN)
    pace.observe(100.0, None, 11.0)  # done at the first poll, 11 s: at most 0.11 s/s, observed as 0.1045
    assert pace.rate == pytest.approx(0.1045)
    pace.observe(100.0, 20.0, 30.0)
    pace.observe(100.0, 20.0, 30.0)
    assert pace.rate == pytest.approx(0.25)  # the median: one low probe does not drag the estimate


def test_the_retry_step_follows_the_observed_spread() -> None:
    steady, varied = ProcessingPace(PLAN), ProcessingPace(PLAN)
    assert steady.step == PLAN.max_step  # nothing observed: the widest step
    for _ in range(PLAN.spread_after):
        steady.observe(100.0, 19.0, 21.0)  # every job 0.2 s/s
    assert steady.step == PLAN.min_step
    for seconds in (10.0, 20.0, 30.0, 40.0, 50.0):
        varied.observe(100.0, seconds - 1, seconds + 1)
    assert varied.step == PLAN.max_step  # +-50 % around the median: bounded by max_step
    # A miss of a steady job is re-polled min_step x its expected time later, not a quarter of it.
    assert steady.next_poll(
        submitted_at=0.0, media_seconds=100.0, last_poll_at=20.0, misses=1
    ) == pytest.approx(20.0 + PLAN.min_step * 20.0)


def test_a_rate_learnt_from_wide_intervals_keeps_a_step_of_half_their_width() -> None:
    # Jobs of one steady pace, each first seen unfinished at 10 s and found done at 20 s (a prior far too low):
    # the rate is 0.15 s/s, known only to within +-1/3, so the next jobs are re-polled a sixth apart, not 3 %.
    pace = ProcessingPace(PLAN)
    for _ in range(PLAN.spread_after):
        pace.observe(100.0, 10.0, 20.0)
    assert pace.rate == pytest.approx(0.15)
    assert pace.step == pytest.approx(PLAN.interval_weight / 3)
    assert PLAN.min_step < pace.step < PLAN.max_step
    # Jobs then found at their first poll (known to within the probe) narrow it back towards the spread.
    for _ in range(PLAN.window):
        pace.observe(100.0, None, 15.0)
    assert pace.step == PLAN.min_step


def test_a_prior_far_too_high_is_probed_at_half_and_restarted_from_the_first_fast_job() -> None:
    """The prior says 10 s (0.1 s/s x 100 s); the jobs take 1 s. Without probes each first-poll hit lowers the
    estimate by 5 %; with them the first job is polled at 5 s, the next at half of what it taught, and so on."""
    fake, time_ = FakeSymbl(), FakeTime()
    done_at: dict[str, float] = {}
    started: list[float] = []

    async def run() -> ProcessingPace:
        async with make_client(fake, time_, pace=PROBING) as symbl:
            for job in ("j1", "j2", "j3", "j4"):
                started.append(time_.now)
                done_at[job] = time_.now + 1.0
                fake.route("GET", f"/v1/job/{job}", finishing_at(time_, done_at))
                await wait(symbl, job, 100.0, time_.now)
            return symbl.pace

    pace = asyncio.run(run())
    polled = [r.url.path.rsplit("/", 1)[-1] for r in fake.api_requests()]
    # Each probe found its job done at one poll until j4's, at 0.53 s, came before its 1 s: probing then ends.
    assert polled == ["j1", "j2", "j3", "j4", "j4"]
    waits = time_.sleeps
    assert waits[0] == pytest.approx(5.0)  # half the prior's 10 s
    assert waits[1] == pytest.approx(0.5 * 0.95 * 5.0)  # half of what j1 taught (done by 5 s: 0.95 x 5)
    assert waits[2] == pytest.approx(0.5 * 0.95 * waits[1])
    assert waits[3] == pytest.approx(0.5 * 0.95 * waits[2])
    assert 0.005 < pace.rate < 0.02  # from 0.1 to within 2x of the truth (0.01) in four jobs
    assert not pace.probe_ticket()


def test_a_right_estimate_is_probed_once_per_run_of_first_poll_hits_and_a_miss_ends_probing() -> None:
    pace = ProcessingPace(PROBING)
    assert pace.probe_ticket()  # the rate is only the prior: the first job is probed
    assert not pace.probe_ticket()  # one probe at a time
    assert pace.next_poll(
        submitted_at=0.0, media_seconds=100.0, last_poll_at=None, misses=0, probed=True
    ) == (pytest.approx(5.0))
    pace.observe(100.0, 5.0, 10.0, probed=True)  # the probe missed: the estimate was not too high
    pace.probe_ended()
    assert not pace.probe_ticket()
    for _ in range(PROBING.probe_after - 1):
        pace.observe(100.0, None, 10.0)
    assert not pace.probe_ticket()  # three first-poll hits in a row: not yet
    pace.observe(100.0, None, 10.0)
    assert pace.probe_ticket()  # four: one job is probed
    pace.observe(100.0, 5.0, 10.0, probed=True)
    pace.probe_ended()
    assert not pace.probe_ticket()  # it missed: the streak starts over


def test_the_first_poll_leads_by_half_a_step_so_varied_jobs_are_mostly_found_at_once() -> None:
    pace = ProcessingPace(PollPlan(prior_rate=0.1, lead=0.5, max_step=0.25))
    # Nothing observed: the widest step, so the aim is 10 s x (1 + 0.5 x 0.25).
    aim = pace.next_poll(submitted_at=0.0, media_seconds=100.0, last_poll_at=None, misses=0)
    assert aim == pytest.approx(11.25)


def test_a_rate_kept_from_an_earlier_run_aims_the_first_polls_until_this_run_observes_its_own() -> None:
    pace = ProcessingPace(PLAN)
    pace.start_from(0.2)
    assert pace.next_poll(
        submitted_at=5.0, media_seconds=100.0, last_poll_at=None, misses=0
    ) == pytest.approx(25.0)
    pace.observe(100.0, 29.0, 31.0)  # this run's jobs take 0.3 s/s: its own observation wins
    assert pace.rate == pytest.approx(0.3)
    pace.start_from(0.01)  # too late: the run has observed a job
    assert pace.rate == pytest.approx(0.3)


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
            pace=PollPlan(prior_rate=0.3),
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
