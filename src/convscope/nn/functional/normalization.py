"""Batch normalisation (Ioffe & Szegedy, 2015), per channel, forward and backward.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32))
>>> running_mean, running_var = np.zeros(2, np.float32), np.ones(2, np.float32)
>>> y = batch_norm(x, running_mean, running_var, training=True)
>>> y.numpy().round(4)          # each channel (column) to mean 0, variance 1
array([[-1., -1.],
       [ 1.,  1.]], dtype=float32)
>>> running_mean                # 0.9 * 0 + 0.1 * batch mean
array([0.2, 2. ], dtype=float32)
>>> running_var                 # 0.9 * 1 + 0.1 * unbiased batch variance (2 and 200)
array([ 1.1, 20.9], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from convscope.nn.functional.activation import _floating
from convscope.tensor import ArrayLike, Tensor


def _stat_array(value: np.ndarray | Tensor | None, name: str, channels: int) -> np.ndarray | None:
    """The ndarray behind a running statistic (updated in place), shape-checked."""
    if value is None:
        return None
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise TypeError(
            f"batch_norm expected {name} to be a floating-point NumPy array (updated in place) "
            f"or None; received {type(value).__name__}"
            + (f" of dtype {array.dtype}." if isinstance(array, np.ndarray) else ".")
        )
    if array.shape != (channels,):
        raise ValueError(
            f"batch_norm expected {name} of shape ({channels},) (one value per channel); "
            f"received {array.shape}."
        )
    return array


def batch_norm(
    input: ArrayLike,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel to zero mean and unit variance, then scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with one mean and variance
    per *channel* C, taken over the batch and every spatial position (not one per
    activation): a convolution applies the same filter everywhere, so its
    outputs share statistics.

    In training the batch's own statistics are used (the *biased* variance, divided
    by n), and ``running_mean`` / ``running_var`` are updated in place as PyTorch does:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, where the
    variance stored is the *unbiased* one (divided by n - 1). In evaluation the
    running statistics are used instead.

    Args:
        input: floating-point tensor with the channel on axis 1.
        running_mean: (C,) array updated in place in training; may be None in training.
        running_var: (C,) array updated in place in training; may be None in training.
        weight: (C,) scale γ, or None for 1.
        bias: (C,) shift β, or None for 0.
        training: use (and update with) batch statistics instead of running ones.
        momentum: weight of the new batch in the running-statistic update.
        eps: added to the variance for numerical stability.

    Shape:
        - input: (N, C), (N, C, L) or (N, C, H, W).
        - output: same as input. Statistics reduce over n = N·L or N·H·W values.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        ValueError: fewer than 2 dimensions, parameters not of shape (C,), a single
            value per channel in training, or missing running statistics in evaluation.
        TypeError: non-floating input, or weight/bias of another dtype.
    """
    x = _floating(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(
            "batch_norm expected input of shape (N, C), (N, C, L) or (N, C, H, W); "
            f"received {x.shape}."
        )
    a = x.data
    channels = a.shape[1]
    axes = (0,) + tuple(range(2, a.ndim))  # every axis but the channel
    n = a.size // channels if channels else 0
    per_channel = (1, channels) + (1,) * (a.ndim - 2)  # (1, C, 1, 1): broadcasts over N, H, W
    r_mean = _stat_array(running_mean, "running_mean", channels)
    r_var = _stat_array(running_var, "running_var", channels)

    params: dict[str, Tensor] = {}
    for name, value in (("weight", weight), ("bias", bias)):
        if value is None:
            continue
        t = _floating(value, "batch_norm", name)
        if t.shape != (channels,):
            raise ValueError(
                f"batch_norm expected {name} of shape ({channels},) (one value per channel); "
                f"received {t.shape}."
            )
        if t.dtype != a.dtype:
            raise TypeError(
                f"batch_norm expected {name} of dtype {a.dtype} (the input's); received {t.dtype}."
            )
        params[name] = t

    if training:
        if n <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training; received input of shape "
                f"{x.shape} ({n} value per channel). Use a batch size above 1, or call "
                "model.eval() to use the running statistics."
            )
        mean = a.mean(axis=axes)  # (C,)
        var = a.var(axis=axes)  # (C,) biased: normalisation divides by n
        if r_mean is not None:
            r_mean[...] = (1 - momentum) * r_mean + momentum * mean
        if r_var is not None:
            unbiased = var * (n / (n - 1))
            r_var[...] = (1 - momentum) * r_var + momentum * unbiased
    else:
        if r_mean is None or r_var is None:
            raise ValueError(
                "batch_norm in evaluation mode (training=False) needs running_mean and "
                "running_var; received None. Pass them, or use training=True."
            )
        mean = r_mean.astype(a.dtype, copy=False)
        var = r_var.astype(a.dtype, copy=False)

    inv_std = (1 / np.sqrt(var + a.dtype.type(eps))).astype(a.dtype).reshape(per_channel)
    x_hat = (a - mean.reshape(per_channel)) * inv_std  # (N, C, ...)
    out = x_hat
    if "weight" in params:
        out = out * params["weight"].data.reshape(per_channel)
    if "bias" in params:
        out = out + params["bias"].data.reshape(per_channel)
    if out is x_hat:
        out = x_hat.copy()  # never hand out the array the backward keeps

    parents = [x, *params.values()]

    def backward(g: np.ndarray) -> list[np.ndarray | None]:
        grads: list[np.ndarray | None] = []
        if x.requires_grad:
            dx_hat = g * params["weight"].data.reshape(per_channel) if "weight" in params else g
            if training:
                # Mean and variance depend on x too. With x̂ = (x - μ)/σ over n values:
                # dx = (1/σ) · (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂))
                mean_d = dx_hat.mean(axis=axes, keepdims=True)
                mean_dx = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
                grads.append(inv_std * (dx_hat - mean_d - x_hat * mean_dx))
            else:
                grads.append(dx_hat * inv_std)  # statistics are constants in evaluation
        else:
            grads.append(None)
        if "weight" in params:
            grads.append((g * x_hat).sum(axis=axes))  # dγ = Σ g · x̂
        if "bias" in params:
            grads.append(g.sum(axis=axes))  # dβ = Σ g
        return grads

    return Tensor.from_op(out, parents, backward, "batch_norm")
