"""convscope: convolutional neural networks from scratch on NumPy.

>>> import convscope as cs
>>> x = cs.Tensor([[1.0, -2.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([[ 2., -4.]], dtype=float32)
"""

from convscope import data, nn, optim, scratch
from convscope.finite_differences import GradcheckError, gradcheck
from convscope.nn import summary
from convscope.random import generator, get_rng_state, manual_seed, set_rng_state
from convscope.serialization import CheckpointError, load, save
from convscope.tensor import (
    Tensor,
    as_tensor,
    cat,
    concatenate,
    einsum,
    enable_grad,
    is_grad_enabled,
    no_grad,
    ones,
    stack,
    where,
    zeros,
)

__version__ = "0.1.0"

# Imported after the names above: they build on them.
from convscope import models, train  # noqa: E402  isort: skip

__all__ = [
    "CheckpointError",
    "GradcheckError",
    "Tensor",
    "as_tensor",
    "cat",
    "concatenate",
    "enable_grad",
    "data",
    "generator",
    "get_rng_state",
    "gradcheck",
    "load",
    "models",
    "nn",
    "optim",
    "save",
    "scratch",
    "summary",
    "train",
    "is_grad_enabled",
    "manual_seed",
    "no_grad",
    "ones",
    "set_rng_state",
    "stack",
    "zeros",
    "einsum",
    "where",
]
