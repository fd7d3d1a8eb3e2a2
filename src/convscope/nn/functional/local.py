"""Unshared and tiled convolution (Goodfellow et al., *Deep Learning*, §9.5).

A **locally connected** layer ("unshared convolution") has the connectivity of a
convolution — each output sees one ``KH×KW`` window of every input channel — but
no parameter sharing: every output location ``(y, x)`` has its own kernel.

    out[n, o, y, x] = bias[o, y, x]
                      + Σ_{c,i,j} weight[y, x, o, c, i, j] · input[n, c, y·s + i, x·s + j]

A **tiled** convolution sits between the two: it learns ``TH×TW`` kernels and
cycles through them in space, so output ``(y, x)`` uses kernel
``(y mod TH, x mod TW)``; neighbouring locations differ, locations a tile apart
share. ``tile_size=(1, 1)`` is an ordinary convolution.

Both reuse the windowing of :mod:`convscope.nn.functional.conv`: the windows of the
padded channels-last image as one strided view, then — because each location has
its own kernel — one *batched* matrix product with a leading location axis:

    cols (OH·OW, N, KH·KW·C) @ W (OH·OW, KH·KW·C, O) -> out (OH·OW, N, O)

Backward: ``dW = colsᵀ g`` per location, ``dcols = g Wᵀ`` added back onto the windows
by the same ``col2im`` as ``conv2d``. The tiled weight is expanded to one kernel per
location by indexing, whose backward sums every location's gradient into its tile.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3))
>>> w = np.zeros((2, 2, 1, 1, 2, 2), dtype=np.float32)    # (OH, OW, O, C, KH, KW)
>>> w[0, 0, 0, 0, 0, 0] = 1.0                             # top-left output: top-left pixel
>>> w[1, 1, 0, 0, 1, 1] = 1.0                             # bottom-right output: its last pixel
>>> locally_connected2d(x, Tensor(w)).numpy()[0, 0]
array([[0., 0.],
       [0., 8.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from convscope.nn.functional.conv import _check_4d, _col2im_add, _float_tensor, _windows
from convscope.nn.functional.geometry import Padding, pair, resolve_padding
from convscope.tensor import ArrayLike, Tensor


def _check_6d_weight(w: Tensor, fn: str, locations: str) -> None:
    """ValueError unless ``w`` is 6-D: ``(locations, out_channels, in_channels, KH, KW)``.

    ``locations`` names the two leading axes: ``"OH, OW"`` (one kernel per output
    location) or ``"TH, TW"`` (one per tile position).
    """
    if w.ndim != 6:
        raise ValueError(
            f"{fn} expected a 6-D weight of shape ({locations}, out_channels, in_channels, "
            f"KH, KW); received weight of shape {w.shape}."
        )


def local_output_size(
    input_size: tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
) -> tuple[int, int]:
    """``(OH, OW)`` of a locally connected or tiled layer (the convolution formula).

    >>> local_output_size((28, 28), 5), local_output_size((28, 28), 3, stride=2, padding="same")
    ((24, 24), (14, 14))
    """
    k_h, k_w = pair(kernel_size, "kernel_size")
    stride = pair(stride, "stride")
    top, bottom, left, right = resolve_padding(padding, input_size, (k_h, k_w), stride)
    h_pad, w_pad = input_size[0] + top + bottom, input_size[1] + left + right
    if k_h > h_pad or k_w > w_pad:
        raise ValueError(
            f"Kernel of size {(k_h, k_w)} does not fit in an input of size {tuple(input_size)} "
            f"padded to {(h_pad, w_pad)}."
        )
    return (h_pad - k_h) // stride[0] + 1, (w_pad - k_w) // stride[1] + 1


def locally_connected2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
) -> Tensor:
    """Unshared convolution: a separate kernel at every output location.

    Args:
        input: ``(N, C, H, W)`` floats.
        weight: ``(OH, OW, O, C, KH, KW)``: kernel ``weight[y, x]`` computes output ``(y, x)``.
        bias: ``(O, OH, OW)`` (one bias per output unit), or None.
        stride: step between windows, int or ``(sh, sw)``.
        padding: int, pair, ``'valid'`` or ``'same'`` (as :func:`conv2d`).

    Shape:
        output ``(N, O, OH, OW)``, ``OH = floor((H + pad_top + pad_bottom − KH) / sh) + 1``;
        ``weight.shape[:2]`` must equal ``(OH, OW)``.

    Returns:
        The output Tensor, dtype of ``input``.

    Raises:
        TypeError: non-float or mismatched dtypes.
        ValueError: wrong ranks, channel mismatch, or weight/bias not matching the
            output size.
    """
    x = _float_tensor(input, "locally_connected2d", "input")
    w = _float_tensor(weight, "locally_connected2d", "weight")
    b = None if bias is None else _float_tensor(bias, "locally_connected2d", "bias")
    _check_4d(x, "locally_connected2d", "input", "(N, C, H, W)")
    _check_6d_weight(w, "locally_connected2d", "OH, OW")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"locally_connected2d expected {name} of the input's dtype {x.dtype}; "
                f"received {t.dtype}."
            )
    n, c, h, w_in = x.shape
    out_h, out_w, o, c_w, k_h, k_w = w.shape
    if c != c_w:
        raise ValueError(
            f"locally_connected2d expected input with {c_w} channels (weight shape {w.shape}); "
            f"received input of shape {x.shape}."
        )
    stride = pair(stride, "stride")
    top, bottom, left, right = resolve_padding(padding, (h, w_in), (k_h, k_w), stride)
    expected = local_output_size((h, w_in), (k_h, k_w), stride, padding)
    if expected != (out_h, out_w):
        raise ValueError(
            f"locally_connected2d expected a weight for a {expected[0]}x{expected[1]} output "
            f"(input {x.shape}, kernel {(k_h, k_w)}, stride {stride}, padding {padding!r}); "
            f"received weight of shape {w.shape} ({out_h}x{out_w} locations)."
        )
    if b is not None and b.shape != (o, out_h, out_w):
        raise ValueError(
            f"locally_connected2d expected bias of shape {(o, out_h, out_w)}; received bias of "
            f"shape {b.shape}."
        )
    h_pad, w_pad = h + top + bottom, w_in + left + right
    padded = np.zeros((n, h_pad, w_pad, c), dtype=x.dtype)  # (N, Hp, Wp, C)
    padded[:, top : top + h, left : left + w_in] = x.data.transpose(0, 2, 3, 1)
    windows = _windows(padded, (out_h, out_w), (k_h, k_w), stride, (1, 1))  # (N,OH,OW,KH,KW,C)
    locations, row_len = out_h * out_w, k_h * k_w * c
    cols = np.ascontiguousarray(windows.transpose(1, 2, 0, 3, 4, 5))  # (OH, OW, N, KH, KW, C)
    cols = cols.reshape(locations, n, row_len)  # (OH·OW, N, KH·KW·C)
    w_mat = w.data.transpose(0, 1, 4, 5, 3, 2)  # (OH, OW, KH, KW, C, O): rows ordered like cols
    w_mat = w_mat.reshape(locations, row_len, o)  # (OH·OW, KH·KW·C, O)

    out = np.matmul(cols, w_mat)  # (OH·OW, N, O): one small product per location
    out = out.reshape(out_h, out_w, n, o).transpose(2, 3, 0, 1)  # (N, O, OH, OW)
    if b is not None:
        out = out + b.data  # broadcasts over N
    out = np.ascontiguousarray(out)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        g_rows = np.ascontiguousarray(g.transpose(2, 3, 0, 1)).reshape(locations, n, o)
        grad_x = grad_w = grad_b = None
        if w.requires_grad:
            grad_w = np.matmul(cols.transpose(0, 2, 1), g_rows)  # (OH·OW, KH·KW·C, O)
            grad_w = grad_w.reshape(out_h, out_w, k_h, k_w, c, o)  # unflatten
            grad_w = np.ascontiguousarray(grad_w.transpose(0, 1, 5, 4, 2, 3))  # (OH,OW,O,C,KH,KW)
        if b is not None and b.requires_grad:
            grad_b = g.sum(axis=0)  # (O, OH, OW)
        if x.requires_grad:
            d_cols = np.matmul(g_rows, w_mat.transpose(0, 2, 1))  # (OH·OW, N, KH·KW·C)
            d_cols = d_cols.reshape(out_h, out_w, n, k_h, k_w, c)  # unflatten
            by_offset = d_cols.transpose(3, 4, 5, 2, 0, 1)  # (KH, KW, C, N, OH, OW)
            d_image = np.zeros((c, n, h_pad, w_pad), dtype=g.dtype)  # (C, N, Hp, Wp)
            _col2im_add(d_image, by_offset, stride, (1, 1))
            grad_x = np.ascontiguousarray(
                d_image[:, :, top : top + h, left : left + w_in].transpose(1, 0, 2, 3)
            )  # (N, C, H, W)
        return (grad_x, grad_w) if b is None else (grad_x, grad_w, grad_b)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(out, parents, backward, "locally_connected2d")


def tile_kernels(weight: ArrayLike, output_size: tuple[int, int]) -> Tensor:
    """Expand ``(TH, TW, O, C, KH, KW)`` tiled kernels to one per location, ``(OH, OW, ...)``.

    Location ``(y, x)`` gets kernel ``(y mod TH, x mod TW)``; the backward pass sums the
    gradients of all locations that share a kernel.

    >>> import numpy as np
    >>> w = np.arange(4, dtype=np.float32).reshape(2, 2, 1, 1, 1, 1)
    >>> tile_kernels(w, (3, 3)).numpy()[:, :, 0, 0, 0, 0]
    array([[0., 1., 0.],
           [2., 3., 2.],
           [0., 1., 0.]], dtype=float32)
    """
    w = _float_tensor(weight, "tile_kernels", "weight")
    _check_6d_weight(w, "tile_kernels", "TH, TW")
    out_h, out_w = output_size
    rows = np.arange(out_h) % w.shape[0]  # which tile row each output row uses
    columns = np.arange(out_w) % w.shape[1]
    index = (rows[:, None], columns[None, :])
    out = w.data[index]  # (OH, OW, O, C, KH, KW)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        grad = np.zeros_like(w.data)
        np.add.at(grad, index, g)  # locations sharing a kernel add up
        return (grad,)

    return Tensor.from_op(out, (w,), backward, "tile_kernels")


def tiled_conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
) -> Tensor:
    """Tiled convolution: ``TH×TW`` kernels cycled over the output locations.

    Args:
        input: ``(N, C, H, W)`` floats.
        weight: ``(TH, TW, O, C, KH, KW)``: output ``(y, x)`` uses ``weight[y % TH, x % TW]``.
        bias: ``(O,)`` shared by all locations (as in a convolution), or None.
        stride, padding: as :func:`conv2d`.

    Shape:
        output ``(N, O, OH, OW)`` with the convolution's ``OH``, ``OW``.

    Returns:
        The output Tensor, dtype of ``input``.

    >>> import numpy as np
    >>> x = np.ones((1, 1, 4, 4), dtype=np.float32)
    >>> w = np.arange(1, 5, dtype=np.float32).reshape(2, 2, 1, 1, 1, 1)  # four 1×1 kernels
    >>> tiled_conv2d(x, w).numpy()[0, 0]
    array([[1., 2., 1., 2.],
           [3., 4., 3., 4.],
           [1., 2., 1., 2.],
           [3., 4., 3., 4.]], dtype=float32)
    """
    x = _float_tensor(input, "tiled_conv2d", "input")
    w = _float_tensor(weight, "tiled_conv2d", "weight")
    _check_4d(x, "tiled_conv2d", "input", "(N, C, H, W)")
    _check_6d_weight(w, "tiled_conv2d", "TH, TW")
    output_size = local_output_size(x.shape[2:], w.shape[4:], stride, padding)
    out = locally_connected2d(x, tile_kernels(w, output_size), None, stride, padding)
    if bias is None:
        return out
    b = _float_tensor(bias, "tiled_conv2d", "bias")
    if b.shape != (w.shape[2],):
        raise ValueError(
            f"tiled_conv2d expected bias of shape ({w.shape[2]},); received bias of shape "
            f"{b.shape}."
        )
    return out + b.reshape(1, -1, 1, 1)
