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

from collections.abc import Callable

import numpy as np

from convscope.nn.functional.activation import _floating
from convscope.nn.functional.batch_group import BatchGroupMember
from convscope.nn.functional.channels import ChannelMatrix
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
    group: BatchGroupMember | None = None,
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
        group: in training, this thread's member of a
            :class:`~convscope.nn.functional.batch_group.BatchGroup` when ``input`` is
            only its part of the batch: statistics (and their gradients) are then those
            of the whole batch, as in PyTorch's ``SyncBatchNorm``; only rank 0 updates
            the running statistics. None: ``input`` is the whole batch.

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
    n = a.size // channels if channels else 0  # values per channel: N·H·W
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

    if not training and (r_mean is None or r_var is None):
        raise ValueError(
            "batch_norm in evaluation mode (training=False) needs running_mean and "
            "running_var; received None. Pass them, or use training=True."
        )
    # All per-channel work runs on the matrix the memory already is (channels-last
    # conv outputs stay channels-last); sums accumulate in float64. What is kept for
    # the backward is `centred` = x - c with one constant c per channel, and
    # x̂ = centred · inv_std + shift: one array, and no pass to form x̂ itself.
    layout = ChannelMatrix(a)
    # Per-channel sums are totals over the whole batch: this array's, or with a group
    # the sum of every member's (one all-reduce per pair of statistics).
    total = (lambda partial: partial) if group is None or not training else group.all_reduce
    if training:
        # Shifted data: centre on a first estimate c of the mean, then the centred
        # values' own sums give the exact offset d = mean - c and the variance
        # without the cancellation of E[x²] - mean² (inputs of mean 50 stay exact).
        first = total(np.append(layout.sums(layout.matrix), n))  # (C + 1,): Σx, count
        n = int(first[-1])
        if n <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training; received input of "
                f"shape {x.shape} ({n} value per channel). Use a batch size above 1, or call "
                "model.eval() to use the running statistics."
            )
        c = (first[:-1] / n).astype(a.dtype)  # (C,)
        centred = layout.affine(layout.matrix, None, -c)  # (rows, cols): x - c
        squares = np.multiply(centred, centred, out=layout.empty())
        second = total(np.concatenate([layout.sums(centred), layout.sums(squares)]))  # (2C,)
        del squares
        d = second[:channels] / n  # (C,) float64: mean - c
        var = np.maximum(second[channels:] / n - d**2, 0)  # biased, (C,) float64
        inv_std = 1 / np.sqrt(var + eps)  # (C,) float64
        shift = -d * inv_std
        if group is not None and not group.updates_running_statistics:
            r_mean = r_var = None  # shared with rank 0, which updates them
        if r_mean is not None:
            r_mean[...] = (1 - momentum) * r_mean + momentum * (c + d)
        if r_var is not None:
            unbiased = var * (n / (n - 1))
            r_var[...] = (1 - momentum) * r_var + momentum * unbiased
    else:
        centred = layout.affine(layout.matrix, None, -r_mean.astype(a.dtype))
        inv_std = 1 / np.sqrt(r_var.astype(np.float64) + eps)
        shift = np.zeros_like(inv_std)
    gamma = params["weight"].data.astype(np.float64) if "weight" in params else 1.0
    beta = params["bias"].data.astype(np.float64) if "bias" in params else 0.0
    # y = γ x̂ + β = centred · (γ inv_std) + (γ shift + β)
    out = layout.array(layout.affine(centred, gamma * inv_std, gamma * shift + beta))
    layout.matrix = None  # the input (or its copy) is not needed by the backward

    parents = [x, *params.values()]

    def backward(g: np.ndarray) -> list[np.ndarray | None]:
        g_mat = layout.like(g)  # (rows, cols), the layout of `centred`
        grads: list[np.ndarray | None] = []
        if not (training or params):  # evaluation, no γ/β: dx = g / σ needs no sums
            grads.append(layout.array(layout.affine(g_mat, inv_std, None)))
            return grads
        products = np.multiply(g_mat, centred, out=layout.empty())
        local = np.concatenate([layout.sums(g_mat), layout.sums(products)])  # (2C,)
        del products

        def g_and_g_xhat(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(Σ g, Σ g · x̂) from (Σ g, Σ g · centred), using x̂ = centred · inv_std + shift."""
            return sums[:channels], inv_std * sums[channels:] + shift * sums[:channels]

        # This array's sums are β's and γ's gradients (a group's members' parameter
        # gradients add up afterwards); the input's gradient needs the whole batch's.
        sum_g, sum_g_xhat = g_and_g_xhat(local)
        whole = training and x.requires_grad and group is not None
        all_g, all_g_xhat = g_and_g_xhat(total(local)) if whole else (sum_g, sum_g_xhat)
        if x.requires_grad:
            scale = gamma * inv_std  # (C,): γ / σ
            if training:
                # Mean and variance depend on x too. With x̂ = (x - μ)/σ over n values:
                # dx = γ/σ · (g - mean(g) - x̂ · mean(g · x̂)), per channel; x̂ in `centred`
                slope = -scale * all_g_xhat / n  # coefficient of x̂
                dx = layout.affine(g_mat, scale, slope * shift - scale * all_g / n)
                layout.add_scaled(dx, centred, slope * inv_std)
            else:
                dx = layout.affine(g_mat, scale, None)  # statistics are constants
            grads.append(layout.array(dx))
        else:
            grads.append(None)
        if "weight" in params:
            grads.append(sum_g_xhat.astype(a.dtype))  # dγ = Σ g · x̂
        if "bias" in params:
            grads.append(sum_g.astype(a.dtype))  # dβ = Σ g
        return grads

    # The backward reads its own copies; γ is checked for in-place changes, as PyTorch does.
    saves = [False, False] + [name == "weight" for name in params]
    return Tensor.from_op(out, parents, backward, "batch_norm", saves=saves)


# --------------------------------------------------------------------------- per-sample norms


def _standardize(a: np.ndarray, axes: tuple[int, ...], eps: float):
    """``(x̂, 1/σ)`` with ``x̂ = (a − mean) / sqrt(var + eps)`` over ``axes`` (biased var)."""
    mean = a.mean(axis=axes, keepdims=True)
    inv_std = (1 / np.sqrt(a.var(axis=axes, keepdims=True) + a.dtype.type(eps))).astype(a.dtype)
    return (a - mean) * inv_std, inv_std


def _standardize_backward(
    dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...]
) -> np.ndarray:
    """Gradient through :func:`_standardize`, whose mean and variance depend on the input.

    dx = (1/σ) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), means over ``axes``.
    """
    mean_d = dx_hat.mean(axis=axes, keepdims=True)
    mean_dx = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (dx_hat - mean_d - x_hat * mean_dx)


def _affine(
    x: Tensor,
    x_hat: np.ndarray,
    input_grad: Callable[[np.ndarray], np.ndarray],
    params: dict[str, Tensor],
    shape: tuple[int, ...],
    op: str,
) -> Tensor:
    """``x̂ · weight + bias`` (parameters reshaped to ``shape``) as one op with its backward.

    ``input_grad(dx̂)`` maps the gradient of ``x̂`` to the gradient of ``x``.
    """
    w = params["weight"].data.reshape(shape) if "weight" in params else None
    out = x_hat if w is None else x_hat * w
    if "bias" in params:
        out = out + params["bias"].data.reshape(shape)
    if out is x_hat:
        out = x_hat.copy()  # never hand out the array the backward keeps
    # Axes the parameters are broadcast over: their gradients sum over these.
    param_axes = tuple(i for i, size in enumerate(shape) if size == 1)

    def backward(g: np.ndarray) -> list[np.ndarray | None]:
        grads: list[np.ndarray | None] = [None]
        if x.requires_grad:
            grads[0] = input_grad(g if w is None else g * w)
        if "weight" in params:
            grads.append((g * x_hat).sum(axis=param_axes).reshape(params["weight"].shape))
        if "bias" in params:
            grads.append(g.sum(axis=param_axes).reshape(params["bias"].shape))
        return grads

    return Tensor.from_op(out, [x, *params.values()], backward, op)


def _norm_params(
    weight: ArrayLike | None, bias: ArrayLike | None, shape: tuple[int, ...], dtype, op: str
) -> dict[str, Tensor]:
    params: dict[str, Tensor] = {}
    for name, value in (("weight", weight), ("bias", bias)):
        if value is None:
            continue
        t = _floating(value, op, name)
        if t.shape != shape:
            raise ValueError(f"{op} expected {name} of shape {shape}; received {t.shape}.")
        if t.dtype != dtype:
            raise TypeError(
                f"{op} expected {name} of dtype {dtype} (the input's); received {t.dtype}."
            )
        params[name] = t
    return params


def group_norm(
    input: ArrayLike,
    num_groups: int,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation (Wu & He, 2018), as ``torch.nn.functional.group_norm``.

    The channels of each sample split into ``num_groups`` groups; each group is
    normalised by its own mean and (biased) variance over its channels and every
    spatial position, then each channel is scaled and shifted. It does not depend
    on the batch, so training and evaluation agree. ``num_groups=1`` normalises
    over all of ``(C, H, W)``; ``num_groups=C`` is instance normalisation.

    Args:
        input: floating-point tensor with the channel on axis 1.
        num_groups: number of groups; must divide C.
        weight: (C,) scale γ, or None for 1.
        bias: (C,) shift β, or None for 0.
        eps: added to the variance.

    Shape:
        - input: (N, C, *) with at least 2 dimensions; output: the same.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input, or parameters of another dtype.
        ValueError: fewer than 2 dimensions, C not divisible by ``num_groups``, or
            parameters not of shape (C,).

    >>> import numpy as np
    >>> x = Tensor(np.array([[1.0, 3.0, 10.0, 30.0]], dtype=np.float32))
    >>> group_norm(x, 2).numpy().round(4)       # groups (1, 3) and (10, 30)
    array([[-1.,  1., -1.,  1.]], dtype=float32)
    """
    op = "group_norm"
    x = _floating(input, op)
    if x.ndim < 2:
        raise ValueError(f"{op} expected input of shape (N, C, *); received {x.shape}.")
    n, channels = x.shape[:2]
    if (
        not isinstance(num_groups, (int, np.integer))
        or isinstance(num_groups, bool)
        or num_groups < 1
        or channels % num_groups
    ):
        raise ValueError(
            f"{op} expected num_groups to be a positive integer dividing the {channels} "
            f"channels; received num_groups={num_groups!r}."
        )
    params = _norm_params(weight, bias, (channels,), x.dtype, op)
    grouped = x.data.reshape(n, num_groups, -1)  # (N, G, C/G · spatial)
    x_hat, inv_std = _standardize(grouped, (2,), eps)

    def input_grad(dx_hat: np.ndarray) -> np.ndarray:
        dx_hat = dx_hat.reshape(grouped.shape)  # (N, G, C/G · spatial)
        return _standardize_backward(dx_hat, x_hat, inv_std, (2,)).reshape(x.shape)

    per_channel = (1, channels) + (1,) * (x.ndim - 2)  # (1, C, 1, 1)
    return _affine(x, x_hat.reshape(x.shape), input_grad, params, per_channel, op)


