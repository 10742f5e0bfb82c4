"""When to poll a Symbl job: near its expected finish, from the media's duration and this run's processing rate.

A job's processing time grows with its media, so polling on a fixed backoff spends most polls on jobs that
cannot be done yet (a 5-minute job got ~28 polls). Instead the first poll is aimed a little past the expected
finish, ``submitted_at + rate x media_seconds x (1 + margin)``, where ``rate`` (seconds of processing per second
of media) starts from a configurable prior and is then learnt from the jobs of this run that completed:

- a job seen unfinished at elapsed ``lo`` and finished at ``hi`` finished in between: it observes the midpoint;
- a job finished at its first poll only says "at most ``hi``": it observes ``hi x probe`` so that the estimate
  can move *down* when jobs are faster than assumed (else it would never learn that it polls late).

The estimate is the median of the last observations (one slow outlier does not move it). After a miss the next
poll comes a fraction of the expected time later; after two misses the estimate is evidently wrong and the wait
grows geometrically with the elapsed time. When the estimate changes, waiting jobs re-plan (``changed``).
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

    prior_rate: float = 0.05  # seconds of processing per second of media before any job of the run completed
    margin: float = 0.1  # aim this fraction past the expected finish: a little late beats a wasted poll
    retry_fraction: float = 0.2  # after the first miss, poll again after this fraction of the expected time
    growth: float = 2.0  # after further misses, each wait is (growth - 1) x the elapsed time
    min_wait_seconds: float = 0.25  # no two polls of one job closer than this
    max_wait_seconds: float = 30.0  # and never further apart than this
    probe: float = 0.6  # a first-poll hit observes this fraction of its elapsed time (see the module doc)
    window: int = 64  # observations the median is taken over


class ProcessingPace:
    """This run's processing rate, shared by every job a client waits on (one client per run)."""

    def __init__(self, plan: PollPlan = PollPlan()) -> None:
        self.plan = plan
        self._observed: deque[float] = deque(maxlen=plan.window)
        self._changed: asyncio.Event | None = None

    @property
    def rate(self) -> float:
        return statistics.median(self._observed) if self._observed else self.plan.prior_rate

    @property
    def observations(self) -> int:
        return len(self._observed)

    def changed(self) -> asyncio.Event:
        """An event set the next time the estimate changes (a fresh one after each change)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def expected_seconds(self, media_seconds: float) -> float:
        return self.rate * media_seconds

    def next_poll(
        self, *, submitted_at: float, media_seconds: float, last_poll_at: float | None, misses: int
    ) -> float:
        """The moment (on the caller's clock) to poll next; ``misses`` = unfinished answers seen so far."""
        plan = self.plan
        expected = self.expected_seconds(media_seconds)
        aim = submitted_at + max(plan.min_wait_seconds, expected * (1 + plan.margin))
        if last_poll_at is None or aim >= last_poll_at + plan.min_wait_seconds:
            return aim  # the first poll, or the estimate moved past the last poll
        # One miss: the aim was a little early. More: the estimate is off, so wait in proportion to the age.
        elapsed = last_poll_at - submitted_at
        wait = plan.retry_fraction * expected if misses <= 1 else (plan.growth - 1) * elapsed
        return last_poll_at + min(plan.max_wait_seconds, max(plan.min_wait_seconds, wait))

    def observe(self, media_seconds: float, unfinished_at: float | None, finished_at: float) -> None:
        """A job of ``media_seconds`` was last seen unfinished ``unfinished_at`` s after submit (None: never)
        and finished ``finished_at`` s after submit."""
        if media_seconds <= 0 or finished_at <= 0:
            return
        if unfinished_at is None or unfinished_at <= 0:
            seconds = finished_at * self.plan.probe
        else:
            seconds = (unfinished_at + finished_at) / 2
        self._observed.append(seconds / media_seconds)
        if self._changed is not None:
            self._changed.set()
            self._changed = None
