"""2-D convolution through im2col and one matrix product, and constant padding.

Like every deep-learning library, ``conv2d`` computes a cross-correlation
(Goodfellow et al., *Deep Learning*, §9.1): the kernel is not flipped.

    out[n, o, y, x] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · input[n, c, y·s + i·d, x·s + j·d]

**im2col.** Copy every ``KH×KW×C`` input window into one row of a matrix
``cols`` (one row per output pixel); then the whole convolution is a single
matrix product that BLAS runs at full speed:

    cols (N·OH·OW, KH·KW·C) @ W (KH·KW·C, O) -> out (N·OH·OW, O)

The rows are ordered ``(n, y, x)`` and the columns ``(i, j, c)``: channels last.
In a channels-last copy of the image each window row is then a run of ``KW·C``
consecutive numbers, so building ``cols`` is one fast strided copy (about 3× faster
than from NCHW, where the runs are only ``OW`` long). The product's rows are then
``out`` channels last, returned as an NCHW-shaped view (see *Layout* below).

**Backward.** With ``g = dL/dout`` reshaped to rows ``(N·OH·OW, O)`` like ``out``:

    dW    = gᵀ @ cols                     (O, KH·KW·C)
    dbias = g summed over n, y, x
    dcols = g @ W                         (N·OH·OW, KH·KW·C)

and ``col2im`` adds every row of ``dcols`` back onto the window it was copied
from (overlapping windows add up). ``dcols`` is computed transposed, ``W gᵀ``,
which comes out ordered by kernel offset, so col2im reads contiguous blocks.

**Layout.** ``out`` is computed channels last (rows ``(n, y, x)``) and returned as
an ``(N, O, OH, OW)`` *view* of that array rather than copied to NCHW. The values
are the same; elementwise ops and pooling keep the layout, so the next conv2d finds
its input already channels last and skips that copy too. Gradients come back in
the same layout. Gradients are only computed for inputs that
require them: the first layer's images never do.

Each product is a single BLAS call on big matrices. (One product per image,
issued as a batched ``np.matmul``, is faster with one thread — but with several,
BLAS synchronises its threads once per image, and on a busy machine that made
the backward pass ~30× slower.)

With ``groups > 1`` the channels split into ``groups`` independent convolutions,
done by the same products with a leading group axis.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
>>> w = Tensor(np.ones((1, 1, 2, 2), dtype=np.float32))
>>> conv2d(x, w).numpy()[0, 0]      # each output is the sum of a 2×2 window
array([[10., 14., 18.],
       [26., 30., 34.],
       [42., 46., 50.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convscope import blas, workspace
from convscope.nn.functional.geometry import Padding, pair, resolve_padding
from convscope.nn.functional.reductions import sum_rows
from convscope.tensor import ArrayLike, Tensor, as_tensor


def _float_tensor(value: ArrayLike, op: str, name: str) -> Tensor:
    """``value`` as a Tensor, checking it holds floating-point numbers."""
    tensor = as_tensor(value)
    if tensor.dtype.kind != "f":
        raise TypeError(
            f"{op} expected a floating-point {name}; received dtype {tensor.dtype}. "
            f"Convert it first, e.g. {name}.astype(np.float32)."
        )
    return tensor


def _check_4d(tensor: Tensor, op: str, name: str, layout: str) -> None:
    if tensor.ndim != 4:
        hint = " For a single image add a batch axis: x[None]." if name == "input" else ""
        raise ValueError(
            f"{op} expected a 4-D {name} of shape {layout}; received {name} of shape "
            f"{tensor.shape}.{hint}"
        )


def _windows(
    image: np.ndarray,
    out_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> np.ndarray:
    """Read-only view ``(N, OH, OW, KH, KW, *channels)`` of all windows of an NHWC image.

    ``view[n, y, x, i, j] = image[n, y·sh + i·dh, x·sw + j·dw]``; no data is copied.
    """
    n_str, h_str, w_str, *c_str = image.strides
    (sh, sw), (dh, dw) = stride, dilation
    shape = (image.shape[0], *out_size, *kernel_size, *image.shape[3:])
    strides = (n_str, h_str * sh, w_str * sw, h_str * dh, w_str * dw, *c_str)
    if image.flags.c_contiguous:  # as as_strided, ~10x cheaper (it matters at batch 1)
        view = np.ndarray(shape, image.dtype, buffer=image, strides=strides)
        view.flags.writeable = False
        return view
    return as_strided(image, shape=shape, strides=strides, writeable=False)


def _col2im_add(
    image: np.ndarray,
    by_offset: np.ndarray,
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> None:
    """The adjoint of :func:`_windows`: add every window's values back where they were read.

    Windows overlap, and overlapping contributions must add up, so this loops over
    the ``KH·KW`` kernel offsets ``(i, j)``: offset ``(i, j)`` of all windows is one
    strided slice of the image, and a single ``+=`` adds all of them.

    Shape:
        image: ``(C, N, Hp, Wp)``, updated in place.
        by_offset: ``(KH, KW, C, N, OH, OW)``: offset-major, so each ``+=`` reads one
            contiguous block.
    """
    k_h, k_w, _, _, out_h, out_w = by_offset.shape
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(k_h):
        for j in range(k_w):
            rows = slice(i * dh, i * dh + (out_h - 1) * sh + 1, sh)
            columns = slice(j * dw, j * dw + (out_w - 1) * sw + 1, sw)
            image[:, :, rows, columns] += by_offset[i, j]


def _offset_range(k: int, size: int, out: int, stride: int, dilation: int, before: int):
    """Outputs ``y`` whose tap ``k`` reads a real (unpadded) pixel, as (first y, first pixel, n).

    Tap ``k`` of output ``y`` reads padded pixel ``y·stride + k·dilation``, i.e. input
    pixel ``y·stride + k·dilation − before``, which must lie in ``[0, size)``.
    """
    offset = k * dilation - before
    first = -(offset // stride) if offset < 0 else 0  # ceil(-offset / stride)
    last = min(out - 1, (size - 1 - offset) // stride)
    count = max(0, last - first + 1)
    return first, first * stride + offset, count


def _input_gradient(
    g_rows: np.ndarray,
    taps: np.ndarray,
    out_size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    before: tuple[int, int],
    image: np.ndarray,
) -> None:
    """``dL/dinput`` of conv2d, channels last: ``col2im(g_rows · Wᵀ)`` one kernel tap at a time.

    Tap ``(i, j)`` of every window read one strided slice of the input, so its share of
    the gradient is the product ``g_rows · W_ij`` — ``(N·OH·OW, C)`` rows, i.e. an
    ``(N, OH, OW, C)`` block — added onto that slice (overlapping windows add up). Taps
    that fall into the padding are dropped. One ``C``-wide product per tap, written into
    the same buffer, replaces one big ``(N·OH·OW, KH·KW·C)`` ``dcols`` matrix: KH·KW
    times less memory, and each ``+=`` reads a contiguous block (measured on W1's conv2:
    3.9 ms against 5.6 for ``dcols`` then col2im by strided offsets, 7.0 for the NCHW
    col2im and copy).

    Shape:
        g_rows: ``(G, N·OH·OW, O/G)``, rows ``(n, y, x)``.
        taps: ``(KH, KW, G, O/G, Cg)``: the weights of each tap.
        image: ``(N, H, W, G, Cg)``, overwritten with the gradient.
    """
    k_h, k_w, groups, _, c_group = taps.shape
    (out_h, out_w), (sh, sw), (dh, dw) = out_size, stride, dilation
    n, h, w = image.shape[:3]
    image.fill(0)
    share = workspace.empty((groups, g_rows.shape[1], c_group), g_rows.dtype)  # one tap's
    # (N, OH, OW, G, Cg) view of the share, to add onto the image
    block = share.transpose(1, 0, 2).reshape(n, out_h, out_w, groups, c_group)
    for i in range(k_h):
        y0, row0, n_rows = _offset_range(i, h, out_h, sh, dh, before[0])
        for j in range(k_w):
            x0, col0, n_cols = _offset_range(j, w, out_w, sw, dw, before[1])
            if not (n_rows and n_cols):
                continue  # this tap only ever reads padding
            if groups == 1:
                blas.matmul(g_rows[0], taps[i, j, 0], out=share[0])  # (N·OH·OW, C)
            else:
                blas.matmul(g_rows, taps[i, j], out=share)  # (G, N·OH·OW, Cg)
            target = image[:, row0 : row0 + (n_rows - 1) * sh + 1 : sh,
                           col0 : col0 + (n_cols - 1) * sw + 1 : sw]  # fmt: skip
            target += block[:, y0 : y0 + n_rows, x0 : x0 + n_cols]


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul`` of ``(G, ·, ·)`` stacks, as one 2-D BLAS call when ``G == 1``.

    NumPy's stacked matmul is ~1.5x slower than the 2-D product for a single group.
    """
    if a.shape[0] == 1:
        return blas.matmul(a[0], b[0], out=None if out is None else out[0])[None]
    return blas.matmul(a, b, out=out)


