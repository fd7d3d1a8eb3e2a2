"""What every benchmark needs: the machine's description, thread limits, paired timing.

Both libraries always run with the same number of threads: NumPy's BLAS through
threadpoolctl, PyTorch through ``torch.set_num_threads``. Paired timing runs ours
and theirs in alternating blocks of a few calls, so background load hits both
alike; medians are reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info() -> dict:
    """NumPy's BLAS: library, version, kernel ('architecture') and threads (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"library": "unknown (threadpoolctl not installed)"}
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            return {
                "library": pool.get("internal_api"),
                "version": pool.get("version"),
                "kernel": pool.get("architecture"),
                "threads": pool.get("num_threads"),
            }
    return {"library": "none found"}


def set_threads(threads: int):
    """Limit NumPy's BLAS (and PyTorch, if importable) to ``threads``; returns the limiter."""
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads, user_api="blas")
    except ImportError:
        pass
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    return limiter


def import_torch():
    """PyTorch, or None when it is not installed (convscope is then timed alone)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def machine() -> dict:
    """CPU, BLAS, versions and the load average: the header of every report."""
    import numpy as np

    torch = import_torch()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "blas": blas_info(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "load_average": os.getloadavg()[0],
        "openblas_env": {
            k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
        },
    }


def time_pair(
    ours: Callable[[], object],
    theirs: Callable[[], object] | None,
    repeats: int,
    warmup: int,
    block: int = 5,
) -> tuple[float, float | None]:
    """Median seconds of ``ours`` and ``theirs`` (None if absent), in alternating blocks.

    Each library runs ``block`` calls, then the other does: after a call, a library's
    worker threads keep spinning for a while (PyTorch's OpenMP pool, OpenBLAS's), so
    alternating single calls would time each library while the other's threads still
    hold the cores. The first call of each block is not counted.
    """
    for _ in range(warmup):
        ours()
        if theirs is not None:
            theirs()
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    done = 0
    while done < repeats:
        n = min(block, repeats - done)
        for name, fn in (("ours", ours), ("theirs", theirs)):
            if fn is None:
                continue
            fn()  # settles this library's threads after the other's block
            for _ in range(n):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        done += n
    return statistics.median(times["ours"]), (
        statistics.median(times["theirs"]) if times["theirs"] else None
    )


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return None if not ours or not theirs else ours / theirs
