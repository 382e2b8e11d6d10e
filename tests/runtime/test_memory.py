"""release_free_memory hands pages freed between live allocations back to the system."""

from __future__ import annotations

import ctypes.util
from pathlib import Path

import pytest

from assistant.runtime.memory import release_free_memory


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library found")
def test_freed_holes_between_live_blocks_go_back_to_the_system() -> None:
    # 100 MiB of 64 KiB blocks (under glibc's mmap threshold, so on the heap), each followed
    # by a small block that stays alive: freeing the big ones leaves holes that glibc's own
    # trimming (top of the heap only) cannot return.
    big, small = [], []
    for n in range(1600):
        big.append(bytes([n % 251]) * (64 * 1024))  # written, so resident
        small.append(bytes([n % 251]) * 1024)  # over 512 bytes: from malloc too
    del big
    before = rss_mib()
    assert release_free_memory()
    after = rss_mib()
    assert after < before - 30, (before, after)
    assert len(small) == 1600
