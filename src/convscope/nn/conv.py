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


def _check_groups(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    """ValueError unless ``groups`` divides both channel counts (Conv2d, ConvTranspose2d)."""
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(
                f"{layer} expected {name} to be divisible by groups; received "
                f"{name}={channels}, groups={groups}."
            )


def _weight_and_bias(
    module: Module,
    layer: str,
    weight_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None,
    dtype: Any,
) -> None:
    """Give ``module`` an uninitialised ``weight`` and a ``bias`` (``None`` when ``bias_shape`` is).

    Both take the checked ``dtype=`` (float32 when None; a TypeError naming ``layer``
    for a non-float one). Shared by the convolution-like layers (Conv2d,
    ConvTranspose2d, LocallyConnected2d, TiledConv2d); each then calls its own
    ``reset_parameters()``.
    """
    dtype = _float_dtype(dtype, layer)
    module.weight = Parameter(np.empty(weight_shape, dtype=dtype))
    if bias_shape is not None:
        module.bias = Parameter(np.empty(bias_shape, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def _pytorch_default_init(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default initialisation of a convolution (from ``convscope.random.generator()``).

    Weight: kaiming-uniform with a=√5, i.e. U(−1/√fan_in, 1/√fan_in); bias: the same
    bound. fan_in is the weight's dimension 1 times the kernel size, so for
    ConvTranspose2d it counts output channels, as in PyTorch.
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound)


def _image_batch(module: Any, x: Any, layer: str) -> Tensor:
    """``x`` as a Tensor of the module's dtype (:func:`_as_input`), checked to be a batch
    ``(N, module.in_channels, H, W)``: a ValueError otherwise, with a hint for one image.
    """
    x = _as_input(x, module.weight.dtype, layer)
    if x.ndim != 4 or x.shape[1] != module.in_channels:
        hint = " For a single image add a batch axis: x[None]." if x.ndim == 3 else ""
        raise ValueError(
            f"{layer}(in_channels={module.in_channels}) expected input of shape "
            f"(N, {module.in_channels}, H, W); received {x.shape}.{hint}"
        )
    return x


def _conv_extra_repr(module: Any, output_padding: tuple[int, int] = (0, 0)) -> str:
    """PyTorch's ``extra_repr`` text for Conv2d and ConvTranspose2d, defaults left out.

    Same text as PyTorch's, so printed models can be compared line by line;
    ``output_padding`` (ConvTranspose2d's) stands between dilation and groups, as there.
    """
    s = f"{module.in_channels}, {module.out_channels}, kernel_size={module.kernel_size}"
    s += f", stride={module.stride}"
    if module.padding != (0, 0):
        s += f", padding={module.padding}"
    if module.dilation != (1, 1):
        s += f", dilation={module.dilation}"
    if output_padding != (0, 0):
        s += f", output_padding={output_padding}"
    if module.groups != 1:
        s += f", groups={module.groups}"
    if module.bias is None:
        s += ", bias=False"
    return s


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
        _check_groups("Conv2d", in_channels, out_channels, self.groups)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        _weight_and_bias(self, "Conv2d", shape, (self.out_channels,) if bias else None, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (drawn from ``convscope.random.generator()``)."""
        _pytorch_default_init(self.weight, self.bias)

    def forward(self, x: Any) -> Tensor:
        x = _image_batch(self, x, "Conv2d")
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def window_geometry(self) -> WindowGeometry:
        return WindowGeometry(self.kernel_size, self.stride, self.dilation, self.padding)

    def mult_adds(self, output: Tensor) -> int:
        # Each output value (C_out·OH·OW per sample) is a dot product over C_in/groups·KH·KW.
        return output.size * (self.in_channels // self.groups) * math.prod(self.kernel_size)

    def extra_repr(self) -> str:
        return _conv_extra_repr(self)


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
        _check_groups(name, in_channels, out_channels, self.groups)
        for p, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if p >= max(s, d):
                raise ValueError(
                    f"{name} expected output_padding smaller than stride or dilation; received "
                    f"output_padding={output_padding!r}, stride={stride!r}, dilation={dilation!r}."
                )
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        _weight_and_bias(self, name, shape, (self.out_channels,) if bias else None, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (its fan_in is the weight's dimension 1)."""
        _pytorch_default_init(self.weight, self.bias)

    def forward(self, x: Any) -> Tensor:
        x = _image_batch(self, x, "ConvTranspose2d")
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
        return _conv_extra_repr(self, self.output_padding)
