"""Activation functions: elementwise nonlinearities and (log-)softmax.

Each function computes its output with NumPy and defines its backward beside it.
All are numerically stable: ``sigmoid`` never evaluates ``exp`` of a large positive
number, and ``softmax``/``log_softmax`` subtract the maximum before exponentiating
(the log-sum-exp trick), so logits of ±1e4 give exact, finite results.

>>> from convscope import Tensor
>>> relu(Tensor([-1.0, 0.5]))
Tensor([0. , 0.5])
>>> softmax(Tensor([[0.0, 0.0]]), dim=1)
Tensor([[0.5, 0.5]])
"""

from __future__ import annotations

import math

import numpy as np

from convscope import workspace
from convscope.tensor import ArrayLike, Tensor, as_tensor


def _floating(x: ArrayLike, fn: str, what: str = "input") -> Tensor:
    """``x`` as a Tensor, or TypeError if its dtype is not floating point."""
    t = as_tensor(x)
    if t.dtype.kind != "f":
        raise TypeError(
            f"{fn} expected a floating-point {what}; received dtype {t.dtype}. "
            "Convert it first, e.g. x.float()."
        )
    return t


def _check_dim(dim: int, ndim: int, fn: str) -> int:
    """Normalise ``dim`` to a non-negative axis (0-d tensors accept -1 and 0, as PyTorch)."""
    rank = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or not -rank <= dim < rank:
        raise ValueError(
            f"{fn} expected dim in [{-rank}, {rank - 1}] for a {ndim}-D input; "
            f"received dim={dim!r}."
        )
    return int(dim) % rank


def _along_dim(x: ArrayLike, dim: int, fn: str) -> tuple[Tensor, int, np.ndarray]:
    """The input of softmax and log_softmax: ``x`` checked, ``dim`` as an axis, the data.

    The data is ``x``'s array, or for a 0-d ``x`` one 1-element slice (shape (1,)).
    """
    x = _floating(x, fn)
    axis = _check_dim(dim, x.ndim, fn)
    return x, axis, x.data.reshape(1) if x.ndim == 0 else x.data


def _log_softmax_array(a: np.ndarray, axis: int) -> np.ndarray:
    """Stable ``log(softmax(a))`` along ``axis`` on a plain array.

    log softmax(a)_i = a_i - log Σ_j exp(a_j) = (a_i - m) - log Σ_j exp(a_j - m),
    with m = max_j a_j, so every exponent is <= 0 and nothing overflows.
    """
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _sigmoid_array(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))`` without overflow: ``exp`` only ever sees ``-|a| <= 0``."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


# --------------------------------------------------------------------------- elementwise


def relu(x: ArrayLike) -> Tensor:
    """Rectified linear unit, ``max(x, 0)`` elementwise.

    The gradient at exactly 0 is taken as 0 (as PyTorch).

    Args:
        x: a floating-point tensor of any shape.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> relu(Tensor([-2.0, 0.0, 3.0]))
    Tensor([0., 0., 3.])
    """
    x = _floating(x, "relu")
    out = np.maximum(x.data, 0, out=workspace.empty_like(x.data))  # stored like x

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        # d relu: 1 where x > 0, i.e. where the output is > 0 (also NaN -> 0). The mask is
        # taken from the output, which the next layer keeps anyway, not from x: x's memory
        # can go as soon as x's producer is done with it.
        positive = np.greater(out, 0, out=workspace.empty_like(out, bool))
        return (np.multiply(g, positive, out=workspace.empty_like(out, g.dtype)),)

    return Tensor.from_op(out, (x,), backward, "relu")


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Tensor:
    """``x`` where ``x > 0``, ``negative_slope * x`` elsewhere.

    Args:
        x: a floating-point tensor of any shape.
        negative_slope: slope of the negative part.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> leaky_relu(Tensor([-2.0, 3.0]), negative_slope=0.5)
    Tensor([-1.,  3.])
    """
    x = _floating(x, "leaky_relu")
    a = x.data
    slope = a.dtype.type(negative_slope)
    positive = a > 0
    out = np.where(positive, a, a * slope)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(positive, g, g * slope),)  # d leaky_relu: 1 or slope

    return Tensor.from_op(out, (x,), backward, "leaky_relu")


def elu(x: ArrayLike, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: ``x`` where ``x > 0``, ``alpha * (exp(x) - 1)`` elsewhere.

    Args:
        x: a floating-point tensor of any shape.
        alpha: the value the negative part saturates to is ``-alpha``.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> elu(Tensor([-1.0, 2.0]))
    Tensor([-0.63212055,  2.        ])
    """
    x = _floating(x, "elu")
    a = x.data
    alpha_ = a.dtype.type(alpha)
    positive = a > 0
    # exp only ever sees values <= 0, so it cannot overflow for large positive x.
    exp_neg = np.exp(np.minimum(a, 0))
    out = np.where(positive, a, alpha_ * np.expm1(np.minimum(a, 0)))

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(positive, g, g * alpha_ * exp_neg),)  # d elu: 1 or alpha·exp(x)

    return Tensor.from_op(out, (x,), backward, "elu")


def tanh(x: ArrayLike) -> Tensor:
    """Hyperbolic tangent ``(exp(x) - exp(-x)) / (exp(x) + exp(-x))``, elementwise.

    Args:
        x: a floating-point tensor of any shape.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> tanh(Tensor([0.0, 1e4]))
    Tensor([0., 1.])
    """
    x = _floating(x, "tanh")
    out = np.tanh(x.data)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g * (1 - out * out),)  # d tanh: 1 - tanh²

    return Tensor.from_op(out, (x,), backward, "tanh")


def sigmoid(x: ArrayLike) -> Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise, without overflow.

    For ``x >= 0`` it evaluates ``1 / (1 + e)`` and for ``x < 0`` ``e / (1 + e)``
    with ``e = exp(-|x|) <= 1``, so ``sigmoid(-1000)`` is 0 with no warning.

    Args:
        x: a floating-point tensor of any shape.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> sigmoid(Tensor([-1000.0, 0.0, 1000.0]))
    Tensor([0. , 0.5, 1. ])
    """
    x = _floating(x, "sigmoid")
    out = _sigmoid_array(x.data)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g * out * (1 - out),)  # d sigmoid: s (1 - s)

    return Tensor.from_op(out, (x,), backward, "sigmoid")


