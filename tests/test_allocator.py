"""Tests of logdigit.allocator: large blocks from the heap, freed memory kept."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from logdigit import batch, cli
from logdigit.allocator import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# a fresh process: allocate a 64 MB array, report glibc's mmapped bytes while it lives
# and the heap's free bytes after it is freed (mallinfo2, glibc >= 2.33)
PROBE = textwrap.dedent("""
    import ctypes, sys
    import numpy as np
    from logdigit.allocator import keep_freed_memory

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    ok = keep_freed_memory() if sys.argv[1] == "keep" else None
    a = np.ones(64 * 2**20, np.uint8)
    mapped = libc.mallinfo2().hblkhd
    del a
    print(ok, mapped, libc.mallinfo2().fordblks)
""")


def probe(mode: str) -> tuple[str, int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0], int(out[1]), int(out[2])


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_large_blocks_come_from_the_heap_and_stay_there():
    ok, mapped, free = probe("keep")
    assert ok == "True"
    assert mapped < 2**20  # the 64 MB block was not mapped on its own
    assert free >= 64 * 2**20  # and after free it is kept for the next array


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_without_it_large_blocks_are_mapped_apart():  # what the setting changes
    _, mapped, free = probe("default")
    assert mapped >= 64 * 2**20
    assert free < 64 * 2**20


def test_the_environment_decides_when_set():
    assert keep_freed_memory(environ={"MALLOC_TRIM_THRESHOLD_": "0"}) is False
    assert keep_freed_memory(environ={"MALLOC_MMAP_THRESHOLD_": "131072"}) is False


@pytest.mark.parametrize("bad", [0, -1, 2**31])
def test_limit_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="limit_bytes"):
        keep_freed_memory(limit_bytes=bad, environ={})


def test_off_glibc_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert keep_freed_memory(environ={}) is False


def test_the_command_and_batch_workers_set_it(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append("cli"))
    monkeypatch.setattr(cli, "main", lambda: None)

    def exit_(code):
        raise SystemExit(code)
    monkeypatch.setattr(os, "_exit", exit_)
    with pytest.raises(SystemExit):
        cli.run()
    monkeypatch.setattr(batch, "keep_freed_memory", lambda: calls.append("batch"))
    monkeypatch.setattr(batch.signal, "signal", lambda *a: None)
    monkeypatch.setattr(batch, "get_model", lambda *a: None)
    import torch

    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    log = logging.getLogger("logdigit")  # the worker sets up its logging: put it back
    level, handlers = log.level, list(log.handlers)
    try:
        batch._init_worker(None, "cpu", 1, 30)
    finally:
        log.setLevel(level)
        log.handlers[:] = handlers
    assert calls == ["cli", "batch"]
