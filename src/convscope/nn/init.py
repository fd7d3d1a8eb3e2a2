"""Weight initialisation, in place, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills its argument (a Parameter, Tensor or NumPy array) in place and
returns it. Random draws come from :func:`convscope.random.generator`, so
``convscope.manual_seed`` makes them reproducible.

Why the scale matters (Goodfellow et al. §8.4): with ``fan_in`` inputs per unit, a
weight variance of ``gain² / fan_in`` keeps activations from growing or vanishing
layer after layer. ``kaiming_*`` uses it with the gain of the nonlinearity that
follows (√2 for ReLU); ``xavier_*`` averages fan-in and fan-out.

>>> import numpy as np
>>> import convscope
>>> w = np.empty((64, 32, 3, 3), dtype=np.float32)
>>> fan_in_and_fan_out(w)
(288, 576)
>>> convscope.manual_seed(0)
>>> bool(np.abs(kaiming_uniform_(w, a=5**0.5)).max() <= 1 / 288**0.5)
True
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from convscope.random import generator
from convscope.tensor import Tensor

T = TypeVar("T", Tensor, np.ndarray)

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")  # fmt: skip


def _array(tensor: Any, fn: str) -> np.ndarray:
    """The array to fill in place (a Tensor's ``.data`` or the array itself)."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        kind = array.dtype if isinstance(array, np.ndarray) else type(tensor).__name__
        raise TypeError(
            f"{fn} expected a floating-point Parameter, Tensor or NumPy array; received {kind}."
        )
    return array


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for weights followed by ``nonlinearity`` (PyTorch's table).

    Args:
        nonlinearity: ``"linear"``, ``"conv2d"``, ``"sigmoid"`` (1), ``"tanh"`` (5/3),
            ``"relu"`` (√2), ``"leaky_relu"`` (√(2/(1+slope²))) or ``"selu"`` (3/4).
        param: the negative slope for ``"leaky_relu"`` (default 0.01).

    Raises:
        ValueError: an unknown nonlinearity or a non-numeric slope.

    >>> round(calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(
                f"calculate_gain('leaky_relu') expected a numeric negative slope; "
                f"received param={param!r}."
            )
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain expected one of {', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu; "
        f"received nonlinearity={nonlinearity!r}."
    )


def fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: inputs and outputs feeding each unit.

    For a Linear weight ``(out, in)`` that is ``(in, out)``; for a Conv2d weight
    ``(out, in, kh, kw)`` each is multiplied by the kernel area ``kh·kw``.

    Raises:
        ValueError: fewer than 2 dimensions (a bias has no fan-in of its own).
    """
    shape = np.shape(tensor.data if isinstance(tensor, Tensor) else tensor)
    if len(shape) < 2:
        raise ValueError(
            f"fan_in_and_fan_out expected a weight with at least 2 dimensions; received "
            f"shape {tuple(shape)}."
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


# PyTorch's private name, for code ported from it.
_calculate_fan_in_and_fan_out = fan_in_and_fan_out


def _fan(tensor: Any, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode expected 'fan_in' or 'fan_out'; received mode={mode!r}.")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: T, a: float = 0.0, b: float = 1.0) -> T:
    """Fill with draws from U(a, b)."""
    array = _array(tensor, "uniform_")
    array[...] = generator().uniform(a, b, size=array.shape)
    return tensor


def normal_(tensor: T, mean: float = 0.0, std: float = 1.0) -> T:
    """Fill with draws from N(mean, std²)."""
    array = _array(tensor, "normal_")
    array[...] = generator().normal(mean, std, size=array.shape)
    return tensor


def constant_(tensor: T, val: float) -> T:
    """Fill with ``val``."""
    _array(tensor, "constant_")[...] = val
    return tensor


def zeros_(tensor: T) -> T:
    return constant_(tensor, 0.0)


def ones_(tensor: T) -> T:
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: T, gain: float = 1.0) -> T:
    """Glorot & Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    if _array(tensor, "xavier_uniform_").size == 0:
        return tensor
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: T, gain: float = 1.0) -> T:
    """Glorot & Bengio (2010): N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    if _array(tensor, "xavier_normal_").size == 0:
        return tensor
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(
    tensor: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> T:
    """He et al. (2015): U(−b, b) with b = gain·√(3 / fan), gain = calculate_gain(nonlinearity, a).

    Conv2d and Linear call it with ``a=√5``, which gives b = 1/√fan_in.
    """
    if _array(tensor, "kaiming_uniform_").size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> T:
    """He et al. (2015): N(0, std²) with std = gain / √fan."""
    if _array(tensor, "kaiming_normal_").size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)
