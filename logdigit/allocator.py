"""The C allocator's settings for a process that converts scans (glibc only).

glibc's ``malloc`` hands out blocks above its mmap threshold as fresh pages from the
kernel and returns them on ``free``; with its default, self-adjusting threshold (at most
32 MB on 64-bit) every larger block is mapped anew. The tracer makes dozens of temporary
maps the size of a track (a 51,200-row, 1,000-column track: 50 MB as uint8, 100 MB as
int16), and each was faulted in, page by page, every time. Serving such blocks from the
heap and keeping freed memory there, so the next array reuses pages already mapped, took
the 3,200 x 51,200 px bench scan from 46.8 s to 38.9 s (trace stage 20.5 s to 13.7 s) and
the 3,200 x 12,800 px one from 10.5-10.8 s to 10.1-10.3 s (three alternating runs of
``python -m logdigit SCAN --json``, main against this change), peak memory 30-80 MB
higher (session 27, 2-core CPU, training paused). Setting only the mmap threshold did
not help: the heap's top was then given back and faulted in again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

logger = logging.getLogger(__name__)

#: ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: The environment variables glibc reads for the same settings: when either is set, the
#: user has chosen and :func:`keep_freed_memory` leaves the allocator alone.
ENV_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory(*, limit_bytes: int = 2**30, environ=None) -> bool:
    """Serve blocks up to ``limit_bytes`` from the heap and keep up to that much freed.

    Call once at the start of a process that converts scans (the ``logdigit`` command
    and each batch worker do); importing logdigit changes nothing.

    Parameters
    ----------
    limit_bytes : int
        Blocks larger than this are still mapped on their own, and at most this much
        free memory at the top of the heap is kept from the kernel (bytes, 1..2**31 - 1).
    environ : mapping, optional
        The environment to consult (default ``os.environ``): with
        ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` set nothing is changed.

    Returns
    -------
    bool
        Whether both settings were made: False off glibc, when the environment chose, or
        when glibc refused a value.
    """
    if not 1 <= int(limit_bytes) <= 2**31 - 1:
        raise ValueError(f"limit_bytes must be in 1..2**31-1, got {limit_bytes}")
    environ = os.environ if environ is None else environ
    if any(name in environ for name in ENV_VARIABLES):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, int(limit_bytes)))
    ok = bool(mallopt(M_TRIM_THRESHOLD, int(limit_bytes))) and ok
    logger.debug("allocator: blocks up to %d bytes from the heap: %s", limit_bytes, ok)
    return ok
