"""'k of N done' progress for long steps, summarised: a line at every tenth of the work or every 30 s, not per call.

At 10,000 recordings a line per call is 10,000 events in the run's log (each costs Dagster ~9 ms to store, and
nobody reads them); ten lines plus the odd heartbeat tell an operator how far a run is and whether it moves.
"""

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Progress:
    def __init__(
        self,
        log: logging.Logger | logging.LoggerAdapter[Any],
        total: int,
        noun: str,
        *,
        steps: int = 10,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self.total = total
        self._noun = noun
        self._step = max(1, -(-total // steps))  # ceil(total / steps)
        self._every = every_seconds
        self._clock = clock
        self._last_logged = self._clock()
        self.done = 0
        self.outcomes: Counter[str] = Counter()

    def add(self, outcome: str = "done") -> None:
        self.done += 1
        self.outcomes[outcome] += 1
        now = self._clock()
        crossed = self.done % self._step == 0 or self.done == self.total
        if crossed or now - self._last_logged >= self._every:
            self._last_logged = now
            self._log.info(self.line())

    def line(self) -> str:
        detail = ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes.items()))
        return f"{self.done}/{self.total} {self._noun} done" + (f" ({detail})" if detail else "")

    async def track(self, work: Awaitable[T]) -> T:
        """Await ``work`` and count it; the outcome is the result itself when it is a string."""
        result = await work
        self.add(result if isinstance(result, str) else "done")
        return result
