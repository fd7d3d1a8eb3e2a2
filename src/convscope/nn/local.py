"""``LocallyConnected2d`` and ``TiledConv2d``: convolution's connectivity without (full) sharing.

Goodfellow et al. §9.5 place three layers on one axis of parameter sharing: a
locally connected layer (every location its own kernel), a tiled convolution
(``TH×TW`` kernels cycled in space) and a convolution (one kernel everywhere).
All three see the same ``KH×KW`` windows; only the number of distinct kernels
differs, and with it the parameter count:

>>> import numpy as np
>>> import convscope
>>> from convscope.nn import Conv2d
>>> convscope.manual_seed(0)
>>> local = LocallyConnected2d(1, 8, 5, input_size=(28, 28))
>>> tiled = TiledConv2d(1, 8, 5, tile_size=2)
>>> local.num_parameters(), tiled.num_parameters(), Conv2d(1, 8, 5).num_parameters()
(119808, 808, 208)
>>> local(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape
(2, 8, 24, 24)
"""

from __future__ import annotations

import math
from typing import Any

from convscope.nn import init
from convscope.nn._validation import _pair, _positive_int
from convscope.nn.conv import _conv_padding, _image_batch, _weight_and_bias
from convscope.nn.functional.local import local_output_size, locally_connected2d, tiled_conv2d
from convscope.nn.module import Module
from convscope.nn.parameter import Parameter
from convscope.tensor import Tensor


def _uniform_init(weight: Parameter, bias: Parameter | None, fan_in: int) -> None:
    """U(−1/√fan_in, 1/√fan_in) for weight and bias, as Conv2d's default."""
    bound = 1 / math.sqrt(fan_in)
    init.uniform_(weight, -bound, bound)
    if bias is not None:
        init.uniform_(bias, -bound, bound)


class LocallyConnected2d(Module):
    """Unshared convolution: each output location has its own ``KH×KW×C_in`` kernels.

    Args:
        in_channels: input channels.
        out_channels: output channels (kernels per location).
        kernel_size: window height and width.
        input_size: ``(H, W)`` of the inputs it will see: the number of locations,
            hence of kernels, depends on it.
        stride: step between windows.
        padding: int, pair, ``'valid'`` or ``'same'``.
        bias: learn one bias per output unit ``(C_out, H_out, W_out)``.
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (N, C_in, H, W) with ``(H, W) == input_size``
        - Output: (N, C_out, H_out, W_out), ``H_out = ⌊(H + 2·padding − kH) / stride⌋ + 1``

    Attributes:
        weight (Parameter): (H_out, W_out, C_out, C_in, kH, kW), U(−1/√fan_in, 1/√fan_in),
            fan_in = C_in·kH·kW.
        bias (Parameter | None): (C_out, H_out, W_out).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        input_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        bias: bool = True,
        dtype: Any = None,
    ):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "LocallyConnected2d", "in_channels")
        self.out_channels = _positive_int(out_channels, "LocallyConnected2d", "out_channels")
        self.kernel_size = _pair(kernel_size, "LocallyConnected2d", "kernel_size")
        self.input_size = _pair(input_size, "LocallyConnected2d", "input_size")
        self.stride = _pair(stride, "LocallyConnected2d", "stride")
        self.padding = _conv_padding(padding)
        self.output_size = local_output_size(
            self.input_size, self.kernel_size, self.stride, self.padding
        )
        shape = (*self.output_size, self.out_channels, self.in_channels, *self.kernel_size)
        bias_shape = (self.out_channels, *self.output_size)
        _weight_and_bias(self, "LocallyConnected2d", shape, bias_shape if bias else None, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Conv2d's default initialisation, per location."""
        _uniform_init(self.weight, self.bias, self.in_channels * math.prod(self.kernel_size))

    def forward(self, x: Any) -> Tensor:
        x = _image_batch(self, x, "LocallyConnected2d")
        if tuple(x.shape[2:]) != self.input_size:
            raise ValueError(
                f"LocallyConnected2d(input_size={self.input_size}) expected input of shape "
                f"(N, {self.in_channels}, {self.input_size[0]}, {self.input_size[1]}); received "
                f"{x.shape}. Unlike a convolution it has one kernel per location, so it only "
                "accepts the input size it was built for."
            )
        return locally_connected2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", input_size={self.input_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if self.bias is not None else ", bias=False")


class TiledConv2d(Module):
    """Tiled convolution: ``TH×TW`` sets of kernels, output ``(y, x)`` using set ``(y%TH, x%TW)``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding: as :class:`Conv2d`.
        tile_size: ``(TH, TW)`` (an int for a square tile); ``1`` is a convolution.
        bias: learn one bias per output channel, shared by all locations.
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (N, C_in, H, W), any size the kernel fits in.
        - Output: (N, C_out, H_out, W_out), as :class:`Conv2d`.

    Attributes:
        weight (Parameter): (TH, TW, C_out, C_in, kH, kW), U(−1/√fan_in, 1/√fan_in).
        bias (Parameter | None): (C_out,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        tile_size: int | tuple[int, int] = 2,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        bias: bool = True,
        dtype: Any = None,
    ):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "TiledConv2d", "in_channels")
        self.out_channels = _positive_int(out_channels, "TiledConv2d", "out_channels")
        self.kernel_size = _pair(kernel_size, "TiledConv2d", "kernel_size")
        self.tile_size = _pair(tile_size, "TiledConv2d", "tile_size")
        self.stride = _pair(stride, "TiledConv2d", "stride")
        self.padding = _conv_padding(padding)
        shape = (*self.tile_size, self.out_channels, self.in_channels, *self.kernel_size)
        _weight_and_bias(self, "TiledConv2d", shape, (self.out_channels,) if bias else None, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Conv2d's default initialisation, per kernel set."""
        _uniform_init(self.weight, self.bias, self.in_channels * math.prod(self.kernel_size))

    def forward(self, x: Any) -> Tensor:
        x = _image_batch(self, x, "TiledConv2d")
        return tiled_conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", tile_size={self.tile_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if self.bias is not None else ", bias=False")
