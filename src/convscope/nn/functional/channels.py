"""Per-channel work on ``(N, C, *)`` arrays, done in their memory layout.

Normalisation layers need two things per channel C: sums over every other axis
(statistics and parameter gradients) and ``x · scale + shift`` with one scale and
shift per channel. Written with NumPy's axis arguments and ``(1, C, 1, 1)``
broadcasting, both are slow on a channels-last array such as conv2d's output: a
float32 sum over ``(0, 2, 3)`` adds one value at a time (inaccurate; in float64 it
is accurate but 10× slower than BLAS) and a broadcast along an innermost axis of
only C elements runs NumPy's inner loop C elements at a time (0.86 ms instead of
0.30 ms for 128×32×28×28 float32).

:class:`ChannelMatrix` instead sees the array as the 2-D matrix its memory already
is — ``(N·H·W, C)`` rows for channels-last (and for ``(N, C)``), ``(N·C, H·W)``
for the standard layout — sums columns by BLAS blocks with float64 accumulation
(:func:`~convscope.nn.functional.reductions.column_sums64`) or rows pairwise, and
broadcasts per-channel vectors tiled to long rows (up to 32,768 elements).

>>> x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)     # (N, C, L)
>>> m = ChannelMatrix(x)
>>> m.sums(m.matrix)                                         # per channel
array([14., 22., 30.])
>>> m.array(m.affine(m.matrix, np.array([1., 0., 2.]), np.array([0., 5., 0.])))[0]
array([[ 0.,  1.],
       [ 5.,  5.],
       [ 8., 10.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from convscope import workspace
from convscope.nn.functional.reductions import column_sums64

# Per-channel vectors are tiled to rows of up to this many elements (128 KiB of float32,
# in L2): NumPy's broadcast add of a (M, 32768) by a (32768,) ran at 0.46 ms per 12.8 MB,
# of a (M, 1024) at 0.64 ms, of a (M, 32) at 0.87 ms (one core of an AMD EPYC).
_ROW_ELEMENTS = 32768


class ChannelMatrix:
    """An ``(N, C, *)`` array as a 2-D matrix in its memory order.

    Attributes:
        shape: the array's shape ``(N, C, *)``.
        channels_last: True when the matrix is ``(N·prod(*), C)`` (channels-last
            memory or a 2-D ``(N, C)`` input), False for ``(N·C, prod(*))``.
        matrix: the input's data as that matrix (a view; a contiguous copy if the
            input was in neither layout).
    """

    def __init__(self, a: np.ndarray):
        if a.ndim < 2:
            raise ValueError(f"ChannelMatrix expected an (N, C, *) array; received {a.shape}.")
        self.shape = a.shape
        self.dtype = a.dtype
        n, c = a.shape[:2]
        self._n, self._c = n, c
        last = np.moveaxis(a, 1, -1)  # (N, *, C)
        spatial = a.size // max(n * c, 1)
        self.channels_last = last.flags.c_contiguous and (
            a.ndim == 2 or spatial == 1 or not a.flags.c_contiguous
        )
        if self.channels_last:
            self._rows, self._cols = a.size // max(c, 1), c
            self.matrix = last.reshape(self._rows, c)
            # Rows of the widened matrix hold `k` consecutive rows: k divides the row count.
            self._widen = _largest_divisor(self._rows, max(1, _ROW_ELEMENTS // max(c, 1)))
        else:
            self._rows, self._cols = n * c, a.size // max(n * c, 1)
            self.matrix = np.ascontiguousarray(a).reshape(self._rows, self._cols)
            self._widen = 1

    def like(self, b: np.ndarray) -> np.ndarray:
        """``b``, shaped like the input, as a matrix of this layout (a copy if stored otherwise)."""
        if self.channels_last:
            last = np.moveaxis(b, 1, -1)  # (N, *, C)
            return np.ascontiguousarray(last).reshape(self._rows, self._cols)
        return np.ascontiguousarray(b).reshape(self._rows, self._cols)

    def array(self, matrix: np.ndarray) -> np.ndarray:
        """A matrix of this layout as the ``(N, C, *)`` array it stands for (a view)."""
        if self.channels_last:
            n, c = self._n, self._c
            stored = matrix.reshape((n, *self.shape[2:], c))  # (N, *, C)
            return np.moveaxis(stored, -1, 1)
        return matrix.reshape(self.shape)

    def empty(self, dtype: np.dtype | None = None) -> np.ndarray:
        """An uninitialised matrix of this layout (from the workspace pool)."""
        return workspace.empty((self._rows, self._cols), self.dtype if dtype is None else dtype)

    def sums(self, matrix: np.ndarray) -> np.ndarray:
        """Per-channel sums of a matrix of this layout: ``(C,)`` float64.

        Columns: BLAS sums of 128-row blocks, the blocks added in float64. Rows:
        NumPy's pairwise sum along each contiguous row, then float64 over N.
        """
        if self.channels_last:
            return column_sums64(matrix)
        per_row = matrix.sum(axis=1)  # (N·C,): pairwise, contiguous
        return per_row.reshape(self._n, self._c).sum(axis=0, dtype=np.float64)

    def _broadcast(self, vector: np.ndarray) -> np.ndarray:
        """A ``(C,)`` vector shaped to broadcast against :meth:`_wide` matrices."""
        vector = np.asarray(vector, dtype=self.dtype)
        if self.channels_last:
            return np.tile(vector, self._widen)  # (k·C,)
        return np.tile(vector, self._n).reshape(-1, 1)  # (N·C, 1)

    def _wide(self, matrix: np.ndarray) -> np.ndarray:
        if self._widen == 1:
            return matrix
        return matrix.reshape(self._rows // self._widen, self._widen * self._cols)

    def affine(
        self,
        matrix: np.ndarray,
        scale: np.ndarray | None,
        shift: np.ndarray | None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``matrix · scale + shift`` per channel (``(C,)`` vectors, None to skip).

        Args:
            matrix: a matrix of this layout.
            scale, shift: per-channel vectors (cast to the array's dtype) or None.
            out: where to write (may be ``matrix`` itself); a new pooled matrix if None.

        Returns:
            ``out``, holding the result.
        """
        out = self.empty() if out is None else out
        wide_in, wide_out = self._wide(matrix), self._wide(out)
        if scale is not None:
            np.multiply(wide_in, self._broadcast(scale), out=wide_out)
            wide_in = wide_out
        if shift is not None:
            np.add(wide_in, self._broadcast(shift), out=wide_out)
        elif scale is None and out is not matrix:
            np.copyto(out, matrix)
        return out

    def add_scaled(self, out: np.ndarray, matrix: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """``out += matrix · scale`` per channel, through one pooled temporary."""
        product = self.affine(matrix, scale, None)
        np.add(out, product, out=out)
        return out


def _largest_divisor(m: int, limit: int) -> int:
    """The largest divisor of ``m`` that is at most ``limit`` (1 for ``m`` = 0)."""
    best = 1
    i = 1
    while i * i <= m:
        if m % i == 0:
            for d in (i, m // i):
                if best < d <= limit:
                    best = d
        i += 1
    return best
