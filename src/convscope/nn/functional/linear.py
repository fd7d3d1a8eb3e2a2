"""Fully connected layer, dropout and flatten.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.ones((2, 3), dtype=np.float32))
>>> linear(x, Tensor(np.ones((4, 3), dtype=np.float32))).shape
(2, 4)
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from convscope import blas, workspace
from convscope.nn.functional.activation import _floating
from convscope.random import generator
from convscope.tensor import ArrayLike, Tensor, as_tensor
from convscope.thread_setting import ThreadSetting

_draws = ThreadSetting(None)  # this thread's own generator for dropout, if set


def thread_generator(rng: np.random.Generator) -> contextlib.AbstractContextManager[None]:
    """Within this block, :func:`dropout` in *this thread* draws from ``rng``.

    Data-parallel training runs micro-batches on worker threads; giving each its
    own generator, seeded from :func:`convscope.random.generator` by the calling
    thread, keeps seeded runs reproducible whatever the threads' timing.
    """
    return _draws.set(rng)


def dropout_generator() -> np.random.Generator:
    return _draws.get() or generator()


def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> Tensor:
    """Affine map ``y = x Wᵀ + b`` applied to the last dimension of ``input``.

    Args:
        input: floating-point tensor whose last dimension has ``in_features`` entries.
        weight: (out_features, in_features), the PyTorch layout.
        bias: (out_features,) or None.

    Shape:
        - input: (N, *, in_features), any number of leading dimensions (also none).
        - output: (N, *, out_features).

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: a non-floating input, or input and weight of different dtypes.
        ValueError: the shapes do not fit together.

    >>> w = Tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 0.0]])   # 2 in, 3 out
    >>> linear(Tensor([[1.0, 1.0]]), w, Tensor([0.0, 0.0, 10.0]))
    Tensor([[ 3.,  1., 11.]])
    """
    x = _floating(input, "linear")
    w = _floating(weight, "linear", "weight")
    if w.ndim != 2:
        raise ValueError(
            f"linear expected weight of shape (out_features, in_features); received {w.shape}."
        )
    out_features, in_features = w.shape
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"linear expected input with last dimension {in_features} (weight has shape "
            f"{w.shape}); received input of shape {x.shape}."
        )
    if w.dtype != x.dtype:
        raise TypeError(
            f"linear expected input and weight of the same dtype; received input {x.dtype} and "
            f"weight {w.dtype}. Convert the input, e.g. x.float() for float32 layers."
        )
    parents = [x, w]
    if bias is not None:
        b = _floating(bias, "linear", "bias")
        if b.shape != (out_features,):
            raise ValueError(
                f"linear expected bias of shape ({out_features},); received {b.shape}."
            )
        if b.dtype != x.dtype:
            raise TypeError(
                f"linear expected bias of dtype {x.dtype} (the input's); received {b.dtype}."
            )
        parents.append(b)

    a, wd = x.data, w.data
    out = blas.matmul(a, wd.T)  # (N, *, out)
    if bias is not None:
        out += parents[2].data

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        g2 = g.reshape(-1, out_features)  # (rows, out): all leading dims as rows
        grads: list[np.ndarray | None] = [
            blas.matmul(g, wd, out=workspace.empty(a.shape, g.dtype)) if x.requires_grad else None,
            blas.matmul(g2.T, a.reshape(-1, in_features)) if w.requires_grad else None,  # gᵀ x
        ]
        if bias is not None:
            grads.append(g2.sum(axis=0) if parents[2].requires_grad else None)  # db = Σ_rows g
        return tuple(grads)

    return Tensor.from_op(out, parents, backward, "linear")


def dropout(input: ArrayLike, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    This is *inverted* dropout: the scaling happens during training, so the
    expected value of every element is unchanged and evaluation needs no
    correction (with ``training=False`` the input is returned as it is). The mask
    is drawn from :func:`convscope.random.generator` in the input's dtype, and the
    same mask scales the gradient on the way back.

    Args:
        input: a floating-point tensor of any shape.
        p: probability of an element being zeroed, in [0, 1]. ``p=1`` gives zeros.
        training: apply dropout (True) or return ``input`` unchanged (False).

    Shape:
        Output has the shape of ``input``.

    Raises:
        ValueError: ``p`` outside [0, 1].
        TypeError: ``input`` is not floating point.

    >>> import convscope
    >>> convscope.manual_seed(0)
    >>> y = dropout(Tensor(np.ones(8, dtype=np.float32)), p=0.5)
    >>> sorted(set(y.numpy().tolist()))   # every element is 0 or 1 / (1 - p)
    [0.0, 2.0]
    """
    if (
        isinstance(p, bool)
        or not isinstance(p, (int, float, np.floating, np.integer))
        or not (0.0 <= p <= 1.0)
    ):
        raise ValueError(f"dropout expected a probability p in [0, 1]; received p={p!r}.")
    x = _floating(input, "dropout")
    if not training or p == 0:
        return x
    a = x.data
    draw_dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float32
    draws = dropout_generator().random(dtype=draw_dtype, out=workspace.empty(a.shape, draw_dtype))
    keep = np.greater_equal(draws, p, out=workspace.empty(a.shape, bool))  # P(keep) = 1 - p
    scale = a.dtype.type(0.0 if p == 1 else 1.0 / (1.0 - p))
    mask = np.multiply(keep, scale, out=draws if draws.dtype == a.dtype else None)  # 0 or 1/(1-p)
    out = np.multiply(a, mask, out=workspace.empty_like(a))

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (np.multiply(g, mask, out=workspace.empty_like(mask)),)  # the forward mask

    return Tensor.from_op(out, (x,), backward, "dropout")


