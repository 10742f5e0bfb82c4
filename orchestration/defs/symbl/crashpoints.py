"""A test-only hook: die like ``kill -9`` at a named point of the submit path.

``CONVO_INTEL_TEST_CRASH_AT=<point>[:<n>]`` makes the process call ``os._exit(137)`` the n-th time (default 1st) it
reaches ``point``: no ``finally`` block, no atexit handler, no buffered write runs, exactly as with SIGKILL. Unset (the
default, always in production) it costs one dictionary lookup. Points: ``after_intent`` (intent committed, request
not sent), ``after_answer`` (Symbl's ids in hand, not yet in the journal), ``after_journal`` (ids committed, the
warehouse ledger not yet written), ``after_wait`` (job terminal, outcome not yet committed).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter

CRASH_ENV = "CONVO_INTEL_TEST_CRASH_AT"
_seen: Counter[str] = Counter()
_lock = threading.Lock()


def reached(point: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    with _lock:
        _seen[point] += 1
        if _seen[point] != (int(nth) if nth else 1):
            return
    sys.stderr.write(f"crashpoint {point} reached: os._exit(137)\n")
    sys.stderr.flush()
    os._exit(137)