def _copy(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` in a pooled buffer."""
    copy = workspace.empty(a.shape, a.dtype)
    np.copyto(copy, a)
    return copy


def _zero_border(image: np.ndarray, pads: tuple[int, int, int, int]) -> None:
    """Zero the padding band of an ``(N, Hp, Wp, C)`` image (the interior is written after)."""
    top, bottom, left, right = pads
    h_pad, w_pad = image.shape[1:3]
    image[:, :top] = 0
    image[:, h_pad - bottom :] = 0
    image[:, :, :left] = 0
    image[:, :, w_pad - right :] = 0


def _groups_last(blocks: np.ndarray) -> np.ndarray:
    """``(G, R, K)`` per-group blocks as ``(R, G·K)`` rows (a copy only when ``G > 1``)."""
    groups, rows, width = blocks.shape
    if groups == 1:
        return blocks.reshape(rows, width)
    return np.ascontiguousarray(blocks.transpose(1, 0, 2)).reshape(rows, groups * width)


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of images, as ``torch...conv2d``.

    Args:
        input: ``(N, C, H, W)`` Tensor or array of floats.
        weight: ``(O, C / groups, KH, KW)`` kernels, same dtype as ``input``.
        bias: ``(O,)`` added to every output pixel of each channel, or None.
        stride: step between windows, int or ``(sh, sw)``.
        padding: zeros added around the input: int, ``(ph, pw)``, ``'valid'`` (none) or
            ``'same'`` (TensorFlow's SAME: output ``ceil(H / sh)``, any stride; the odd
            pixel goes bottom/right).
        dilation: spacing between kernel taps, int or ``(dh, dw)``.
        groups: split channels into this many independent convolutions
            (``groups == C`` is a depthwise convolution).

    Shape:
        - input: ``(N, C, H, W)``; weight: ``(O, C/groups, KH, KW)``
        - output: ``(N, O, OH, OW)`` with
          ``OH = floor((H + pad_top + pad_bottom − dh·(KH − 1) − 1) / sh) + 1``
          (likewise ``OW``).

    Returns:
        The output Tensor (same dtype as ``input``).

    Raises:
        TypeError: integer input/weight/bias, or mismatched dtypes.
        ValueError: wrong number of dimensions, channel mismatch, ``groups`` not
            dividing the channels, bias of the wrong shape, stride or dilation < 1,
            unknown padding, or a kernel larger than the padded input.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> x = Tensor(np.zeros((8, 3, 32, 32), dtype=np.float32))
    >>> w = Tensor(np.zeros((16, 3, 5, 5), dtype=np.float32))
    >>> conv2d(x, w, padding=2).shape, conv2d(x, w, stride=2, padding="same").shape
    ((8, 16, 32, 32), (8, 16, 16, 16))
    """
    x = _float_tensor(input, "conv2d", "input")
    w = _float_tensor(weight, "conv2d", "weight")
    b = None if bias is None else _float_tensor(bias, "conv2d", "bias")
    _check_4d(x, "conv2d", "input", "(N, C, H, W)")
    _check_4d(w, "conv2d", "weight", "(out_channels, in_channels / groups, KH, KW)")
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"conv2d expected {name} of the input's dtype {x.dtype}; received {t.dtype}."
            )
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"conv2d expected groups to be an int >= 1; received groups={groups!r}.")
    n, c, h, w_in = x.shape
    o, c_group, k_h, k_w = w.shape
    if c % groups:
        raise ValueError(
            f"conv2d expected input channels divisible by groups={groups}; received input of "
            f"shape {x.shape} ({c} channels)."
        )
    if c != c_group * groups:
        grouping = f" and groups={groups}" if groups > 1 else ""
        raise ValueError(
            f"conv2d expected input with {c_group * groups} channels (weight shape {w.shape}"
            f"{grouping}); received input of shape {x.shape}"
        )
    if o % groups:
        raise ValueError(
            f"conv2d expected out_channels divisible by groups={groups}; received weight "
            f"shape {w.shape} ({o} output channels)."
        )
    if b is not None and b.shape != (o,):
        raise ValueError(
            f"conv2d expected bias of shape ({o},) for weight shape {w.shape}; received bias "
            f"of shape {b.shape}."
        )
    stride = pair(stride, "stride")
    dilation = pair(dilation, "dilation")
    top, bottom, left, right = resolve_padding(padding, (h, w_in), (k_h, k_w), stride, dilation)
    h_pad, w_pad = h + top + bottom, w_in + left + right
    span_h, span_w = dilation[0] * (k_h - 1) + 1, dilation[1] * (k_w - 1) + 1
    if span_h > h_pad or span_w > w_pad:
        raise ValueError(
            f"conv2d kernel spanning {span_h}x{span_w} pixels (weight shape {w.shape}, "
            f"dilation {dilation}) is larger than the padded input of {h_pad}x{w_pad} pixels "
            f"(input shape {x.shape}, padding {(top, bottom, left, right)})."
        )
    out_h = (h_pad - span_h) // stride[0] + 1
    out_w = (w_pad - span_w) // stride[1] + 1
    g_out = o // groups

    # The padded input, channels last: (N, Hp, Wp, C). Already-NHWC input is used as is.
    image = x.data.transpose(0, 2, 3, 1)  # (N, H, W, C)
    padded = None
    if (top, bottom, left, right) != (0, 0, 0, 0) or not image.flags.c_contiguous:
        padded = workspace.empty((n, h_pad, w_pad, c), x.dtype)
    rows, row_len = n * out_h * out_w, k_h * k_w * c_group  # output pixels; columns per group
    # im2col: one row per output pixel (n, y, x), columns (i, j, c); one block per group.
    cols = workspace.empty((groups, n, out_h, out_w, k_h, k_w, c_group), x.dtype)
    w_mat = w.data.reshape(groups, g_out, c_group, k_h, k_w)  # (G, O/G, Cg, KH, KW)
    w_mat = w_mat.transpose(0, 3, 4, 2, 1)  # (G, KH, KW, Cg, O/G): rows ordered like cols
    w_mat = np.ascontiguousarray(w_mat).reshape(groups, row_len, g_out)  # (G, KH·KW·Cg, O/G)
    out = workspace.empty((groups, rows, g_out), x.dtype)  # (G, N·OH·OW, O/G)
    per_image = out_h * out_w  # rows of one image

    def forward_images(first: int, stop: int) -> None:
        """Pad, im2col and multiply images ``first:stop`` (their rows of cols and out)."""
        source = image[first:stop]
        if padded is not None:
            source = padded[first:stop]
            _zero_border(source, (top, bottom, left, right))
            source[:, top : top + h, left : left + w_in] = image[first:stop]
        windows = _windows(source, (out_h, out_w), (k_h, k_w), stride, dilation)
        windows = windows.reshape(stop - first, out_h, out_w, k_h, k_w, groups, c_group)
        np.copyto(cols[:, first:stop], windows.transpose(5, 0, 1, 2, 3, 4, 6))  # the copy
        block = slice(first * per_image, stop * per_image)
        part = cols.reshape(groups, rows, row_len)[:, block]  # (G, rows of these, KH·KW·Cg)
        # (Folding the bias into the product as a column of ones makes K odd, e.g. 289,
        # and the product 2x slower: it is added after.)
        _matmul(part, w_mat, out[:, block])
        if b is not None:
            out[:, block] += b.data.reshape(groups, 1, g_out)  # (G, 1, O/G)

    # The whole convolution, split over the batch when it is big and BLAS has threads:
    # each part pads, copies and multiplies its images on its own core (see blas.py).
    ranges = blas.split(n, blas.parts(n, rows * row_len * o))
    blas.run_parts(lambda k: forward_images(*ranges[k]), len(ranges))
    cols = cols.reshape(groups, rows, row_len)  # (G, N·OH·OW, KH·KW·Cg)
    # Rows (n, y, x), columns (g, o): the output is already channels last. It is returned
    # as an (N, O, OH, OW) view of that NHWC array, not copied to NCHW: ReLU and pooling
    # keep the layout, and the next conv2d then needs no copy to make its channels last.
    out = _groups_last(out).reshape(n, out_h, out_w, o).transpose(0, 3, 1, 2)  # (N, O, OH, OW)
    if not w.requires_grad:
        cols = None  # only dW needs it: free the memory now

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # Rows (n, y, x) like cols; free of copies when g is channels last, as ``out`` is.
        g_rows = g.transpose(0, 2, 3, 1)  # (N, OH, OW, O)
        if not g_rows.flags.c_contiguous:
            g_rows = _copy(g_rows)
        g_rows = g_rows.reshape(rows, o)  # (N·OH·OW, O)
        g_rows_g = g_rows.reshape(rows, groups, g_out).transpose(1, 0, 2)  # (G, N·OH·OW, O/G)
        grad_x = grad_w = grad_b = None
        if x.requires_grad:
            taps = w_mat.reshape(groups, k_h, k_w, c_group, g_out)  # (G, KH, KW, Cg, O/G)
            taps = np.ascontiguousarray(taps.transpose(1, 2, 0, 4, 3))  # (KH, KW, G, O/G, Cg)
            d_image = workspace.empty((n, h, w_in, groups, c_group), g.dtype)  # (N, H, W, G, Cg)

        def backward_images(first: int, stop: int) -> np.ndarray | None:
            """dx of images ``first:stop``, and their share of dW (summed over parts)."""
            block = slice(first * per_image, stop * per_image)
            g_part = g_rows_g[:, block]  # (G, rows of these images, O/G)
            if x.requires_grad:
                _input_gradient(
                    g_part, taps, (out_h, out_w), stride, dilation, (top, left),
                    d_image[first:stop],
                )  # fmt: skip
            if w.requires_grad:
                return _matmul(g_part.transpose(0, 2, 1), cols[:, block])  # (G, O/G, K)
            return None

        ranges = blas.split(n, blas.parts(n, rows * row_len * o))
        shares = blas.run_parts(lambda k: backward_images(*ranges[k]), len(ranges))
        if w.requires_grad:
            grad_w = shares[0]
            for share in shares[1:]:  # in part order: the same sum every time
                grad_w += share
            grad_w = grad_w.reshape(o, k_h, k_w, c_group).transpose(0, 3, 1, 2)  # (O, Cg, KH, KW)
            grad_w = np.ascontiguousarray(grad_w)
        if b is not None and b.requires_grad:
            grad_b = sum_rows(g_rows)  # (O,): accurate sum over the N·OH·OW rows
        if x.requires_grad:
            # channels last like ``out``, as an NCHW view
            grad_x = d_image.reshape(n, h, w_in, c).transpose(0, 3, 1, 2)
        return (grad_x, grad_w) if b is None else (grad_x, grad_w, grad_b)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(out, parents, backward, "conv2d")


def pad(input: ArrayLike, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Pad the last dimensions with a constant, as ``torch.nn.functional.pad(mode='constant')``.

    Args:
        input: Tensor or array.
        pad: pairs of (before, after) pixel counts, starting from the **last**
            dimension: ``(left, right)`` pads only the width, ``(left, right, top,
            bottom)`` the width and height of an NCHW batch. Unequal pairs pad
            asymmetrically.
        value: the fill value; ``-inf`` is allowed (e.g. before a max-pool).

    Shape:
        Each padded dimension grows by ``before + after``.

    Returns:
        The padded Tensor. Its gradient is the gradient of the interior.

    Raises:
        ValueError: ``pad`` has odd length, more pairs than dimensions, or negative entries.
        TypeError: ``pad`` is not a sequence of ints, or a non-finite ``value`` for an
            integer input.

    >>> from convscope import Tensor
    >>> pad(Tensor([[1.0, 2.0]]), (1, 2)).numpy()
    array([[0., 1., 2., 0., 0.]], dtype=float32)
    >>> pad(Tensor([[1.0, 2.0]]), (0, 1, 1, 0), value=-1).numpy()
    array([[-1., -1., -1.],
           [ 1.,  2., -1.]], dtype=float32)
    """
    x = as_tensor(input)
    if not isinstance(pad, (tuple, list)) or not all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad
    ):
        raise TypeError(f"pad() expected a tuple of ints for `pad`; received pad={pad!r}.")
    if len(pad) % 2 or len(pad) > 2 * x.ndim:
        raise ValueError(
            f"pad() expected an even number of pad sizes, at most 2 per dimension "
            f"(input has {x.ndim} dimensions); received pad={tuple(pad)}."
        )
    if any(p < 0 for p in pad):
        raise ValueError(
            f"pad() expected non-negative pad sizes (it does not crop); received pad={tuple(pad)}."
        )
    if x.dtype.kind != "f" and not np.isfinite(value):
        raise TypeError(f"pad() cannot fill an integer input (dtype {x.dtype}) with value={value}.")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    out = np.full(
        tuple(size + a + b for size, (a, b) in zip(x.shape, widths, strict=True)),
        value,
        dtype=x.dtype,
    )
    interior = tuple(slice(a, a + size) for size, (a, _) in zip(x.shape, widths, strict=True))
    out[interior] = x.data

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g[interior],)

    return Tensor.from_op(out, (x,), backward, "pad")
