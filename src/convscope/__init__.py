"""convscope: convolutional neural networks from scratch on NumPy.

>>> import convscope as cs
>>> x = cs.Tensor([[1.0, -2.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([[ 2., -4.]], dtype=float32)
"""

from convscope.random import generator, get_rng_state, manual_seed, set_rng_state
from convscope.tensor import (
    Tensor,
    as_tensor,
    cat,
    concatenate,
    enable_grad,
    is_grad_enabled,
    no_grad,
    ones,
    stack,
    tensor,
    zeros,
)

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "as_tensor",
    "cat",
    "concatenate",
    "enable_grad",
    "generator",
    "get_rng_state",
    "is_grad_enabled",
    "manual_seed",
    "no_grad",
    "ones",
    "set_rng_state",
    "stack",
    "tensor",
    "zeros",
]
