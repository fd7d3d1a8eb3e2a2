"""Activation layers: each wraps one function of :mod:`convscope.nn.functional`.

They have no parameters; the input keeps its dtype, and NumPy arrays are accepted.
``inplace=`` is accepted for code written for PyTorch, but convscope never
overwrites its input, so it changes nothing.

>>> import numpy as np
>>> ReLU()(np.array([-1.0, 2.0], dtype=np.float32))
Tensor([0., 2.])
>>> LeakyReLU(0.1)
LeakyReLU(negative_slope=0.1)
"""

from __future__ import annotations

from typing import Any

from convscope.nn import functional as F
from convscope.nn.module import Module
from convscope.tensor import Tensor


def _inplace_suffix(inplace: bool, first: bool) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class ReLU(Module):
    """``max(0, x)`` elementwise. Shape: any; output has the input's shape."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)


class LeakyReLU(Module):
    """``x`` for x ≥ 0, ``negative_slope · x`` otherwise. Shape: any (output likewise)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace_suffix(self.inplace, False)


class ELU(Module):
    """``x`` for x > 0, ``alpha · (exp(x) − 1)`` otherwise. Shape: any (output likewise)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace_suffix(self.inplace, False)


class Tanh(Module):
    """``tanh(x)`` elementwise. Shape: any (output likewise)."""

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(−x))`` elementwise. Shape: any (output likewise)."""

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Softmax(Module):
    """Exponentiate and normalise along ``dim`` so each slice sums to 1.

    Args:
        dim: the axis holding the classes (1 for (N, classes) logits).

    For training use :class:`CrossEntropyLoss` on the raw logits instead: it fuses
    log-softmax and the loss stably.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably. Pair it with :class:`NLLLoss`.

    Args:
        dim: the axis holding the classes.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GELU(Module):
    """``x · Φ(x)``, Φ the standard normal CDF (``approximate='tanh'`` for the tanh form).

    Shape: any (output likewise).

    >>> GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"GELU expected approximate to be 'none' or 'tanh'; received "
                f"approximate={approximate!r}."
            )
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x · σ(x)`` ("swish") elementwise. Shape: any (output likewise)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.silu(x)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)
