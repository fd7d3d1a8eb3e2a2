"""Size arithmetic shared by convolution, pooling and ``summary``.

A kernel of size ``k`` with dilation ``d`` spans ``d·(k − 1) + 1`` input pixels.
Sliding it with step ``s`` over an input of size ``n`` padded by ``p_before`` and
``p_after`` gives (Goodfellow et al., *Deep Learning*, §9.5)

    out = floor((n + p_before + p_after − d·(k − 1) − 1) / s) + 1

which, with the same padding ``p`` on both sides, is PyTorch's
``floor((n + 2p − d(k−1) − 1) / s) + 1``.

>>> conv_output_size(28, 3)                     # 28×28 image, 3×3 kernel, no padding
26
>>> conv_output_size(28, 3, stride=2, padding=1)
14
>>> resolve_padding("same", (5, 5), (3, 3), stride=2)   # (top, bottom, left, right)
(1, 1, 1, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from convscope.arguments import is_int as _is_int
from convscope.arguments import pair

__all__ = [
    "pair",
    "conv_output_size",
    "same_padding",
    "resolve_padding",
    "check_padding",
    "WindowGeometry",
]

IntPair = int | Sequence[int]
Padding = int | Sequence[int] | str


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions along one dimension.

    Args:
        size: input size ``n`` along this dimension.
        kernel_size: kernel size ``k``.
        stride: step ``s`` between windows.
        padding: ``p`` pixels on each side, or ``(p_before, p_after)``.
        dilation: spacing ``d`` between kernel taps.
        ceil_mode: round the division up instead of down, so a final partial
            window is kept. As in PyTorch, that last window must still start
            inside the input or the before-padding, else it is dropped.

    Returns:
        ``floor((n + p_before + p_after − d·(k − 1) − 1) / s) + 1`` (``ceil`` in ceil mode).

    Raises:
        ValueError: the kernel does not fit in the padded input.

    >>> conv_output_size(5, 3)                # 3 positions of a 3-wide window in 5 pixels
    3
    >>> conv_output_size(5, 3, dilation=2)    # a dilated 3-tap kernel spans 5 pixels
    1
    >>> conv_output_size(6, 2, stride=2)
    3
    >>> conv_output_size(5, 2, stride=2), conv_output_size(5, 2, stride=2, ceil_mode=True)
    (2, 3)
    """
    before, after = (padding, padding) if _is_int(padding) else padding
    span = dilation * (kernel_size - 1) + 1
    padded = size + before + after
    if span > padded:
        raise ValueError(
            f"Kernel of size {kernel_size} (dilation {dilation}, spanning {span} pixels) does not "
            f"fit in an input of size {size} padded to {padded}."
        )
    if not ceil_mode:
        return (padded - span) // stride + 1
    out = -(-(padded - span) // stride) + 1
    if (out - 1) * stride >= size + before:  # last window would start in the after-padding
        out -= 1
    return out


def same_padding(
    size: int, kernel_size: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """``(before, after)`` padding of TensorFlow/Keras/ONNX ``SAME_UPPER``.

    The output has ``ceil(n / s)`` positions. The total padding is whatever that
    needs, ``max((ceil(n/s) − 1)·s + d·(k − 1) + 1 − n, 0)``, split evenly with the
    odd pixel at the end (bottom/right). Unlike PyTorch's ``padding='same'`` this
    works for any stride.

    >>> same_padding(5, 3)              # stride 1: output 5, one pixel each side
    (1, 1)
    >>> same_padding(6, 3, stride=2)    # output 3 needs 1 extra pixel, put after
    (0, 1)
    >>> same_padding(5, 4)              # even kernel: the extra pixel goes after
    (1, 2)
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def check_padding(padding: Padding) -> tuple[int, int] | str:
    """Validate a ``padding`` argument: ``'valid'``/``'same'`` stay strings, ints become pairs.

    Layers call this at construction, the functional ops through :func:`resolve_padding`,
    so a bad padding gives the same error from ``nn.Conv2d`` and ``F.conv2d``.

    >>> check_padding(1), check_padding("same")
    ((1, 1), 'same')
    """
    if isinstance(padding, str):
        if padding in ("valid", "same"):
            return padding
        raise ValueError(
            "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
            f"'same'. Received padding={padding!r}."
        )
    return pair(padding, "padding", minimum=0)


def resolve_padding(
    padding: Padding,
    input_size: tuple[int, int],
    kernel_size: IntPair,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> tuple[int, int, int, int]:
    """Turn a ``padding`` argument into explicit ``(top, bottom, left, right)`` pixels.

    Args:
        padding: an int (every side), a pair ``(pad_h, pad_w)`` (top = bottom = pad_h,
            left = right = pad_w), ``'valid'`` (no padding) or ``'same'`` (see
            :func:`same_padding`: output ``ceil(n / stride)``, extra pixel bottom/right).
        input_size: ``(H, W)`` of the input.
        kernel_size, stride, dilation: ints or ``(height, width)`` pairs.

    Returns:
        ``(top, bottom, left, right)``.

    Raises:
        ValueError: unknown padding string, a negative padding, or a padding of another type.

    >>> resolve_padding(1, (28, 28), (3, 3))
    (1, 1, 1, 1)
    >>> resolve_padding((0, 2), (28, 28), (1, 5))
    (0, 0, 2, 2)
    >>> resolve_padding("same", (6, 7), 3, stride=2)
    (0, 1, 1, 1)
    >>> resolve_padding("full", (6, 7), (3, 3))
    Traceback (most recent call last):
        ...
    ValueError: Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or 'same'. Received padding='full'.
    """  # noqa: E501
    checked = check_padding(padding)
    if checked == "valid":
        return 0, 0, 0, 0
    if checked == "same":
        kernel_size = pair(kernel_size, "kernel_size")
        stride = pair(stride, "stride")
        dilation = pair(dilation, "dilation")
        top, bottom = same_padding(input_size[0], kernel_size[0], stride[0], dilation[0])
        left, right = same_padding(input_size[1], kernel_size[1], stride[1], dilation[1])
        return top, bottom, left, right
    pad_h, pad_w = checked
    return pad_h, pad_h, pad_w, pad_w


@dataclass(frozen=True)
class WindowGeometry:
    """How a sliding-window layer (convolution, pooling) maps input to output positions.

    A layer returns one from :meth:`Module.window_geometry`; ``summary`` reads it for the
    receptive field, the jump and the written-out size arithmetic. Ints become pairs.

    Attributes:
        kernel: ``(kh, kw)`` window size.
        stride: ``(sh, sw)`` step between windows.
        dilation: ``(dh, dw)`` spacing between taps.
        padding: ``(ph, pw)`` on each side, or ``'valid'`` / ``'same'``.
        ceil_mode: round the output size up (pooling).

    >>> WindowGeometry(3, stride=2, padding=1)
    WindowGeometry(kernel=(3, 3), stride=(2, 2), dilation=(1, 1), padding=(1, 1), ceil_mode=False)
    """

    kernel: IntPair
    stride: IntPair = 1
    dilation: IntPair = 1
    padding: Padding = 0
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", pair(self.kernel, "kernel_size"))
        object.__setattr__(self, "stride", pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", pair(self.dilation, "dilation"))
        object.__setattr__(self, "padding", check_padding(self.padding))
        object.__setattr__(self, "ceil_mode", bool(self.ceil_mode))

    def output_size(self, input_hw: tuple[int, int]) -> tuple[int, int]:
        """``(OH, OW)`` for an input of ``(H, W)``.

        >>> WindowGeometry(2, stride=2).output_size((28, 28))
        (14, 14)
        """
        top, bottom, left, right = resolve_padding(
            self.padding, input_hw, self.kernel, self.stride, self.dilation
        )
        k, s, d = self.kernel, self.stride, self.dilation
        return (
            conv_output_size(input_hw[0], k[0], s[0], (top, bottom), d[0], self.ceil_mode),
            conv_output_size(input_hw[1], k[1], s[1], (left, right), d[1], self.ceil_mode),
        )
