"""Giving the memory that a model pass freed back to the system.

A forward pass allocates activations in proportion to its batch, and under load the batches
grow (every waiting question joins one pass). glibc keeps freed memory in its heap, so a
server's resident memory would ratchet up to the largest batch it ever saw and stay there.
:func:`release_free_memory` (``malloc_trim``: about 1 ms after a reader pass of 50 to
350 ms) hands the free pages back (docs/performance.md). Elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None  # glibc only, not musl
    except OSError:
        return None


def release_free_memory() -> bool:
    """Return freed heap pages to the system; False where the C library cannot."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
