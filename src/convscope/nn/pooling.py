"""Pooling layers (Goodfellow et al. §9.3): ``MaxPool2d`` and ``AvgPool2d``, wrapping ``F``.

>>> import numpy as np
>>> pool = MaxPool2d(2)
>>> pool
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
>>> pool(np.zeros((8, 32, 26, 26), dtype=np.float32)).shape
(8, 32, 13, 13)
"""

from __future__ import annotations

from typing import Any

from convscope.nn import functional as F
from convscope.nn._validation import _as_input, _pair
from convscope.nn.functional.geometry import WindowGeometry, check_padding
from convscope.nn.module import Module
from convscope.tensor import Tensor


def _check_pool_args(layer: str, kernel_size: Any, stride: Any, padding: Any) -> None:
    """Validate like PyTorch: positive kernel and stride, padding at most half the kernel."""
    kernel = _pair(kernel_size, layer, "kernel_size")
    if stride is not None:
        _pair(stride, layer, "stride")
    pad = check_padding(padding)  # F.*_pool2d's own check: one error from both
    if isinstance(pad, str):
        return
    if any(p > k // 2 for p, k in zip(pad, kernel, strict=True)):
        raise ValueError(
            f"{layer} expected padding to be at most half of kernel_size; received "
            f"padding={padding!r}, kernel_size={kernel_size!r}."
        )


def _check_pool_input(layer: str, x: Tensor) -> None:
    if x.ndim != 4:
        hint = " For a single image add a batch axis: x[None]." if x.ndim == 3 else ""
        raise ValueError(f"{layer} expected input of shape (N, C, H, W); received {x.shape}.{hint}")


class MaxPool2d(Module):
    """Keep the largest value of each ``kernel_size`` window, channel by channel.

    Args:
        kernel_size: window height and width (an int for a square window).
        stride: step between windows; default ``kernel_size`` (non-overlapping).
        padding: implicit −∞ added on each side, at most half of ``kernel_size``;
            or ``'valid'`` (none), ``'same'`` (output ``⌈H / stride⌉``, as Keras).
        dilation: must be 1 (accepted so PyTorch's positional order and repr hold;
            dilated pooling is not implemented).
        ceil_mode: (keyword only) round the output size up instead of down, so a
            partial window at the edge still gives an output.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H_out, W_out) with
          ``H_out = ⌊(H + 2·padding − kernel_size) / stride⌋ + 1``
          (⌈ ⌉ with ``ceil_mode``; the same for W).

    Raises:
        ValueError: invalid arguments, or input that is not 4-D.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        *,
        ceil_mode: bool = False,
    ):
        super().__init__()
        _check_pool_args("MaxPool2d", kernel_size, stride, padding)
        if _pair(dilation, "MaxPool2d", "dilation") != (1, 1):
            raise ValueError(
                f"MaxPool2d supports only dilation=1; received dilation={dilation!r}. "
                "For a wider window with the same cost, use a strided Conv2d with dilation."
            )
        # Stored as given (an int stays an int), so repr matches PyTorch's.
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None, "MaxPool2d")
        _check_pool_input("MaxPool2d", x)
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode
        )

    def window_geometry(self) -> WindowGeometry:
        return WindowGeometry(
            self.kernel_size, self.stride, self.dilation, self.padding, self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Average each ``kernel_size`` window, channel by channel.

    Args:
        kernel_size: window height and width (an int for a square window).
        stride: step between windows; default ``kernel_size``.
        padding: zeros added on each side, at most half of ``kernel_size``; or
            ``'valid'``, ``'same'`` (as :class:`MaxPool2d`).
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the full window size even where it overlaps the
            padding (True, PyTorch's default) or only by the real inputs it covers.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H_out, W_out) with
          ``H_out = ⌊(H + 2·padding − kernel_size) / stride⌋ + 1`` (the same for W).

    Raises:
        ValueError: invalid arguments, or input that is not 4-D.

    >>> import numpy as np
    >>> AvgPool2d(2)(np.ones((1, 1, 4, 4), dtype=np.float32)).numpy()[0, 0]
    array([[1., 1.],
           [1., 1.]], dtype=float32)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ):
        super().__init__()
        _check_pool_args("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None, "AvgPool2d")
        _check_pool_input("AvgPool2d", x)
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding,
            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
        )  # fmt: skip

    def window_geometry(self) -> WindowGeometry:
        return WindowGeometry(self.kernel_size, self.stride, 1, self.padding, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average-pool to a fixed output size whatever the input size (PyTorch semantics).

    ``AdaptiveAvgPool2d(1)`` is *global average pooling*: one number per channel, the
    head of all-convolutional networks, which then need no Flatten/Linear.

    Args:
        output_size: ``OH`` (square) or ``(OH, OW)``; ``None`` in the pair keeps the
            input's size along that axis.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, OH, OW); output row ``i`` averages input rows
          ``⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1`` (the same for columns).

    Raises:
        ValueError: an output size that is not a positive integer, or input that is not 4-D.

    >>> import numpy as np
    >>> gap = AdaptiveAvgPool2d(1)
    >>> gap
    AdaptiveAvgPool2d(output_size=1)
    >>> gap(np.ones((8, 64, 7, 7), dtype=np.float32)).shape
    (8, 64, 1, 1)
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        F.adaptive_output_size(output_size, (1, 1), "AdaptiveAvgPool2d")  # validates
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None, "AdaptiveAvgPool2d")
        _check_pool_input("AdaptiveAvgPool2d", x)
        return F.adaptive_avg_pool2d(x, self.output_size)

    def receptive_field_is_global(self) -> bool:
        # A (1, 1) output sees the whole image; other sizes have input-dependent windows.
        return F.adaptive_output_size(self.output_size, (2, 2)) == (1, 1)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max-pool to a fixed output size whatever the input size (PyTorch semantics).

    ``AdaptiveMaxPool2d(1)`` is global max pooling.

    Args:
        output_size: ``OH`` or ``(OH, OW)``; ``None`` keeps that axis of the input.
        return_indices: must be False (accepted for PyTorch's signature).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, OH, OW), windows as :class:`AdaptiveAvgPool2d`.

    Raises:
        ValueError: an output size that is not a positive integer, ``return_indices=True``,
            or input that is not 4-D.

    >>> import numpy as np
    >>> AdaptiveMaxPool2d((2, 1))(np.ones((1, 3, 5, 5), dtype=np.float32)).shape
    (1, 3, 2, 1)
    """

    def __init__(
        self, output_size: int | tuple[int | None, int | None], return_indices: bool = False
    ):
        super().__init__()
        F.adaptive_output_size(output_size, (1, 1), "AdaptiveMaxPool2d")  # validates
        if return_indices:
            raise ValueError(
                "AdaptiveMaxPool2d supports only return_indices=False; received "
                "return_indices=True."
            )
        self.output_size = output_size
        self.return_indices = False

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None, "AdaptiveMaxPool2d")
        _check_pool_input("AdaptiveMaxPool2d", x)
        return F.adaptive_max_pool2d(x, self.output_size)

    def receptive_field_is_global(self) -> bool:
        # A (1, 1) output sees the whole image; other sizes have input-dependent windows.
        return F.adaptive_output_size(self.output_size, (2, 2)) == (1, 1)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
