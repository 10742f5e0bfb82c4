"""The warehouse process's allocator: a freed big block goes back to the system (glibc, Linux)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from orchestration.defs.warehouse import allocator

# In a fresh interpreter: free one 4 MB block (under glibc's dynamic threshold that raises the mmap threshold to
# 4 MB), then allocate and free 300 KB blocks, and print how many bytes of them were mapped apart (mallinfo2's
# hblkhd) while held, then the heap's free bytes afterwards.
_PROBE = textwrap.dedent(
    """
    import ctypes
    from orchestration.defs.warehouse.allocator import fix_mmap_threshold

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Info
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    print(fix_mmap_threshold())
    libc.free(libc.malloc(4 << 20))
    before = libc.mallinfo2().hblkhd
    held = [libc.malloc(300 * 1024) for _ in range(20)]
    print(libc.mallinfo2().hblkhd - before)
    for p in held:
        libc.free(p)
    """
)


def probe(threshold: str) -> list[str]:
    env = {**os.environ, "CONVO_INTEL_MALLOC_MMAP_THRESHOLD": threshold}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_fixed_threshold_maps_big_blocks_apart_where_glibc_would_keep_them_in_its_heap() -> None:
    applied, mapped = probe("131072")
    assert applied == "131072"
    assert int(mapped) >= 20 * 300 * 1024  # each block its own mapping, unmapped on free
    left, mapped_by_glibc = probe("0")
    assert left == "None"
    assert int(mapped_by_glibc) == 0  # the dynamic threshold (now 4 MB) put them all in the heap


def test_it_is_applied_once_per_process() -> None:
    first = allocator.fix_mmap_threshold()
    assert allocator.fix_mmap_threshold() == first
