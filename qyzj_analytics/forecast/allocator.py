"""glibc's allocator set for a forecast's many large draw arrays (Linux only).

A 100,000-draw forecast allocates a few hundred arrays of 0.1–13 MB. With glibc's defaults
each one above the mmap threshold is mapped afresh and unmapped when freed, free memory at the
top of the heap is handed back to the kernel, and the simulation's two threads allocate in
arenas of their own that the main thread cannot reuse: nearly every array lands on new pages
the kernel must fault in and zero (≈ 18,000 page faults after ``prepare`` at 2025-09-30,
≈ 9,700 with :func:`keep_freed_memory`). The numbers drawn do not depend on where an array
lives.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt(3) parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 << 20  # arrays up to 32 MiB come from the heap (glibc's largest default)
TRIM_THRESHOLD = 1 << 30  # freed memory stays with the process (it exits soon after)


def keep_freed_memory() -> bool:
    """Make this process's malloc reuse freed memory: one arena for every thread, large blocks
    from the heap, nothing handed back to the kernel until exit.

    For a short-lived command about to allocate many large arrays (``qyzj forecast``); not for
    a long-lived process (a notebook's kernel would keep its peak memory). Returns False, and
    changes nothing, where the C library has no glibc ``mallopt`` (Windows, macOS, musl).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (M_ARENA_MAX, 1),
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    )
    return all(mallopt(option, value) == 1 for option, value in settings)