# --------------------------------------------------------------------------- softmax


def softmax(x: ArrayLike, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability vector.

    Computed as ``exp(x - max) / sum(exp(x - max))`` so large logits cannot overflow.

    Args:
        x: a floating-point tensor.
        dim: the axis that sums to 1, e.g. ``dim=1`` for (N, C) logits.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.
        ValueError: ``dim`` is out of range.

    >>> softmax(Tensor([[1e4, 0.0]]), dim=1)
    Tensor([[1., 0.]])
    """
    x, axis, a = _along_dim(x, dim, "softmax")
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    s = e / e.sum(axis=axis, keepdims=True)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        g = g.reshape(s.shape)
        # d softmax: s * (g - sum(g * s))   (the Jacobian is diag(s) - s sᵀ)
        return ((s * (g - (g * s).sum(axis=axis, keepdims=True))).reshape(x.shape),)

    return Tensor.from_op(s.reshape(x.shape), (x,), backward, "softmax")


def log_softmax(x: ArrayLike, dim: int) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably by log-sum-exp.

    ``x_i - max - log(sum(exp(x - max)))``: finite for any finite logits, where
    ``log(softmax(x))`` would give ``log(0) = -inf`` for a logit 1e4 below the rest.

    Args:
        x: a floating-point tensor.
        dim: the axis to normalise over.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.
        ValueError: ``dim`` is out of range.

    >>> log_softmax(Tensor([[1e4, 0.0]]), dim=1)
    Tensor([[     0., -10000.]])
    """
    x, axis, a = _along_dim(x, dim, "log_softmax")
    out = _log_softmax_array(a, axis)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        g = g.reshape(out.shape)
        # d log_softmax: g - softmax * sum(g)
        return ((g - np.exp(out) * g.sum(axis=axis, keepdims=True)).reshape(x.shape),)

    return Tensor.from_op(out.reshape(x.shape), (x,), backward, "log_softmax")


# --------------------------------------------------------------------------- smooth gates

_erf = np.frompyfunc(math.erf, 1, 1)  # exact to double precision; NumPy has no erf ufunc


def gelu(x: ArrayLike, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016), ``x · Φ(x)``, as PyTorch.

    ``Φ(x) = (1 + erf(x / √2)) / 2`` is the standard normal CDF. With
    ``approximate='tanh'`` it is replaced by ``(1 + tanh(√(2/π) (x + 0.044715 x³))) / 2``.

    Args:
        x: a floating-point tensor of any shape.
        approximate: ``'none'`` (exact, erf) or ``'tanh'``.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.
        ValueError: unknown ``approximate``.

    >>> gelu(Tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.15865526,  0.        ,  0.8413448 ])
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(
            "gelu expected approximate to be 'none' or 'tanh'; received "
            f"approximate={approximate!r}."
        )
    x = _floating(x, "gelu")
    a = x.data
    if approximate == "none":
        cdf = ((1 + _erf(a.astype(np.float64) / math.sqrt(2)).astype(np.float64)) / 2).astype(
            a.dtype
        )
        # d gelu: Φ(x) + x · φ(x), φ the standard normal density
        pdf = np.exp(-(a * a) / 2) / a.dtype.type(math.sqrt(2 * math.pi))
        slope = cdf + a * pdf
    else:
        k = a.dtype.type(math.sqrt(2 / math.pi))
        c = a.dtype.type(0.044715)
        th = np.tanh(k * (a + c * a**3))
        cdf = (1 + th) / 2
        # d gelu: cdf + x/2 · (1 − th²) · k (1 + 3c x²)
        slope = cdf + a / 2 * (1 - th * th) * k * (1 + 3 * c * a * a)
    out = a * cdf

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g * slope,)

    return Tensor.from_op(out, (x,), backward, "gelu")


def silu(x: ArrayLike) -> Tensor:
    """Sigmoid linear unit ("swish", Ramachandran et al., 2017), ``x · σ(x)``, as PyTorch.

    Args:
        x: a floating-point tensor of any shape.

    Shape:
        Output has the shape of ``x``.

    Raises:
        TypeError: ``x`` is not floating point.

    >>> silu(Tensor([-1.0, 0.0, 1.0]))
    Tensor([-0.2689414,  0.       ,  0.7310586])
    """
    x = _floating(x, "silu")
    a = x.data
    s = _sigmoid_array(a)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g * (s * (1 + a * (1 - s))),)  # d silu: σ + x σ (1 − σ)

    return Tensor.from_op(a * s, (x,), backward, "silu")
