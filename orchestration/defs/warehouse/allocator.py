"""glibc's allocator for a process that writes the warehouse: big blocks go back to the system when freed.

DuckDB's Python build here allocates through the system allocator (it has no jemalloc), its buffers in 256 KB
blocks; a signal batch also holds a few MB of verbatim answers as strings. glibc serves allocations of 128 KB and
more with their own mmap, but raises that threshold to the size of every such block freed (up to 32 MB): after
the first freed DuckDB block, blocks and answers come from the heap arenas and what is freed stays there. The
resident memory of a run then grows with the number of batches, not with any one batch. A fixed threshold turns
that adjustment off: on a 1,000-recording day, symbl_messages alone on its work folder peaked at 635 MB with
glibc's dynamic threshold and 601 MB with a fixed 128 KB, against 566-568 MB for both at 100 recordings
(bench/ingest_memory.py --work ... --asset symbl_messages, 2026-12-06).
"""

from __future__ import annotations

import ctypes
import sys
import threading

from orchestration.settings import DuckDBSettings

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_applied: int | None = None
_guard = threading.Lock()


def fix_mmap_threshold() -> int | None:
    """Fix glibc's mmap threshold at ``CONVO_INTEL_MALLOC_MMAP_THRESHOLD`` bytes (0 leaves glibc's dynamic one),
    once per process; the threshold in force, or None when left alone or not glibc."""
    global _applied
    with _guard:
        if _applied is not None:
            return _applied or None
        _applied = 0
        threshold = DuckDBSettings().malloc_mmap_threshold
        if threshold <= 0 or not sys.platform.startswith("linux"):
            return None
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # a libc without mallopt
            return None
        if mallopt(_M_MMAP_THRESHOLD, threshold) != 1:  # 1 is success; musl's stub answers 0
            return None
        _applied = threshold
        return threshold
