"""When to poll a Symbl job: at its expected finish, from the media's duration and the observed processing rate.

A job's processing time grows with its media, so polling on a fixed backoff spends most polls on jobs that
cannot be done yet (a 5-minute job got ~28 polls). Instead the first poll is aimed at the expected finish,
``submitted_at + rate x media_seconds`` (plus half a ``step``, below, so that jobs of varied pace are mostly
found at the first poll), where ``rate`` (seconds of processing per second of media) starts from a prior (the
resource's setting, or the rate the previous run of this warehouse ended with, kept in the journal) and is then
learnt from the jobs that completed. Each completed job tells an interval, not a time:

- seen unfinished at elapsed ``lo`` and finished at ``hi``: it finished in between, so it observes the midpoint;
- finished at its first poll: it only says "at most ``hi``", observed as ``hi x probe`` so that the estimate
  can move *down* when jobs are faster than assumed (else it would never learn that it polls late). A lower
  probe learns faster when the prior is too high, but on jobs of steady pace it drives the estimate below the
  truth and costs polls: 0.85 gave 2.07 polls per recording where 0.95 gave 1.40 (bench/makespan.py, T = 15 s).

The estimate is the median of the last ``window`` observations: one slow outlier does not move it, and a short
window follows a run whose first estimate was far off within a few completions. A miss is followed by a poll a
``step`` later, where the step is the observed relative spread of the rate (the median absolute deviation over
the median, bounded; at least half the observations' own uncertainty, as a job seen unfinished at ``lo`` and
finished at ``hi`` is known only to within that interval): jobs that all take the same time are re-polled a few
percent later, jobs of varied pace further apart. Each further miss widens the step by ``growth``, up to half the
job's age. When the estimate changes, waiting jobs re-plan (``changed``). Figures: bench/makespan.py.

An estimate that is too high never shows a miss, and first-poll hits lower it only by ``1 - probe`` a generation
(a prior 50x too high took about 1,900 jobs to come down: bench/ingest_memory.py, where the sandbox's jobs take
0.001 s per media second). So until the first job completes, and after ``probe_after`` first-poll hits in a row,
one job (one at a time) is probed:
its first poll comes at ``probe_fraction`` of the expected time. Found done there, the estimate is restarted from
that job alone, and probing goes on until a probe misses; a miss costs that one job one poll, once per
``probe_after`` completions when the estimate is right.
Jobs of unknown duration or submit time are not planned here: the caller falls back to jittered backoff.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPlan:
    """Settings of expectation-based job polling."""

    prior_rate: float = 0.05  # seconds of processing per second of media before any job completed
    min_step: float = 0.03  # after a miss, poll again at least this fraction of the expected time later
    max_step: float = 0.25  # and at most this fraction (also the step before the spread is known)
    growth: float = 1.5  # each further miss multiplies the step by this, up to (growth - 1) x the job's age
    min_wait_seconds: float = 0.25  # no two polls of one job closer than this
    max_wait_seconds: float = 30.0  # and never further apart than this
    lead: float = 0.5  # the first poll comes this many steps past the expected finish
    probe: float = 0.95  # a first-poll hit observes this fraction of its elapsed time (see the module doc)
    window: int = 16  # observations the median is taken over
    spread_after: int = 4  # observations needed before the step follows the observed spread
    # A job found finished after misses is known only to within (last miss, hit]: the step is at least this
    # share of the observations' median relative half-width, so that a rate learnt from wide intervals (the
    # first jobs of a run whose prior was far off) is not trusted to within min_step.
    interval_weight: float = 0.5
    probe_after: int = (
        16  # first-poll hits in a row after which one job is probed early (module doc); 0: never
    )
    probe_fraction: float = 0.5  # a probed job's first poll, as a fraction of its expected time


class ProcessingPace:
    """The processing rate of an account's jobs, shared by every job a client waits on (one client per run)."""

    def __init__(self, plan: PollPlan = PollPlan()) -> None:
        self.plan = plan
        self._prior = plan.prior_rate
        self._observed: deque[float] = deque(maxlen=plan.window)
        self._widths: deque[float] = deque(maxlen=plan.window)  # each observation's half-width / its value
        self._changed: asyncio.Event | None = None
        self._hits_in_a_row = 0
        self._probing = False  # a probed job is being waited on

    def start_from(self, rate: float) -> None:
        """Use ``rate`` (e.g. the rate an earlier run ended with) until this run observes its own jobs."""
        if rate > 0 and not self._observed:
            self._prior = rate

    @property
    def rate(self) -> float:
        return statistics.median(self._observed) if self._observed else self._prior

    @property
    def observations(self) -> int:
        return len(self._observed)

    @property
    def step(self) -> float:
        """How far apart (a fraction of the expected time) the polls after a miss are."""
        plan = self.plan
        if len(self._observed) < plan.spread_after:
            return plan.max_step
        median = statistics.median(self._observed)
        spread = statistics.median(abs(x - median) for x in self._observed) / median
        return min(
            plan.max_step, max(plan.min_step, spread, plan.interval_weight * statistics.median(self._widths))
        )

    def changed(self) -> asyncio.Event:
        """An event set the next time the estimate changes (a fresh one after each change)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def probe_ticket(self) -> bool:
        """Whether the job about to be waited on is probed early (at most one at a time); a caller given True
        passes ``probed=True`` to ``next_poll`` and ``observe``, and calls ``probe_ended`` however it ends."""
        # Also while the rate is only a prior: the first job tells at once whether it is far too high.
        after = self.plan.probe_after
        if after <= 0 or self._probing or (self._observed and self._hits_in_a_row < after):
            return False
        self._probing = True
        return True

    def probe_ended(self) -> None:
        self._probing = False

    def expected_seconds(self, media_seconds: float) -> float:
        return self.rate * media_seconds

    def next_poll(
        self,
        *,
        submitted_at: float,
        media_seconds: float,
        last_poll_at: float | None,
        misses: int,
        probed: bool = False,
    ) -> float:
        """The moment (on the caller's clock) to poll next; ``misses`` = unfinished answers seen so far."""
        plan = self.plan
        expected = self.expected_seconds(media_seconds)
        if probed and misses == 0:
            return submitted_at + max(plan.min_wait_seconds, expected * plan.probe_fraction)
        aim = submitted_at + max(plan.min_wait_seconds, expected * (1 + plan.lead * self.step))
        if last_poll_at is None or aim >= last_poll_at + plan.min_wait_seconds:
            return aim  # the first poll, or the estimate moved past the last poll
        elapsed = last_poll_at - submitted_at
        # Each further miss widens the step by ``growth``, up to a wait in proportion to the job's age: a job
        # just past the estimate is found a step late, one far past it within a few polls.
        widened = self.step * max(expected, elapsed) * plan.growth ** (misses - 1)
        wait = min(widened, (plan.growth - 1) * elapsed)
        return last_poll_at + min(plan.max_wait_seconds, max(plan.min_wait_seconds, wait))

    def observe(
        self, media_seconds: float, unfinished_at: float | None, finished_at: float, *, probed: bool = False
    ) -> None:
        """A job of ``media_seconds`` was last seen unfinished ``unfinished_at`` s after submit (None: never)
        and finished ``finished_at`` s after submit; ``probed``: its first poll was a probe."""
        if media_seconds <= 0 or finished_at <= 0:
            return
        lo = unfinished_at or 0.0
        self._hits_in_a_row = self._hits_in_a_row + 1 if lo <= 0 else 0
        if probed and lo <= 0:  # done by half its expected time: the estimate is far too high, start over
            self._observed.clear()
            self._widths.clear()
            self._hits_in_a_row = self.plan.probe_after  # and probe the next job too
        seconds = finished_at * self.plan.probe if lo <= 0 else (lo + finished_at) / 2
        self._observed.append(seconds / media_seconds)
        self._widths.append(1 - self.plan.probe if lo <= 0 else (finished_at - lo) / (2 * seconds))
        if self._changed is not None:
            self._changed.set()
            self._changed = None
