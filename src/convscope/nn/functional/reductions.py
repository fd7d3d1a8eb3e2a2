"""Accurate sums over the long axis of a channels-last array.

NumPy sums pairwise (error growing like ``log n``) only along the contiguous
axis; summing a ``(rows, K)`` array over its rows adds them one after another, and
in float32 the error grows with the row count: 4.7e-6 relative for a conv
layer's bias gradient over 128·26·26 rows (PyTorch: 1.6e-7). :func:`sum_rows`
lets BLAS sum blocks of 128 rows (one matrix-vector product for all blocks) and
adds the few block sums in float64: 1e-7 relative, and faster than ``sum(0)``
(0.15 ms vs 1.1 ms on that array; ``einsum`` 0.36 ms, a float64 ``sum`` 1.4 ms).
"""

from __future__ import annotations

import numpy as np

from convscope import blas

_BLOCK = 128  # rows summed by BLAS in the working dtype before float64 takes over


def sum_rows(a: np.ndarray) -> np.ndarray:
    """Column sums of a 2-D array, accurate to about the dtype's rounding, in its dtype.

    Args:
        a: ``(rows, K)`` array of floats (copied first unless C-contiguous).

    Shape:
        ``(rows, K)`` -> ``(K,)``.

    Returns:
        ``a.sum(axis=0)`` computed blockwise: float32 sums of ``128``-row blocks by a
        BLAS product with a ones vector, then the block sums added in float64.

    >>> import numpy as np
    >>> a = np.full((1_000_000, 2), 0.1, dtype=np.float32)
    >>> float(a.sum(axis=0)[0])  # exact: 100000.0015
    100958.34375
    >>> bool(abs(sum_rows(a)[0] - 100000.0015) < 0.1)
    True
    """
    return column_sums64(a).astype(a.dtype)


def column_sums64(a: np.ndarray) -> np.ndarray:
    """:func:`sum_rows` before the final rounding: the ``(K,)`` column sums in float64."""
    rows, k = a.shape
    blocks = rows // _BLOCK
    head = np.ascontiguousarray(a[: blocks * _BLOCK]).reshape(blocks, _BLOCK, k)  # (B, 128, K)
    partial = blas.matmul(np.ones(_BLOCK, dtype=a.dtype), head)  # (B, K): one sum per block
    return partial.sum(axis=0, dtype=np.float64) + a[blocks * _BLOCK :].sum(
        axis=0, dtype=np.float64
    )
