"""Convolution and pooling as a learner first writes them: plain Python loops.

Nothing here is fast, on purpose. Each function spells out, index by index, what
the vectorized ops in :mod:`convscope.nn.functional` compute, so it serves as
reading material and as the test oracle the fast versions are checked against.

A note on the name. What deep learning calls "convolution" is, strictly,
**cross-correlation**: the kernel slides over the input *without being flipped*::

    out[i, j] = sum over m, n of  input[i*stride + m, j*stride + n] * kernel[m, n]

The convolution of signal processing flips the kernel first
(``kernel[kh-1-m, kw-1-n]``). A network learns its kernels, so it makes no
difference which one is used, and every framework (PyTorch, TensorFlow, convscope)
uses cross-correlation.

>>> convolve2d([[1, 2, 0], [0, 1, 2], [2, 0, 1]], [[1, 0], [0, 1]])
array([[2, 4],
       [0, 2]])

Two families live here:

- single-image textbook functions (:func:`convolve2d`, :func:`max_pooling`,
  :func:`average_pooling`) with TensorFlow/Keras-style ``'valid'``/``'same'``
  padding, as in the classic problem sets;
- batched NCHW references with PyTorch's arguments (:func:`conv2d_loops`,
  :func:`max_pool2d_loops`, :func:`avg_pool2d_loops`), used to test the fast ops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convscope.arguments import pair

IntPair = int | tuple[int, int]


# --------------------------------------------------------------------------- helpers


def _matrix(value: Any, name: str, fn: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2:
        raise ValueError(f"{fn} expected {name} to be a 2-D matrix; received shape {array.shape}.")
    return array


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros to add (before, after) along one dimension for TensorFlow's ``'same'``.

    The output has ``ceil(size / stride)`` positions, which needs
    ``max((ceil(size / stride) - 1) * stride + kernel - size, 0)`` padding in total;
    when that is odd the extra zero goes *after* (bottom/right), as TensorFlow does.

    >>> same_padding(5, 3, 1), same_padding(5, 3, 2), same_padding(4, 2, 2), same_padding(6, 4, 1)
    ((1, 1), (1, 1), (0, 0), (1, 2))
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_matrix(x: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """A copy of ``x`` surrounded by zeros."""
    padded = np.zeros((x.shape[0] + top + bottom, x.shape[1] + left + right), dtype=x.dtype)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            padded[top + i, left + j] = x[i, j]
    return padded


# --------------------------------------------------------------------------- single image


def convolve2d(
    input_matrix: Sequence[Sequence[float]] | np.ndarray,
    kernel_matrix: Sequence[Sequence[float]] | np.ndarray,
    padding: str = "valid",
    stride: IntPair = 1,
) -> np.ndarray:
    """Slide ``kernel_matrix`` over ``input_matrix`` (cross-correlation, no kernel flip).

    ``out[i, j] = Σ_m Σ_n x[i*s + m, j*s + n] · k[m, n]``, where ``x`` is the input,
    zero-padded first with ``padding='same'``.

    Args:
        input_matrix: a 2-D matrix (nested lists or an array).
        kernel_matrix: a 2-D kernel, no larger than the input for ``'valid'``.
        padding: ``'valid'`` (no padding: the kernel stays inside the input) or
            ``'same'`` (TensorFlow/Keras SAME: zeros around the input so the output
            has ``ceil(n / stride)`` positions; an odd extra row/column goes at the
            bottom/right). Case does not matter.
        stride: step between kernel positions, an int or (rows, columns).

    Shape:
        - input (H, W), kernel (KH, KW).
        - output, valid: (floor((H - KH) / s) + 1, floor((W - KW) / s) + 1).
        - output, same: (ceil(H / s), ceil(W / s)).

    Returns:
        An array of the common dtype of input and kernel (integers stay integers).

    Raises:
        ValueError: padding not 'valid'/'same', a kernel larger than the input with
            'valid', non-2-D matrices, or a stride below 1.

    >>> x = [[1, 1, 1, 0, 0],
    ...      [0, 1, 1, 1, 0],
    ...      [0, 0, 1, 1, 1],
    ...      [0, 0, 1, 1, 0],
    ...      [0, 1, 1, 0, 0]]
    >>> k = [[1, 0, 1],
    ...      [0, 1, 0],
    ...      [1, 0, 1]]
    >>> convolve2d(x, k)
    array([[4, 3, 4],
           [2, 4, 3],
           [2, 3, 4]])
    >>> convolve2d(x, k, padding="same")
    array([[2, 2, 3, 1, 1],
           [1, 4, 3, 4, 1],
           [1, 2, 4, 3, 3],
           [1, 2, 3, 4, 1],
           [0, 2, 2, 1, 1]])
    >>> convolve2d(x, k, stride=2)
    array([[4, 4],
           [2, 4]])
    >>> convolve2d(x, k, padding="same", stride=2)
    array([[2, 3, 1],
           [1, 4, 3],
           [0, 2, 1]])
    """
    fn = "convolve2d"
    x = _matrix(input_matrix, "input_matrix", fn)
    k = _matrix(kernel_matrix, "kernel_matrix", fn)
    sh, sw = pair(stride, "stride")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"{fn} expected padding 'valid' or 'same'; received padding={padding!r}.")
    kh, kw = k.shape
    if mode == "same":
        top, bottom = same_padding(x.shape[0], kh, sh)
        left, right = same_padding(x.shape[1], kw, sw)
        x = _pad_matrix(x, top, bottom, left, right)
    elif kh > x.shape[0] or kw > x.shape[1]:
        raise ValueError(
            f"{fn} with padding='valid' expected a kernel no larger than the input "
            f"{x.shape}; received kernel {k.shape}. Use padding='same' or a smaller kernel."
        )
    out_h = (x.shape[0] - kh) // sh + 1
    out_w = (x.shape[1] - kw) // sw + 1
    out = np.zeros((out_h, out_w), dtype=np.result_type(x, k))
    for i in range(out_h):
        for j in range(out_w):
            total = 0
            for m in range(kh):
                for n in range(kw):
                    total += x[i * sh + m, j * sw + n] * k[m, n]
            out[i, j] = total
    return out


def _pool(input_matrix: Any, pool_size: IntPair, stride: IntPair | None, fn: str, reduce: Any):
    x = _matrix(input_matrix, "input_matrix", fn)
    ph, pw = pair(pool_size, "pool_size")
    sh, sw = pair(1 if stride is None else stride, "stride")
    if ph > x.shape[0] or pw > x.shape[1]:
        raise ValueError(
            f"{fn} expected a pool_size no larger than the input {x.shape}; "
            f"received pool_size={(ph, pw)}."
        )
    out_h = (x.shape[0] - ph) // sh + 1
    out_w = (x.shape[1] - pw) // sw + 1
    rows = []
    for i in range(out_h):
        row = []
        for j in range(out_w):
            window = [x[i * sh + m, j * sw + n] for m in range(ph) for n in range(pw)]
            row.append(reduce(window))
        rows.append(row)
    return x, rows


def max_pooling(
    input_matrix: Sequence[Sequence[float]] | np.ndarray,
    pool_size: IntPair,
    stride: IntPair | None = None,
) -> np.ndarray:
    """Largest value of each ``pool_size`` window: ``out[i, j] = max_{m,n} x[i*s + m, j*s + n]``.

    No padding ('valid'). As in the classic problem set, ``stride=None`` means 1
    (overlapping windows); PyTorch's ``max_pool2d`` instead defaults the stride
    to the window size.

    Args:
        input_matrix: a 2-D matrix.
        pool_size: window size, an int or (rows, columns).
        stride: step between windows, an int or pair; None means 1.

    Shape:
        (H, W) -> (floor((H - PH) / s) + 1, floor((W - PW) / s) + 1).

    Returns:
        An array of the input's dtype.

    Raises:
        ValueError: a window larger than the input, non-2-D input, sizes below 1.

    >>> x = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    >>> max_pooling(x, (2, 2))
    array([[ 6,  7,  8],
           [10, 11, 12],
           [14, 15, 16]])
    >>> max_pooling(x, 2, stride=2)
    array([[ 6,  8],
           [14, 16]])
    """
    x, rows = _pool(input_matrix, pool_size, stride, "max_pooling", max)
    return np.array(rows, dtype=x.dtype).reshape(len(rows), -1)


def average_pooling(
    input_matrix: Sequence[Sequence[float]] | np.ndarray,
    pool_size: IntPair,
    stride: IntPair | None = None,
) -> np.ndarray:
    """Mean of each ``pool_size`` window: ``out[i, j] = mean_{m,n} x[i*s + m, j*s + n]``.

    No padding ('valid'); ``stride=None`` means 1, as in :func:`max_pooling`.

    Args:
        input_matrix: a 2-D matrix.
        pool_size: window size, an int or (rows, columns).
        stride: step between windows, an int or pair; None means 1.

    Shape:
        (H, W) -> (floor((H - PH) / s) + 1, floor((W - PW) / s) + 1).

    Returns:
        A float64 array for integer input, else an array of the input's dtype.

    Raises:
        ValueError: a window larger than the input, non-2-D input, sizes below 1.

    >>> x = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    >>> average_pooling(x, (2, 2))
    array([[ 3.5,  4.5,  5.5],
           [ 7.5,  8.5,  9.5],
           [11.5, 12.5, 13.5]])
    """
    x, rows = _pool(input_matrix, pool_size, stride, "average_pooling", lambda w: sum(w) / len(w))
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.array(rows, dtype=dtype).reshape(len(rows), -1)


# --------------------------------------------------------------------------- batched NCHW


def _out_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil: bool) -> int:
    """PyTorch's output length: floor (or ceil) of (size + 2p - d(k-1) - 1)/s, plus 1.

    With ``ceil=True`` a last window that would start in the right padding is dropped.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def conv2d_loops(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv2d`` on arrays, in seven nested loops (the oracle).

    ::

        out[n, o, i, j] = b[o] + Σ_c Σ_m Σ_q xp[n, g·Cg + c, i·sh + m·dh, j·sw + q·dw]
                                            · w[o, c, m, q]

    with ``xp`` the zero-padded input, ``g = o // (O / groups)`` output channel
    ``o``'s group and ``Cg = C / groups`` the channels per group.

    Args:
        x: (N, C, H, W) input.
        w: (O, C / groups, KH, KW) kernels.
        b: (O,) bias or None.
        stride, dilation: ints or pairs.
        padding: int or pair of zeros on each side, or 'valid' (0) or 'same' (stride 1
            only, as PyTorch; an odd total puts the extra zero at the bottom/right).
        groups: split the channels into this many independent convolutions.

    Shape:
        (N, C, H, W) -> (N, O, floor((H + 2p - d(KH - 1) - 1) / s) + 1, ...).

    Returns:
        An array of the common dtype of ``x`` and ``w``.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d_loops(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    xp, sizes, _ = _conv_setup(x, w, stride, padding, dilation, groups, "conv2d_loops")
    n_batch, out_channels, out_h, out_w, group_channels, kh, kw, sh, sw, dh, dw = sizes
    per_group = out_channels // groups
    out = np.zeros((n_batch, out_channels, out_h, out_w), dtype=np.result_type(x, w))
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // per_group) * group_channels  # first input channel of o's group
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0 if b is None else b[o]
                    for c in range(group_channels):
                        for m in range(kh):
                            for q in range(kw):
                                r, s = i * sh + m * dh, j * sw + q * dw  # padded input row, col
                                total += xp[n, first + c, r, s] * w[o, c, m, q]
                    out[n, o, i, j] = total
    return out


def conv2d_backward_loops(
    x: np.ndarray,
    w: np.ndarray,
    grad: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of :func:`conv2d_loops` for an upstream ``grad``, in the same loops.

    Every term ``xp[n, c', r, s] · w[o, c, m, q]`` of ``out[n, o, i, j]`` sends
    ``grad[n, o, i, j] · w[o, c, m, q]`` to ``dx`` and ``grad[n, o, i, j] · xp[…]`` to
    ``dw``; the bias gets ``Σ grad`` over n, i, j. Padding's share is dropped.

    Returns:
        ``(dx, dw, db)`` shaped like ``x``, ``w`` and ``(O,)``.

    >>> x, w = np.arange(9.0).reshape(1, 1, 3, 3), np.ones((1, 1, 2, 2))
    >>> dx, dw, db = conv2d_backward_loops(x, w, np.ones((1, 1, 2, 2)))
    >>> dx[0, 0]                       # how many windows cover each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dw[0, 0], db                   # sums of the pixels each tap saw
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    fn = "conv2d_backward_loops"
    xp, sizes, (top, left) = _conv_setup(x, w, stride, padding, dilation, groups, fn)
    n_batch, out_channels, out_h, out_w, group_channels, kh, kw, sh, sw, dh, dw = sizes
    per_group = out_channels // groups
    dxp = np.zeros(xp.shape, dtype=np.result_type(x, w, grad))
    dwt = np.zeros(np.shape(w), dtype=dxp.dtype)
    db = np.zeros(out_channels, dtype=dxp.dtype)
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // per_group) * group_channels
            for i in range(out_h):
                for j in range(out_w):
                    gij = grad[n, o, i, j]
                    db[o] += gij
                    for c in range(group_channels):
                        for m in range(kh):
                            for q in range(kw):
                                r, s = i * sh + m * dh, j * sw + q * dw
                                dxp[n, first + c, r, s] += gij * w[o, c, m, q]
                                dwt[o, c, m, q] += gij * xp[n, first + c, r, s]
    height, width = np.shape(x)[2:]
    return dxp[:, :, top : top + height, left : left + width], dwt, db


def _conv_setup(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int, fn: str
) -> tuple[np.ndarray, tuple[int, ...], tuple[int, int]]:
    """Checks, the zero-padded input, the loop bounds and (top, left) padding."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"{fn} expected x of shape (N, C, H, W) and w of shape (O, C/groups, KH, KW); "
            f"received {x.shape} and {w.shape}."
        )
    n_batch, channels, height, width = x.shape
    out_channels, group_channels, kh, kw = w.shape
    if (
        groups < 1
        or channels % groups
        or out_channels % groups
        or group_channels * groups != channels
    ):
        raise ValueError(
            f"{fn} expected C={channels} and O={out_channels} divisible by groups={groups} and "
            f"w.shape[1] == C / groups; received w of shape {w.shape}."
        )
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        if (sh, sw) != (1, 1):
            raise ValueError(f"{fn}: padding='same' needs stride 1; received stride={stride!r}.")
        total_h, total_w = dh * (kh - 1), dw * (kw - 1)
        pads = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    else:
        ph, pw = pair(padding, "padding", minimum=0)
        pads = (ph, ph, pw, pw)
    top, bottom, left, right = pads
    xp = np.zeros((n_batch, channels, height + top + bottom, width + left + right), x.dtype)
    xp[:, :, top : top + height, left : left + width] = x
    out_h = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    out_w = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    sizes = (n_batch, out_channels, out_h, out_w, group_channels, kh, kw, sh, sw, dh, dw)
    return xp, sizes, (top, left)


def _pool_setup(
    x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Checks and loop bounds of the pool2d loops: ``x`` as an array and its sizes.

    ``stride=None`` means ``kernel_size``, as PyTorch. The sizes are
    ``(N, C, H, W, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw)``.
    """
    x = np.asarray(x)
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation")
    n_batch, channels, height, width = x.shape
    out_h = _out_size(height, kh, sh, ph, dh, ceil_mode)
    out_w = _out_size(width, kw, sw, pw, dw, ceil_mode)
    return x, (n_batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw)


def max_pool2d_loops(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """``torch.nn.functional.max_pool2d`` on an (N, C, H, W) array, in loops.

    Padded positions never win (they count as -inf). ``stride=None`` means
    ``kernel_size``, as PyTorch.

    >>> max_pool2d_loops(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    x, sizes = _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode)
    n_batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw = sizes
    out = np.zeros((n_batch, channels, out_h, out_w), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    out[n, c, i, j] = _window_max(
                        x[n, c], i * sh - ph, j * sw - pw, kh, kw, dh, dw
                    )[0]
    return out


def _window_max(
    image: np.ndarray, top: int, left: int, kh: int, kw: int, dh: int, dw: int
) -> tuple[float, tuple[int, int] | None]:
    """The largest real pixel of one window and where it is (the first, in row-major
    order, when tied: PyTorch's rule); ``(-inf, None)`` when the window is all padding."""
    best, where = -np.inf, None
    for m in range(kh):
        for q in range(kw):
            r, s = top + m * dh, left + q * dw
            if 0 <= r < image.shape[0] and 0 <= s < image.shape[1] and image[r, s] > best:
                best, where = image[r, s], (r, s)
    return best, where


def avg_pool2d_loops(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """``torch.nn.functional.avg_pool2d`` on an (N, C, H, W) array, in loops.

    The divisor is the window's size clipped to the padded input (so zero padding
    counts when ``count_include_pad``, but a ``ceil_mode`` overhang never does), or
    only the real input positions when ``count_include_pad=False``, or
    ``divisor_override``. ``stride=None`` means ``kernel_size``, as PyTorch.

    >>> avg_pool2d_loops(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    x, sizes = _pool_setup(x, kernel_size, stride, padding, 1, ceil_mode)  # no dilation
    n_batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw, _, _ = sizes
    out = np.zeros((n_batch, channels, out_h, out_w), dtype=x.dtype)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    rows, cols, divisor = _avg_window(
                        i * sh - ph, j * sw - pw, kh, kw, height, width, ph, pw, count_include_pad
                    )
                    total = 0.0
                    for r in rows:
                        for s in cols:
                            total += x[n, c, r, s]
                    out[n, c, i, j] = total / (
                        divisor if divisor_override is None else divisor_override
                    )
    return out


def _avg_window(
    top: int,
    left: int,
    kh: int,
    kw: int,
    height: int,
    width: int,
    ph: int,
    pw: int,
    count_include_pad: bool,
) -> tuple[range, range, int]:
    """The real rows and columns one average window covers, and its divisor: the window
    clipped to the padded input (padding counts, a ceil_mode overhang never does), or
    only the real pixels without ``count_include_pad``."""
    bottom, right = min(top + kh, height + ph), min(left + kw, width + pw)
    padded_count = (bottom - top) * (right - left)
    rows, cols = range(max(top, 0), min(bottom, height)), range(max(left, 0), min(right, width))
    return rows, cols, padded_count if count_include_pad else len(rows) * len(cols)


def max_pool2d_backward_loops(
    x: np.ndarray,
    grad: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """The gradient of :func:`max_pool2d_loops`: each window's ``grad`` goes to its maximum.

    The winner is the first maximum in row-major window order (PyTorch's tie rule);
    padding never wins.

    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    >>> max_pool2d_backward_loops(x, np.ones((1, 1, 1, 1)), 2)[0, 0]   # the first 3 wins
    array([[0., 1.],
           [0., 0.]])
    """
    x, sizes = _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode)
    n_batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw = sizes
    dx = np.zeros(x.shape, dtype=np.result_type(x, grad))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    _, where = _window_max(x[n, c], i * sh - ph, j * sw - pw, kh, kw, dh, dw)
                    if where is not None:
                        dx[n, c, where[0], where[1]] += grad[n, c, i, j]
    return dx


def avg_pool2d_backward_loops(
    x: np.ndarray,
    grad: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """The gradient of :func:`avg_pool2d_loops`: ``grad / divisor`` to each real input
    pixel of the window (the divisor as in the forward loop).

    >>> avg_pool2d_backward_loops(np.zeros((1, 1, 2, 2)), np.ones((1, 1, 1, 1)), 2)[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    x, sizes = _pool_setup(x, kernel_size, stride, padding, 1, ceil_mode)  # no dilation
    n_batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw, _, _ = sizes
    dx = np.zeros(x.shape, dtype=np.result_type(x, grad))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    rows, cols, divisor = _avg_window(
                        i * sh - ph, j * sw - pw, kh, kw, height, width, ph, pw, count_include_pad
                    )
                    for r in rows:
                        for s in cols:
                            dx[n, c, r, s] += grad[n, c, i, j] / divisor
    return dx