def layer_norm(
    input: ArrayLike,
    normalized_shape: int | tuple[int, ...],
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation (Ba et al., 2016), as ``torch.nn.functional.layer_norm``.

    Each sample is normalised over its last ``len(normalized_shape)`` axes, with the
    biased variance, then scaled and shifted elementwise by ``weight`` and ``bias``
    of shape ``normalized_shape``.

    Args:
        input: floating-point tensor whose trailing axes equal ``normalized_shape``.
        normalized_shape: an int (the last axis) or a tuple of trailing sizes.
        weight: scale γ of shape ``normalized_shape``, or None for 1.
        bias: shift β of shape ``normalized_shape``, or None for 0.
        eps: added to the variance.

    Shape:
        - input: (*, *normalized_shape); output: the same.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input, or parameters of another dtype.
        ValueError: trailing axes that differ from ``normalized_shape``, or
            parameters of another shape.

    >>> import numpy as np
    >>> layer_norm(Tensor(np.array([[1.0, 3.0]], dtype=np.float32)), 2).numpy().round(4)
    array([[-1.,  1.]], dtype=float32)
    """
    op = "layer_norm"
    x = _floating(input, op)
    shape = (int(normalized_shape),) if np.ndim(normalized_shape) == 0 else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k :] != shape:
        raise ValueError(
            f"{op} expected input whose last {k} dimensions are normalized_shape={shape}; "
            f"received input of shape {x.shape}."
        )
    params = _norm_params(weight, bias, shape, x.dtype, op)
    axes = tuple(range(x.ndim - k, x.ndim))
    x_hat, inv_std = _standardize(x.data, axes, eps)

    def input_grad(dx_hat: np.ndarray) -> np.ndarray:
        return _standardize_backward(dx_hat, x_hat, inv_std, axes)

    return _affine(x, x_hat, input_grad, params, (1,) * (x.ndim - k) + shape, op)