def flatten(input: ArrayLike, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` .. ``end_dim`` (inclusive) into one.

    The default keeps the batch dimension: (N, C, H, W) -> (N, C·H·W), what a
    convolutional network does before its first ``linear`` layer.

    Args:
        input: a tensor.
        start_dim: first dimension to merge.
        end_dim: last dimension to merge.

    Shape:
        (d0, ..., d_start, ..., d_end, ...) -> (d0, ..., d_start · ... · d_end, ...).

    Raises:
        ValueError: a dimension out of range, or ``start_dim`` after ``end_dim``.

    >>> flatten(Tensor(np.zeros((2, 3, 4, 5), dtype=np.float32))).shape
    (2, 60)
    """
    x = as_tensor(input)
    rank = max(x.ndim, 1)
    for name, d in (("start_dim", start_dim), ("end_dim", end_dim)):
        if not -rank <= d < rank:
            raise ValueError(
                f"flatten expected {name} in [{-rank}, {rank - 1}] for a {x.ndim}-D input of "
                f"shape {x.shape}; received {name}={d}."
            )
    start, end = start_dim % rank, end_dim % rank
    if start > end:
        raise ValueError(
            f"flatten expected start_dim <= end_dim; received start_dim={start_dim} "
            f"(dimension {start}) and end_dim={end_dim} (dimension {end})."
        )
    if x.ndim == 0:
        return x.reshape(1)
    merged = math.prod(x.shape[start : end + 1])
    shape = x.shape[:start] + (merged,) + x.shape[end + 1 :]  # merged dims -> one
    a = x.data
    if a.flags.c_contiguous:
        return x.reshape(shape)  # a view both ways
    # A channels-last feature map: copy it into row-major order (the order PyTorch's
    # flatten gives), and hand the gradient back in the map's own layout, so the op
    # before (pooling, ReLU, a convolution) reads it in its memory order.
    out = workspace.empty(a.shape, a.dtype)
    np.copyto(out, a)

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        grad = workspace.empty_like(a, g.dtype)  # stored like the input
        np.copyto(grad, g.reshape(a.shape))  # (N, C, H, W) from (N, C·H·W)
        return (grad,)

    return Tensor.from_op(out.reshape(shape), (x,), backward, "flatten")
