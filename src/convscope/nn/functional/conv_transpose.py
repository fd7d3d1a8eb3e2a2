"""Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

A transposed convolution is the *adjoint* of a convolution: where ``conv2d`` reads
a ``KH×KW`` window of the input for every output pixel, ``conv_transpose2d``
*writes* a ``KH×KW`` window of the output for every input pixel, scaled by the
kernel, and overlapping windows add up. With stride ``s`` the windows are ``s``
pixels apart, so the output is about ``s`` times larger than the input: the
learned upsampling of decoders and segmentation networks (Dumoulin & Visin, *A
guide to convolution arithmetic*, 2016, §4).

    full[n, o, y·s + i·d, x·s + j·d] += Σ_c input[n, c, y, x] · weight[c, o, i, j]
    out = full cropped by ``padding`` on each side (+ ``output_padding`` kept at the end)

So the forward pass is conv2d's backward-to-input (one matrix product, then the
col2im sum), and the backward pass to the input is conv2d's forward (im2col of the
output gradient, then one product):

    cols (N·H·W, C) @ W (C, KH·KW·O)       -> windows to add into ``full``  (forward)
    d_input = im2col(g) (N·H·W, KH·KW·O) @ Wᵀ                              (backward)
    d_weight = inputᵀ @ im2col(g)

>>> import numpy as np
>>> x = np.array([[[[1.0, 2.0]]]], dtype=np.float32)          # (1, 1, 1, 2)
>>> w = np.ones((1, 1, 2, 2), dtype=np.float32)               # (C_in, C_out, KH, KW)
>>> conv_transpose2d(x, w, stride=1).numpy()[0, 0]            # windows overlap and add
array([[1., 3., 2.],
       [1., 3., 2.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from convscope.nn.functional.conv import _check_4d, _col2im_add, _float_tensor, _windows
from convscope.nn.functional.geometry import IntPair, pair
from convscope.tensor import ArrayLike, Tensor


def conv_transpose_output_size(
    size: int, kernel_size: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """``(n − 1)·s − 2p + d·(k − 1) + output_padding + 1``, PyTorch's output size.

    >>> conv_transpose_output_size(14, 4, stride=2, padding=1, output_padding=0, dilation=1)
    28
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def conv_transpose2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """Transposed convolution (the adjoint of :func:`~convscope.nn.functional.conv2d`).

    Args:
        input: ``(N, C_in, H, W)`` Tensor or array of floats.
        weight: ``(C_in, C_out / groups, KH, KW)`` kernels (PyTorch's layout), same dtype.
        bias: ``(C_out,)`` or None.
        stride: spacing of the written windows, int or ``(sh, sw)``.
        padding: pixels cropped from each side of the full output, int or pair —
            the ``padding`` of the conv2d this transposes.
        output_padding: extra rows/columns kept at the bottom/right (smaller than
            the stride or the dilation), to pick one of the input sizes a strided
            conv2d maps to the same output size.
        groups: independent groups of channels.
        dilation: spacing between kernel taps.

    Shape:
        - input: ``(N, C_in, H, W)``; weight: ``(C_in, C_out/groups, KH, KW)``
        - output: ``(N, C_out, OH, OW)``,
          ``OH = (H − 1)·sh − 2·ph + dh·(KH − 1) + output_padding_h + 1``.

    Returns:
        The output Tensor, in the input's dtype.

    Raises:
        TypeError: integer input/weight/bias, or mismatched dtypes.
        ValueError: wrong dimensions, channels not matching the weight or not divisible
            by ``groups``, a bias of the wrong shape, ``output_padding`` not smaller
            than stride or dilation, or an empty output.

    >>> x = np.zeros((8, 16, 14, 14), dtype=np.float32)
    >>> conv_transpose2d(x, np.zeros((16, 4, 4, 4), np.float32), stride=2, padding=1).shape
    (8, 4, 28, 28)
    """
    op = "conv_transpose2d"
    x = _float_tensor(input, op, "input")
    w = _float_tensor(weight, op, "weight")
    b = None if bias is None else _float_tensor(bias, op, "bias")
    _check_4d(x, op, "input", "(N, C, H, W)")
    _check_4d(w, op, "weight", "(in_channels, out_channels / groups, KH, KW)")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"{op} expected {name} of the input's dtype {x.dtype}; received {t.dtype}."
            )
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op} expected groups to be an int >= 1; received groups={groups!r}.")
    n, c, h, w_in = x.shape
    c_w, g_out, k_h, k_w = w.shape
    if c != c_w or c % groups:
        raise ValueError(
            f"{op} expected input with {c_w} channels (weight shape {w.shape}), divisible by "
            f"groups={groups}; received input of shape {x.shape}."
        )
    o, c_group = g_out * groups, c // groups
    if b is not None and b.shape != (o,):
        raise ValueError(
            f"{op} expected bias of shape ({o},) for weight shape {w.shape} and groups={groups}; "
            f"received bias of shape {b.shape}."
        )
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    padding = pair(padding, "padding", minimum=0)
    output_padding = pair(output_padding, "output_padding", minimum=0)
    for op_, s, d in zip(output_padding, stride, dilation, strict=True):
        if op_ >= max(s, d):
            raise ValueError(
                f"{op} expected output_padding smaller than stride or dilation (stride={stride}, "
                f"dilation={dilation}); received output_padding={output_padding}."
            )
    out_h, out_w = (
        conv_transpose_output_size(size, k, s, p, op_, d)
        for size, k, s, p, op_, d in zip(
            (h, w_in), (k_h, k_w), stride, padding, output_padding, dilation, strict=True
        )
    )
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{op} output would be empty ({out_h}x{out_w}) for input of shape {x.shape}, weight "
            f"{w.shape}, stride {stride}, padding {padding}: reduce the padding."
        )
    top, left = padding
    # The uncropped output: every window written in full, plus output_padding at the end.
    full_h = max((h - 1) * stride[0] + dilation[0] * (k_h - 1) + 1, top + out_h)
    full_w = max((w_in - 1) * stride[1] + dilation[1] * (k_w - 1) + 1, left + out_w)
    row_len = k_h * k_w * g_out  # one input pixel's window, per group
    rows = n * h * w_in
    # Input pixels as rows (n, y, x), channels split by group: (G, N·H·W, C/G).
    x_rows = np.ascontiguousarray(x.data.transpose(0, 2, 3, 1)).reshape(rows, groups, c_group)
    x_rows = x_rows.transpose(1, 0, 2)  # (G, N·H·W, C/G)
    w_mat = w.data.reshape(groups, c_group, g_out, k_h, k_w)  # (G, C/G, O/G, KH, KW)
    w_mat = w_mat.transpose(0, 1, 3, 4, 2).reshape(groups, c_group, row_len)  # (G, C/G, KH·KW·O/G)

    # Every input pixel's window of the output, then col2im adds them where they belong.
    windows = np.matmul(x_rows, w_mat)  # (G, N·H·W, KH·KW·O/G)
    windows = windows.reshape(groups, n, h, w_in, k_h, k_w, g_out)
    by_offset = windows.transpose(4, 5, 0, 6, 1, 2, 3).reshape(k_h, k_w, o, n, h, w_in)
    full = np.zeros((o, n, full_h, full_w), dtype=x.dtype)  # (O, N, Hf, Wf)
    _col2im_add(full, by_offset, stride, dilation)
    out = full[:, :, top : top + out_h, left : left + out_w].transpose(1, 0, 2, 3)  # (N, O, OH, OW)
    out = np.ascontiguousarray(out)
    if b is not None:
        out += b.data.reshape(1, o, 1, 1)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # Place g back into the uncropped frame (zeros where the output was cropped),
        # channels last, and read every input pixel's window of it: conv2d's im2col.
        g_full = np.zeros((n, full_h, full_w, o), dtype=g.dtype)  # (N, Hf, Wf, O)
        g_full[:, top : top + out_h, left : left + out_w] = g.transpose(0, 2, 3, 1)
        g_win = _windows(g_full, (h, w_in), (k_h, k_w), stride, dilation)  # (N, H, W, KH, KW, O)
        g_win = g_win.reshape(n, h, w_in, k_h, k_w, groups, g_out)  # O -> (G, O/G)
        g_cols = np.ascontiguousarray(g_win.transpose(5, 0, 1, 2, 3, 4, 6))
        g_cols = g_cols.reshape(groups, rows, row_len)  # (G, N·H·W, KH·KW·O/G)
        grad_x = grad_w = grad_b = None
        if x.requires_grad:
            grad_x = np.matmul(g_cols, w_mat.transpose(0, 2, 1))  # (G, N·H·W, C/G)
            grad_x = grad_x.transpose(1, 0, 2).reshape(n, h, w_in, c).transpose(0, 3, 1, 2)
        if w.requires_grad:
            grad_w = np.matmul(x_rows.transpose(0, 2, 1), g_cols)  # (G, C/G, KH·KW·O/G)
            grad_w = grad_w.reshape(c, k_h, k_w, g_out).transpose(0, 3, 1, 2)  # (C, O/G, KH, KW)
            grad_w = np.ascontiguousarray(grad_w)
        if b is not None and b.requires_grad:
            grad_b = g.sum(axis=(0, 2, 3))  # (O,)
        return (grad_x, grad_w) if b is None else (grad_x, grad_w, grad_b)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(out, parents, backward, "conv_transpose2d")
