"""Adaptive average and max pooling: the output size is given, the windows follow from it.

As in PyTorch, output row ``i`` of ``OH`` pools input rows ``floor(i·H / OH)`` up to
(not including) ``ceil((i + 1)·H / OH)``; the same for columns. When ``OH`` divides
``H`` these are ordinary non-overlapping windows of ``H / OH`` rows; otherwise
neighbouring windows differ in size by one and may share a row. ``output_size=1``
is *global* pooling, the head of all-convolutional networks (Lin et al., *Network
in Network*, 2013).

**Average.** With the ``(OH, H)`` 0/1 matrix ``A`` marking the rows of each window,
the ``(OW, W)`` matrix ``B`` marking the columns, and ``count[i, j]`` the pixels of
window ``(i, j)``,

    out = (A @ x @ Bᵀ) / count    # (N, C, OH, OW): window sums, then the mean
    dx  = Aᵀ @ (g / count) @ B    # (N, C, H, W)

two small matrix products (batched over ``N, C``) for forward and backward; summing
first and dividing once rounds like PyTorch's kernel.

**Max.** The windows are visited one by one (``OH·OW`` of them, each a vectorized
reduction over all images and channels); the gradient goes to each window's first
maximum in row-major order, as PyTorch's CPU kernel.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
>>> adaptive_avg_pool2d(x, 2).numpy()[0, 0]          # windows rows 0–2 and 2–4
array([[ 6.,  8.],
       [16., 18.]], dtype=float32)
>>> adaptive_max_pool2d(x, 1).numpy().ravel()        # global max pooling
array([24.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convscope.nn.functional.geometry import _is_int
from convscope.nn.functional.pooling import _float_image_batch
from convscope.tensor import ArrayLike, Tensor

OutputSize = int | None | Sequence[int | None]


def adaptive_output_size(
    output_size: OutputSize, input_size: tuple[int, int], op: str = "adaptive pooling"
) -> tuple[int, int]:
    """``(OH, OW)`` from an ``int | (int | None, int | None)`` argument (None keeps the input's).

    >>> adaptive_output_size((None, 3), (28, 28))
    (28, 3)
    """
    sizes = (
        (output_size, output_size) if output_size is None or _is_int(output_size) else output_size
    )
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
        raise ValueError(
            f"{op} expected output_size to be a positive integer or a pair of them (None keeps "
            f"the input size); received output_size={output_size!r}."
        )
    resolved = []
    for size, given in zip(sizes, input_size, strict=True):
        if size is None:
            resolved.append(int(given))
        elif _is_int(size) and size >= 1:
            resolved.append(int(size))
        else:
            raise ValueError(
                f"{op} expected output_size to be a positive integer or a pair of them (None "
                f"keeps the input size); received output_size={output_size!r}."
            )
    return resolved[0], resolved[1]


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of the ``out`` windows over ``size`` pixels, as PyTorch.

    >>> adaptive_windows(5, 2)
    [(0, 3), (2, 5)]
    >>> adaptive_windows(6, 3)
    [(0, 2), (2, 4), (4, 6)]
    """
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _window_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """``(out, size)``: row ``i`` is 1 on window ``i``, 0 elsewhere."""
    matrix = np.zeros((out, size), dtype=dtype)
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        matrix[i, start:end] = 1
    return matrix


def averaging_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """``(out, size)``: row ``i`` averages window ``i`` (``1 / len`` on it, 0 elsewhere).

    ``A @ x @ Bᵀ`` with these matrices for rows and columns is adaptive average
    pooling as two matrix products (how it is written in ONNX for unequal windows).

    >>> averaging_matrix(3, 2, np.float64)
    array([[0.5, 0.5, 0. ],
           [0. , 0.5, 0.5]])
    """
    return (
        _window_matrix(size, out, dtype)
        / np.array([end - start for start, end in adaptive_windows(size, out)], dtype=dtype)[
            :, None
        ]
    )


def _check_input(input: ArrayLike, op: str) -> Tensor:
    """:func:`_float_image_batch`, and a ValueError for an empty image (H or W of 0)."""
    x = _float_image_batch(input, op)
    if 0 in x.shape[2:]:
        raise ValueError(f"{op} expected a non-empty image; received input of shape {x.shape}.")
    return x


def adaptive_avg_pool2d(input: ArrayLike, output_size: OutputSize) -> Tensor:
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        input: ``(N, C, H, W)`` Tensor or array of floats.
        output_size: ``OH`` (square) or ``(OH, OW)``; ``None`` in the pair keeps the
            input's size along that axis. ``1`` is global average pooling.

    Shape:
        - input: ``(N, C, H, W)``
        - output: ``(N, C, OH, OW)``; window ``i`` spans rows
          ``floor(i·H/OH) … ceil((i+1)·H/OH) − 1``.

    Returns:
        The pooled Tensor, in the input's dtype.

    Raises:
        TypeError: integer input.
        ValueError: input not 4-D, or an output size that is not a positive integer.

    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.ones((8, 64, 7, 7), dtype=np.float32), 1).shape
    (8, 64, 1, 1)
    """
    x = _check_input(input, "adaptive_avg_pool2d")
    h, w = x.shape[2:]
    out_h, out_w = adaptive_output_size(output_size, (h, w), "adaptive_avg_pool2d")
    rows = _window_matrix(h, out_h, x.dtype)  # (OH, H)
    cols = _window_matrix(w, out_w, x.dtype)  # (OW, W)
    count = np.outer(rows.sum(1), cols.sum(1))  # (OH, OW): pixels per window
    out = np.matmul(np.matmul(rows, x.data), cols.T)  # (N, C, OH, W) -> (N, C, OH, OW)
    out /= count

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        # The adjoint of out = A x Bᵀ / count: dx = Aᵀ (g / count) B.
        return (np.matmul(np.matmul(rows.T, g / count), cols),)  # (N, C, H, OW) -> (N, C, H, W)

    return Tensor.from_op(out, (x,), backward, "adaptive_avg_pool2d")


def adaptive_max_pool2d(input: ArrayLike, output_size: OutputSize) -> Tensor:
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Args:
        input: ``(N, C, H, W)`` Tensor or array of floats.
        output_size: ``OH`` or ``(OH, OW)`` (None keeps that axis); ``1`` is global
            max pooling.

    Shape:
        - input: ``(N, C, H, W)``
        - output: ``(N, C, OH, OW)``, windows as :func:`adaptive_avg_pool2d`.

    Returns:
        The pooled Tensor. Its gradient flows to the first maximum of each window
        (row-major order), as in PyTorch; a window with NaN outputs NaN.

    Raises:
        TypeError: integer input.
        ValueError: input not 4-D, or an output size that is not a positive integer.

    >>> import numpy as np
    >>> x = np.array([[[[1, 9, 2], [4, 5, 6]]]], dtype=np.float32)
    >>> adaptive_max_pool2d(x, (1, 2)).numpy()
    array([[[[9., 9.]]]], dtype=float32)
    """
    x = _check_input(input, "adaptive_max_pool2d")
    n, c, h, w = x.shape
    out_h, out_w = adaptive_output_size(output_size, (h, w), "adaptive_max_pool2d")
    windows = [
        (rows, cols) for rows in adaptive_windows(h, out_h) for cols in adaptive_windows(w, out_w)
    ]
    out = np.empty((n, c, out_h * out_w), dtype=x.dtype)  # (N, C, OH·OW)
    first = np.empty((n, c, out_h * out_w), dtype=np.int64)  # row-major index in the window
    for k, ((top, bottom), (left, right)) in enumerate(windows):
        patch = x.data[:, :, top:bottom, left:right].reshape(n, c, -1)  # (N, C, kh·kw)
        nan = np.isnan(patch)
        # argmax of a NaN-marked copy finds the first NaN (PyTorch lets NaN win).
        first[:, :, k] = np.where(nan.any(-1), nan.argmax(-1), patch.argmax(-1))
        out[:, :, k] = np.take_along_axis(patch, first[:, :, k, None], -1)[..., 0]
    out = out.reshape(n, c, out_h, out_w)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        g = g.reshape(n, c, out_h * out_w)  # (N, C, OH·OW)
        grad = np.zeros((n, c, h, w), dtype=g.dtype)
        for k, ((top, bottom), (left, right)) in enumerate(windows):
            size = (bottom - top) * (right - left)
            hit = np.arange(size) == first[:, :, k, None]  # (N, C, kh·kw): one-hot
            share = (hit * g[:, :, k, None]).reshape(n, c, bottom - top, right - left)
            grad[:, :, top:bottom, left:right] += share  # windows may overlap: add
        return (grad,)

    return Tensor.from_op(out, (x,), backward, "adaptive_max_pool2d")
