"""``Convo2D`` and ``in2col_Convo2D``: one (H, W) kernel slid over each image, via ``F.conv2d``.

Each image of a batch is convolved on its own (the original summed every window over
the whole batch, so each output image was the sum of all images' outputs), the kernel's
gradient has the kernel's shape (the original's came back ``(1, KH, KW)``), and an
unknown padding raises instead of printing and returning None.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.compat.rbdl.sequence import as_parameter
from convscope.compat.rbdl.values import Values
from convscope.nn import functional as F
from convscope.tensor import Tensor, stack

PADDINGS = ("valid", "same")


def as_images(x: Any, owner: str) -> Tensor:
    """``(H, W)`` or ``(N, H, W)`` input as an ``(N, 1, H, W)`` tensor (N = 1 for one image)."""
    x = x if isinstance(x, Values) else Values(x)
    if x.ndim == 2:
        return x.tensor.reshape(1, 1, *x.shape)  # (1, 1, H, W)
    if x.ndim == 3:
        return x.tensor.reshape(x.shape[0], 1, *x.shape[1:])  # (N, 1, H, W)
    raise ValueError(
        f"{owner} expected one image (H, W) or a batch (N, H, W); received shape {x.shape}."
    )


def _check_options(owner: str, padding: Any, stride: Any) -> None:
    if padding not in PADDINGS:
        raise ValueError(
            f"{owner} expected padding='valid' or padding='same'; received padding={padding!r}."
        )
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"{owner} expected an integer stride >= 1; received stride={stride!r}.")


def _kernel_2d(value: Any, owner: str) -> Values:
    kernel = value if isinstance(value, Values) else Values(value)
    if kernel.ndim != 2:
        raise ValueError(
            f"{owner} expected a 2-D kernel_matrix (KH, KW); received shape {kernel.shape}."
        )
    return kernel


def convolve(x: Any, kernel: Tensor, padding: str, stride: int, owner: str) -> Values:
    """Cross-correlate each image of ``x`` with the ``(KH, KW)`` ``kernel``.

    Shape:
        ``(H, W)`` -> ``(1, OH, OW)``; ``(N, H, W)`` -> ``(N, OH, OW)``, with
        ``OH = (H - KH) // stride + 1`` ('valid') or ``ceil(H / stride)`` ('same').
    """
    images = as_images(x, owner)
    dtype = np.result_type(images.dtype, kernel.dtype)
    images, kernel = images.astype(dtype), kernel.astype(dtype)  # no-ops when they agree
    weight = kernel.reshape(1, 1, *kernel.shape)  # (1, 1, KH, KW)
    out = F.conv2d(images, weight, stride=stride, padding=padding)  # (N, 1, OH, OW)
    return Values(out.reshape(out.shape[0], *out.shape[2:]))  # (N, OH, OW)


class Convo2D:
    """A 2-D convolution with one trainable ``(KH, KW)`` kernel and no bias.

    Args:
        kernel_matrix: the initial kernel (array or ``Values``), e.g. ``xavier_init((5, 5))``.
        padding: ``'valid'`` (none) or ``'same'`` (TensorFlow's: output ``ceil(H / stride)``,
            the odd pixel bottom/right).
        stride: step between windows.

    Shape:
        ``(H, W)`` -> ``(1, OH, OW)``; ``(N, H, W)`` -> ``(N, OH, OW)``.

    Raises:
        ValueError: a kernel that is not 2-D, an unknown padding, a stride < 1.

    >>> image = np.arange(16.0).reshape(4, 4)
    >>> Convo2D(np.ones((3, 3)))(image).vals
    array([[[45., 54.],
            [81., 90.]]])
    """

    def __init__(self, kernel_matrix: Any, padding: str = "valid", stride: int = 1):
        _check_options("Convo2D", padding, stride)
        self.kernel = _kernel_2d(kernel_matrix, "Convo2D")
        self.padding = padding
        self.stride = stride

    def __call__(self, x: Any) -> Values:
        _check_options("Convo2D", self.padding, self.stride)
        return convolve(x, self.kernel.tensor, self.padding, self.stride, "Convo2D")

    def params(self) -> Values:
        return self.kernel

    def set_params(self, param: Any) -> None:
        self.kernel = as_parameter(param, self.kernel.shape, "Convo2D", "kernel")


class in2col_Convo2D:  # noqa: N801 - the original's name
    """``Convo2D`` with its kernel stored as a ``(KH·KW, 1)`` column, as the original's im2col
    version saved it. Same arguments, outputs and gradients as :class:`Convo2D`.

    >>> layer = in2col_Convo2D(np.ones((3, 3)))
    >>> layer.params().shape
    (9, 1)
    >>> layer(np.arange(16.0).reshape(4, 4)).vals[0, 0]
    array([45., 54.])
    """

    def __init__(self, kernel_matrix: Any, padding: str = "valid", stride: int = 1):
        _check_options("in2col_Convo2D", padding, stride)
        kernel = _kernel_2d(kernel_matrix, "in2col_Convo2D")
        self.k_shape = kernel.shape
        self.kernel = Values(kernel.vals.reshape(-1, 1))  # (KH * KW, 1)
        self.padding = padding
        self.stride = stride

    def im2col(self, X: Any) -> Values:  # noqa: N803 - the original's name
        """The ``(OH·OW, KH·KW)`` matrix of ``X``'s windows, one flattened window per row.

        ``X`` is one ``(H, W)`` image, unpadded ('valid' windows at this layer's stride).
        Built as in *deep-learning-from-scratch*: one strided slice of ``X`` per kernel
        offset (KH·KW slices, not OH·OW), so it stays differentiable and fast.
        """
        x = X if isinstance(X, Values) else Values(X)
        (kh, kw), s = self.k_shape, self.stride
        if x.ndim != 2 or x.shape[0] < kh or x.shape[1] < kw:
            raise ValueError(
                f"in2col_Convo2D.im2col expected one image (H, W) at least {kh}x{kw}; "
                f"received shape {x.shape}."
            )
        oh, ow = (x.shape[0] - kh) // s + 1, (x.shape[1] - kw) // s + 1
        columns = [
            x.tensor[m : m + s * (oh - 1) + 1 : s, n : n + s * (ow - 1) + 1 : s].reshape(-1)
            for m in range(kh)
            for n in range(kw)
        ]  # KH·KW slices of (OH, OW), flattened
        return Values(stack(columns, axis=1))  # (OH * OW, KH * KW)

    def __call__(self, x: Any) -> Values:
        _check_options("in2col_Convo2D", self.padding, self.stride)
        kernel = self.kernel.tensor.reshape(self.k_shape)  # (KH, KW)
        return convolve(x, kernel, self.padding, self.stride, "in2col_Convo2D")

    def params(self) -> Values:
        return self.kernel

    def set_params(self, param: Any) -> None:
        self.kernel = as_parameter(param, self.kernel.shape, "in2col_Convo2D", "kernel")
