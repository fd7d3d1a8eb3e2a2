"""BLAS threads: small products on one thread, big ops split over threads of one BLAS thread each.

OpenBLAS splits a product over all its threads once ``m·n·k`` exceeds 262,144. For
a product of a few million multiply-adds, such as W1's second convolution at batch 1
(121×288 by 288×64), the work per thread is tens of microseconds, and waking the
second thread — asleep again after the previous product — costs about as much; when
another process keeps the other core busy it costs milliseconds (a thread that
cannot run holds up the product). :func:`matmul` runs products below
:data:`SMALL_MNK` on one thread and leaves bigger ones to BLAS.

Big products are split by rows the same way, so that OpenBLAS's own workers never run
(they spin after each product and would take a core from the next split op).
The reverse holds for a big op such as a convolution over a batch: BLAS threads
share only its matrix products, while the copies around them (padding, im2col,
col2im) run on one core. :func:`parts` and :func:`run_parts` let such an op split
its batch into one part per BLAS thread and run each part — copies and products —
on its own thread with BLAS at one thread (NumPy releases the GIL in both).

Changing OpenBLAS's thread count is process-wide, so both happen only while no
Python thread runs but the caller and convscope's own pool threads (nothing else
can be inside BLAS), and only when threadpoolctl can reach NumPy's OpenBLAS;
otherwise everything runs unchanged. The switches call OpenBLAS's own functions, so
they work from whichever thread is alone (threadpoolctl's API, which ``data_parallel``
uses, lets only its controlling thread — usually the main one — change the count).

>>> import numpy as np
>>> a, b = np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)
>>> matmul(a, b)
array([[4., 4.],
       [4., 4.],
       [4., 4.]], dtype=float32)
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

SMALL_MNK = 1 << 23  # m·n·k (summed over a stack) below which one thread does the product
POOL_PREFIX = "convscope-"  # names of convscope's own threads (these and data_parallel's)

_controller: object | None = None  # threadpoolctl's OpenBLAS controller, False if none
_pools: dict[int, ThreadPoolExecutor] = {}


def _openblas():
    """threadpoolctl's controller of the OpenBLAS NumPy uses, or None.

    SciPy loads an OpenBLAS of its own: the one inside NumPy's package (wheels ship
    it in ``numpy.libs``) is preferred, else the only OpenBLAS loaded.
    """
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController

            found = [
                c for c in ThreadpoolController().lib_controllers if c.internal_api == "openblas"
            ]
        except Exception:  # threadpoolctl missing or unable to load: leave BLAS alone
            found = []
        numpys = [c for c in found if "numpy" in os.path.basename(os.path.dirname(c.filepath))]
        chosen = numpys if len(numpys) == 1 else found
        _controller = _Direct.of(chosen[0]) if len(chosen) == 1 else False
    return _controller or None


class _Direct:
    """OpenBLAS's own get/set functions behind threadpoolctl's controller.

    threadpoolctl's methods cost microseconds per call (and let only one thread change
    the count); a batch-1 forward pass switches a dozen times, so the C functions are
    called directly. Falls back to the controller when they cannot be found.
    """

    def __init__(self, controller: Any, get: Callable[[], int], set_: Callable[[int], None]):
        self.internal_api = controller.internal_api
        self.filepath = controller.filepath
        self.get_num_threads = get
        self.set_num_threads = set_

    @classmethod
    def of(cls, controller: Any) -> Any:
        try:
            if getattr(controller, "threading_layer", None) == "openmp":
                return controller  # OpenMP's per-thread limits: threadpoolctl knows best
            get = controller._get_symbol("openblas_get_num_threads")
            set_ = controller._get_symbol("openblas_set_num_threads")
        except AttributeError:  # another threadpoolctl: its public methods then
            return controller
        if get is None or set_ is None:
            return controller
        return cls(controller, get, set_)


def _exclusive() -> bool:
    """True when no Python thread runs but the caller and convscope's own pool threads.

    tqdm's monitor thread (which only wakes to refresh progress bars) does not count.
    """
    if threading.active_count() == 1:
        return True
    me = threading.current_thread()
    return all(
        t is me or t.name.startswith(POOL_PREFIX) or type(t).__name__ == "TMonitor"
        for t in threading.enumerate()
    )


def _switchable_threads() -> tuple[Any, int]:
    """(controller, BLAS threads) when the thread count may be changed now, else (None, 1)."""
    blas = _openblas()
    if blas is None:
        return None, 1
    threads = blas.get_num_threads()
    if threads < 2 or not _exclusive():
        return None, 1
    return blas, threads


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` on convscope's threads, each with one BLAS thread.

    A small product (below :data:`SMALL_MNK` multiply-adds) runs on one thread; a big
    one is split by rows of ``a`` into one part per BLAS thread (:func:`run_parts`).
    So OpenBLAS never wakes its own workers, which otherwise spin for a while after
    each product and take a core from the threads of the next split op.

    Args:
        a: ``(..., m, k)`` array.
        b: ``(..., k, n)`` array.
        out: optional output of the product's shape.

    Returns:
        The product (``out`` if given).
    """
    mnk = math.prod(a.shape) * b.shape[-1]
    blas, threads = _switchable_threads()
    if blas is None:
        return np.matmul(a, b, out=out)
    rows = a.shape[-2] if a.ndim >= 2 and b.ndim >= 2 else 1
    n_parts = _part_count(threads, rows, mnk)
    if n_parts == 1:
        try:
            blas.set_num_threads(1)
            return np.matmul(a, b, out=out)
        finally:
            blas.set_num_threads(threads)
    if out is None:
        shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), rows, b.shape[-1])
        out = np.empty(shape, dtype=np.result_type(a, b))
    ranges = split(rows, n_parts)

    def product(k: int) -> None:
        first, stop = ranges[k]
        np.matmul(a[..., first:stop, :], b, out=out[..., first:stop, :])

    run_parts(product, n_parts)
    return out


