"""``Conv2d``: the convolutional layer (Goodfellow et al. §9.1–9.5), a thin wrapper of ``F.conv2d``.

>>> import numpy as np
>>> import convscope
>>> convscope.manual_seed(0)
>>> conv = Conv2d(1, 32, kernel_size=3)
>>> conv
Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))
>>> conv.weight.shape, conv.bias.shape
((32, 1, 3, 3), (32,))
>>> conv(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
(8, 32, 26, 26)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.nn import init
from convscope.nn._validation import _as_input, _float_dtype, _pair, _positive_int
from convscope.nn.functional.geometry import WindowGeometry, check_padding
from convscope.nn.module import Module
from convscope.nn.parameter import Parameter
from convscope.tensor import Tensor


def _conv_padding(padding: Any) -> tuple[int, int] | str:
    """``int | (int, int)`` -> pair; ``'valid'`` / ``'same'`` kept as strings (as PyTorch).

    The check is F.conv2d's own, so a bad padding gives one error from both.
    """
    return check_padding(padding)


class Conv2d(Module):
    """2-D convolution over a batch of images: each of ``out_channels`` filters slides
    over the input and takes a dot product with every patch it covers.

    Args:
        in_channels: channels of the input (1 for greyscale, 3 for RGB).
        out_channels: number of filters, i.e. channels of the output.
        kernel_size: filter height and width (an int for a square filter).
        stride: step between neighbouring windows.
        padding: zeros added on each side: an int, a pair, ``'valid'`` (none) or
            ``'same'`` (output ``⌈H / stride⌉``, the odd pixel bottom/right, as Keras;
            PyTorch accepts ``'same'`` only with stride 1, where the two agree).
        dilation: spacing between the filter's taps (a "dilated" filter).
        groups: split the channels into this many independent groups.
        bias: learn one additive bias per output channel.
        dtype: parameter dtype (default float32). Input of another float dtype is cast.

    Shape:
        - Input: (N, C_in, H, W)
        - Output: (N, C_out, H_out, W_out) with
          ``H_out = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``
          (the same for W).

    Attributes:
        weight (Parameter): (C_out, C_in / groups, kH, kW), initialised
            U(−1/√fan_in, 1/√fan_in) (PyTorch's kaiming-uniform with a=√5),
            fan_in = C_in / groups · kH · kW.
        bias (Parameter | None): (C_out,), U(−1/√fan_in, 1/√fan_in).

    Raises:
        ValueError: invalid arguments, or input of the wrong shape in ``forward``.
        TypeError: a non-float ``dtype``, or integer input.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        dtype: Any = None,
    ):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "Conv2d", "in_channels")
        self.out_channels = _positive_int(out_channels, "Conv2d", "out_channels")
        self.kernel_size = _pair(kernel_size, "Conv2d", "kernel_size")
        self.stride = _pair(stride, "Conv2d", "stride")
        self.padding = _conv_padding(padding)
        self.dilation = _pair(dilation, "Conv2d", "dilation")
        self.groups = _positive_int(groups, "Conv2d", "groups")
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % self.groups:
                raise ValueError(
                    f"Conv2d expected {name} to be divisible by groups; received "
                    f"{name}={channels}, groups={groups}."
                )
        dtype = _float_dtype(dtype, "Conv2d")
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (drawn from ``convscope.random.generator()``)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, self.weight.dtype, "Conv2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            hint = " For a single image add a batch axis: x[None]." if x.ndim == 3 else ""
            raise ValueError(
                f"Conv2d(in_channels={self.in_channels}) expected input of shape "
                f"(N, {self.in_channels}, H, W); received {x.shape}.{hint}"
            )
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def window_geometry(self) -> WindowGeometry:
        return WindowGeometry(self.kernel_size, self.stride, self.dilation, self.padding)

    def mult_adds(self, output: Tensor) -> int:
        # Each output value (C_out·OH·OW per sample) is a dot product over C_in/groups·KH·KW.
        return output.size * (self.in_channels // self.groups) * math.prod(self.kernel_size)

    def extra_repr(self) -> str:
        # Same text as PyTorch's, so printed models can be compared line by line.
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(Module):
    """Transposed 2-D convolution: the adjoint of :class:`Conv2d`, a learned upsampling.

    Each input pixel writes a ``kernel_size`` window of the output, scaled by the
    filters; windows ``stride`` pixels apart overlap and add. With the same
    ``kernel_size``, ``stride`` and ``padding``, it maps a Conv2d's output size back
    to its input size (``output_padding`` picks among the sizes a strided Conv2d
    rounds together).

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: filter height and width.
        stride: spacing of the written windows in the output.
        padding: rows/columns cropped from each side of the output (the padding of
            the Conv2d being transposed).
        output_padding: extra rows/columns at the bottom/right; smaller than stride
            or dilation.
        groups: independent groups of channels.
        bias: learn one additive bias per output channel.
        dilation: spacing between the filter's taps.
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (N, C_in, H, W)
        - Output: (N, C_out, H_out, W_out) with
          ``H_out = (H − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.

    Attributes:
        weight (Parameter): (C_in, C_out / groups, kH, kW) — PyTorch's layout, input
            channels first; initialised as PyTorch, fan_in = C_out / groups · kH · kW.
        bias (Parameter | None): (C_out,).

    Raises:
        ValueError: invalid arguments, or input of the wrong shape in ``forward``.

    >>> import numpy as np
    >>> up = ConvTranspose2d(16, 8, 4, stride=2, padding=1)
    >>> up
    ConvTranspose2d(16, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> up(np.zeros((1, 16, 7, 7), dtype=np.float32)).shape
    (1, 8, 14, 14)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        dtype: Any = None,
    ):
        super().__init__()
        name = "ConvTranspose2d"
        self.in_channels = _positive_int(in_channels, name, "in_channels")
        self.out_channels = _positive_int(out_channels, name, "out_channels")
        self.kernel_size = _pair(kernel_size, name, "kernel_size")
        self.stride = _pair(stride, name, "stride")
        self.padding = _pair(padding, name, "padding", minimum=0)
        self.output_padding = _pair(output_padding, name, "output_padding", minimum=0)
        self.dilation = _pair(dilation, name, "dilation")
        self.groups = _positive_int(groups, name, "groups")
        for arg, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % self.groups:
                raise ValueError(
                    f"{name} expected {arg} to be divisible by groups; received "
                    f"{arg}={channels}, groups={groups}."
                )
        for p, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if p >= max(s, d):
                raise ValueError(
                    f"{name} expected output_padding smaller than stride or dilation; received "
                    f"output_padding={output_padding!r}, stride={stride!r}, dilation={dilation!r}."
                )
        dtype = _float_dtype(dtype, name)
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (its fan_in is the weight's dimension 1)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, self.weight.dtype, "ConvTranspose2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            hint = " For a single image add a batch axis: x[None]." if x.ndim == 3 else ""
            raise ValueError(
                f"ConvTranspose2d(in_channels={self.in_channels}) expected input of shape "
                f"(N, {self.in_channels}, H, W); received {x.shape}.{hint}"
            )
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
            self.groups, self.dilation,
        )  # fmt: skip

    def mult_adds(self, output: Tensor) -> int:
        # Each input pixel writes C_out/groups · KH·KW products; the input size follows
        # from the output size by inverting H_out = (H − 1)·s − 2p + d·(k − 1) + op + 1.
        n, _, out_h, out_w = output.shape
        h, w = (
            (size + 2 * p - d * (k - 1) - op - 1) // s + 1
            for size, p, d, k, op, s in zip(
                (out_h, out_w), self.padding, self.dilation, self.kernel_size,
                self.output_padding, self.stride, strict=True,
            )
        )  # fmt: skip
        per_pixel = (self.out_channels // self.groups) * math.prod(self.kernel_size)
        return n * self.in_channels * h * w * per_pixel

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
