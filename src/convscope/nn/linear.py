"""``Linear``: the fully connected layer ``y = x Wᵀ + b``, a thin wrapper of ``F.linear``.

>>> import numpy as np
>>> fc = Linear(1600, 10)
>>> fc
Linear(in_features=1600, out_features=10, bias=True)
>>> fc(np.zeros((8, 1600), dtype=np.float32)).shape
(8, 10)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.nn import init
from convscope.nn._validation import _as_input, _float_dtype, _positive_int
from convscope.nn.module import Module
from convscope.nn.parameter import Parameter
from convscope.tensor import Tensor


class Linear(Module):
    """Every output unit is a weighted sum of every input feature, plus a bias.

    Args:
        in_features: size of each input sample (the last axis).
        out_features: size of each output sample.
        bias: learn an additive bias.
        dtype: parameter dtype (default float32). Input of another float dtype is cast.

    Shape:
        - Input: (*, in_features), any number of leading axes.
        - Output: (*, out_features).

    Attributes:
        weight (Parameter): (out_features, in_features), PyTorch's layout, initialised
            U(−1/√in_features, 1/√in_features) (kaiming-uniform with a=√5).
        bias (Parameter | None): (out_features,), U(−1/√in_features, 1/√in_features).

    Raises:
        ValueError: a non-positive size, or input whose last axis is not ``in_features``.
        TypeError: a non-float ``dtype``, or integer input.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None):
        super().__init__()
        self.in_features = _positive_int(in_features, "Linear", "in_features")
        self.out_features = _positive_int(out_features, "Linear", "out_features")
        dtype = _float_dtype(dtype, "Linear")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (drawn from ``convscope.random.generator()``)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, self.weight.dtype, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            hint = ""
            if x.ndim > 2:
                hint = " Add Flatten() before it to turn feature maps into vectors."
            elif x.ndim == 2:
                hint = (
                    f" The layer before produces {x.shape[-1]} features: use "
                    f"Linear({x.shape[-1]}, {self.out_features})."
                )
            raise ValueError(
                f"Linear(in_features={self.in_features}) expected input of shape "
                f"(*, {self.in_features}); received {x.shape}.{hint}"
            )
        return F.linear(x, self.weight, self.bias)

    def mult_adds(self, output: Tensor) -> int:
        return output.size * self.in_features  # one dot product of in_features per output

    def receptive_field_is_global(self) -> bool:
        return True

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
