"""A pool of big arrays, reused once nothing refers to them: no page faults after warm-up.

A training step allocates the same big temporaries every time (im2col matrices,
feature maps, their gradients: ~130 MiB per W1 step). glibc's ``malloc`` serves
blocks of 128 KiB and more with fresh ``mmap`` pages and returns them on ``free``,
so every step touches new pages: ~4,000–10,000 minor page faults per W1 step, each
one the kernel zeroing 4 KiB, about a quarter of the step's CPU time.
:func:`empty` instead hands out a buffer it allocated before, once no array
refers to it any more (its reference count says so: every NumPy view keeps its
base buffer alive), so after the first step the same pages are reused.

Only arrays of at least :data:`MIN_BYTES` go through the pool (smaller ones are
cheap for ``malloc``); sizes are rounded up to one of eight classes per power of
two, so a last, smaller batch reuses the big batch's buffers. When the pool holds
more than :data:`MAX_POOLED_BYTES`, free buffers are released, least recently used
first, down to half of it; :func:`clear` releases them all. The pool is shared by
all threads (a lock guards the hand-out).

The opt-in alternative, :func:`keep_freed_memory`, changes glibc's thresholds for
the whole process instead (every allocation, also outside convscope).

>>> a = empty((512, 512), np.float32)
>>> address = a.ctypes.data
>>> del a                                   # nothing refers to the buffer now
>>> empty((512, 512), np.float32).ctypes.data == address
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys
import threading
from collections.abc import Sequence

import numpy as np

MIN_BYTES = 128 * 1024  # smaller ones come from the heap: no fresh pages (glibc mmaps from 128 KiB)
MAX_POOLED_BYTES = 512 << 20  # beyond this, free buffers are released (512 MiB)

_lock = threading.Lock()
_buffers: dict[int, list[np.ndarray]] = {}  # size class -> 1-D uint8 buffers
_last_use: dict[int, int] = {}  # id(buffer) -> tick of its last hand-out
_tick = 0
_pooled_bytes = 0


def _free_count() -> int:
    """``sys.getrefcount`` of a pooled buffer that only the pool's list refers to."""
    probe = [np.empty(1, dtype=np.uint8)]
    return sys.getrefcount(probe[0])


_FREE = _free_count()


def _size_class(nbytes: int) -> int:
    """``nbytes`` rounded up to a multiple of 1/8 of its power of two."""
    step = max(1 << max(nbytes.bit_length() - 4, 0), 4096)
    return -(-nbytes // step) * step


def empty(shape: int | Sequence[int], dtype: np.dtype | type = np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array, from the pool when it is big.

    Args:
        shape: the array's shape.
        dtype: its dtype.

    Returns:
        A writeable array; its contents are arbitrary (use :func:`zeros` for zeros).
    """
    global _tick, _pooled_bytes
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    size = _size_class(nbytes)
    with _lock:
        _tick += 1
        pool = _buffers.setdefault(size, [])
        for i in range(len(pool)):
            if sys.getrefcount(pool[i]) == _FREE:  # no array uses it any more
                buffer = pool[i]
                break
        else:
            buffer = np.empty(size, dtype=np.uint8)
            pool.append(buffer)
            _pooled_bytes += size
            if _pooled_bytes > MAX_POOLED_BYTES:
                _release(MAX_POOLED_BYTES // 2)
        _last_use[id(buffer)] = _tick
    return np.ndarray(shape, dtype=dtype, buffer=buffer)  # its .base keeps the buffer used


def zeros(shape: int | Sequence[int], dtype: np.dtype | type = np.float32) -> np.ndarray:
    """:func:`empty`, filled with zeros."""
    array = empty(shape, dtype)
    array.fill(0)
    return array


def empty_like(a: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    """:func:`empty` shaped like ``a`` and stored in ``a``'s layout (axis order by stride).

    A channels-last ``(N, C, H, W)`` view gets a channels-last buffer, so elementwise
    ops between the two read both arrays in memory order.
    """
    dtype = a.dtype if dtype is None else dtype
    if a.flags.c_contiguous:
        return empty(a.shape, dtype)
    if a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous:  # channels last
        n, c, h, w = a.shape
        return empty((n, h, w, c), dtype).transpose(0, 3, 1, 2)
    order = sorted(range(a.ndim), key=lambda d: (-a.strides[d], d))  # outermost first
    stored = empty(tuple(a.shape[d] for d in order), dtype)
    return stored.transpose(np.argsort(order))


def _release(keep: int) -> None:
    """Drop free buffers, least recently used first, until at most ``keep`` bytes are free."""
    global _pooled_bytes
    free = [
        (_last_use.get(id(pool[i]), 0), size, i)
        for size, pool in _buffers.items()
        for i in range(len(pool))
        if sys.getrefcount(pool[i]) == _FREE
    ]
    free_bytes = sum(size for _, size, _ in free)
    doomed: dict[int, set[int]] = {}
    for _, size, i in sorted(free):
        if free_bytes <= keep:
            break
        doomed.setdefault(size, set()).add(i)
        free_bytes -= size
    for size, indices in doomed.items():
        pool = _buffers[size]
        for i in indices:
            _last_use.pop(id(pool[i]), None)
            _pooled_bytes -= size
        _buffers[size] = [b for i, b in enumerate(pool) if i not in indices]


def clear() -> None:
    """Release every free buffer of the pool (buffers still in use stay until freed)."""
    with _lock:
        _release(0)


def pooled_bytes() -> int:
    """Bytes held by the pool, in use or free."""
    return _pooled_bytes


def keep_freed_memory(mmap_threshold: int = 32 << 20, top_pad: int = 128 << 20) -> bool:
    """Opt-in: make glibc keep freed memory for reuse instead of returning it to the OS.

    Sets ``M_MMAP_THRESHOLD`` (blocks below it come from the heap, not fresh
    ``mmap`` pages), a huge ``M_TRIM_THRESHOLD`` (the heap is never trimmed) and
    ``M_TOP_PAD`` — what ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=...
    MALLOC_TOP_PAD_=134217728`` do. This affects the whole process, also memory
    convscope does not allocate, and the process keeps its peak heap until it
    exits: which is why it is never called by convscope itself. Measured on W1
    (batch 128): 4,000 page faults per step -> 0.

    Returns:
        True if glibc accepted the settings, False elsewhere (no glibc ``mallopt``).
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # glibc's malloc.h
    settings = ((m_mmap_threshold, mmap_threshold), (m_trim_threshold, 2**31 - 1),
                (m_top_pad, top_pad))  # fmt: skip
    return all(mallopt(option, value) == 1 for option, value in settings)