def parts(items: int, mnk: int) -> int:
    """Into how many parts an op of ``items`` independent items (e.g. images) should split.

    Args:
        items: how many pieces the work can be cut into at most.
        mnk: the op's multiply-adds (its biggest product's ``m·n·k``).

    Returns:
        BLAS's thread count when the op has at least :data:`SMALL_MNK` multiply-adds
        per thread and the count may be changed now (see the module docstring), else 1.
    """
    if items < 2:
        return 1
    blas, threads = _switchable_threads()
    return 1 if blas is None else _part_count(threads, items, mnk)


def _part_count(threads: int, items: int, mnk: int) -> int:
    """One part per thread, never more than items, each of at least SMALL_MNK work."""
    return max(1, min(threads, items, mnk // SMALL_MNK))


def split(items: int, n_parts: int) -> list[tuple[int, int]]:
    """``n_parts`` contiguous ``(start, stop)`` ranges covering ``range(items)``, near-equal."""
    if n_parts == 1:
        return [(0, items)]
    bounds = np.linspace(0, items, n_parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def run_parts(work: Callable[[int], Any], n_parts: int) -> list[Any]:
    """``[work(0), …, work(n_parts - 1)]``, each part on its own thread, BLAS at one thread.

    The calling thread does part 0; the others run on convscope's pool. With one part
    (or when the thread count may not be changed) the parts run one after another
    here. The first error is raised once every part has finished.
    """
    blas, threads = _switchable_threads() if n_parts > 1 else (None, 1)
    if blas is None:
        return [work(k) for k in range(n_parts)]
    if n_parts - 1 not in _pools:
        _pools[n_parts - 1] = ThreadPoolExecutor(n_parts - 1, thread_name_prefix=POOL_PREFIX + "op")
    try:
        blas.set_num_threads(1)
        futures = [_pools[n_parts - 1].submit(work, k) for k in range(1, n_parts)]
        try:
            first = work(0)
        finally:
            for f in futures:  # every part is done before BLAS gets its threads back
                f.exception()
        return [first] + [f.result() for f in futures]
    finally:
        blas.set_num_threads(threads)
