"""Matrix products that run small problems on one BLAS thread.

OpenBLAS splits a product over all its threads once ``m·n·k`` exceeds 262,144. For
a product of a few million multiply-adds, such as W1's second convolution at batch 1
(121×288 by 288×64), the work per thread is tens of microseconds, and waking the
second thread — asleep again after the previous product — costs about as much; when
another process keeps the other core busy it costs milliseconds (a thread that
cannot run holds up the product). :func:`matmul` runs products below
:data:`SMALL_MNK` on one thread and leaves bigger ones to BLAS.

Changing OpenBLAS's thread count is process-wide, so it is done only while the calling
thread is the process's only Python thread (nothing else can be inside BLAS), and
only when threadpoolctl can reach NumPy's OpenBLAS; otherwise products run unchanged.

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

import numpy as np

SMALL_MNK = 1 << 23  # m·n·k (summed over a stack) below which one thread does the product

_controller: object | None = None  # threadpoolctl's OpenBLAS controller, False if none


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
        _controller = chosen[0] if len(chosen) == 1 else False
    return _controller or None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)``, on one BLAS thread when the product is small.

    Args:
        a: ``(..., m, k)`` array.
        b: ``(..., k, n)`` array.
        out: optional output of the product's shape.

    Returns:
        The product (``out`` if given).
    """
    mnk = math.prod(a.shape) * b.shape[-1]
    if mnk < SMALL_MNK and threading.active_count() == 1:
        blas = _openblas()
        if blas is not None:
            threads = blas.get_num_threads()
            if threads > 1:
                blas.set_num_threads(1)
                try:
                    return np.matmul(a, b, out=out)
                finally:
                    blas.set_num_threads(threads)
    return np.matmul(a, b, out=out)
