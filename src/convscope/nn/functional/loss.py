"""Loss functions: cross-entropy, negative log-likelihood, mean squared error, binary cross-entropy.

Every loss takes ``reduction``: ``'mean'`` (the default), ``'sum'``, or ``'none'``
(one loss per sample, or per element). Cross-entropy works on raw logits through a
stable log-softmax, so logits of ±1e4 give a finite, exact loss and gradient.

>>> import numpy as np
>>> from convscope import Tensor
>>> logits = Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
>>> labels = Tensor(np.array([0, 2]))
>>> loss = cross_entropy(logits, labels)
>>> round(loss.item(), 4)        # mean of -log softmax(logits)[label]
0.6691
>>> loss.backward()
>>> logits.grad.round(3)         # (softmax - one_hot) / N
array([[-0.107,  0.053,  0.053],
       [ 0.167,  0.167, -0.333]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convscope.nn.functional.activation import _floating, _log_softmax_array, _sigmoid_array
from convscope.tensor import ArrayLike, Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- validation


def _check_reduction(reduction: str, fn: str) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(
            f"{fn} expected reduction to be one of 'mean', 'sum', 'none'; received {reduction!r}."
        )


def _check_classes_input(x: Tensor, fn: str) -> None:
    if x.ndim == 0:
        raise ValueError(
            f"{fn} expected input of shape (N, C), (N, C, d1, ...) or (C,); received a 0-d tensor."
        )


def _index_shape(x: Tensor) -> tuple[int, ...]:
    """Shape of a class-index target for input ``x``: ``x``'s shape without the class axis."""
    return x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()


def _class_target(t: Tensor, x: Tensor, fn: str, allow_probabilities: bool) -> bool:
    """Validate ``t`` against ``x``; True for class indices, False for probabilities."""
    index_shape = _index_shape(x)
    kind = t.dtype.kind
    if kind in "iu":
        if t.shape != index_shape:
            hint = ""
            if allow_probabilities and t.shape == x.shape:
                hint = " For class probabilities (e.g. one-hot rows) pass a floating-point target."
            raise ValueError(
                f"{fn} expected a target of class indices of shape {index_shape} for input of "
                f"shape {x.shape}; received target of shape {t.shape}.{hint}"
            )
        return True
    if kind == "f":
        if allow_probabilities and t.shape == x.shape:
            return False
        if t.shape == index_shape:
            raise TypeError(
                f"{fn} expected integer class indices as target; received dtype {t.dtype}. "
                "Convert the labels, e.g. target.astype(np.int64)."
            )
        expected = f"{index_shape} (class indices)"
        if allow_probabilities:
            expected += f" or {x.shape} (class probabilities)"
        raise ValueError(
            f"{fn} expected a target of shape {expected} for input of shape {x.shape}; "
            f"received target of shape {t.shape}."
        )
    what = "integer class indices or floating-point class probabilities"
    raise TypeError(
        f"{fn} expected a target of {what if allow_probabilities else 'integer class indices'}; "
        f"received dtype {t.dtype}."
    )


def _checked_indices(t: Tensor, classes: int, ignore_index: int, fn: str) -> np.ndarray:
    """The class indices as int64, after checking each is in [0, C) or equals ignore_index."""
    y = t.data.astype(np.int64)
    bad = (y != ignore_index) & ((y < 0) | (y >= classes))
    if bad.any():
        raise ValueError(
            f"{fn} expected class indices in [0, {classes}); received {y[bad].flat[0]}. "
            f"Samples to skip must be labelled ignore_index={ignore_index}."
        )
    return y


def _target_log_probabilities(
    logp: np.ndarray, t: Tensor, w: np.ndarray | None, ignore_index: int, fn: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's target class, weight and log-probability (cross_entropy, nll_loss).

    Args:
        logp: (N, C, d1, ...) log-probabilities.
        t: the class-index target, checked by :func:`_checked_indices`.
        w: (C,) class weights, or None for weight 1.
        ignore_index: the target value of samples to skip.
        fn: the op's name, for the error message.

    Returns:
        ``(y_safe, valid, w_y, picked)``, each (N, d1, ...): the target classes with
        ignored ones replaced by 0 (safe to index with), the mask of samples not
        ignored, ``w[y]`` and ``logp[y]``, both 0 where ignored.
    """
    classes = logp.shape[1]
    y = _checked_indices(t, classes, ignore_index, fn).reshape(logp.shape[:1] + logp.shape[2:])
    valid = y != ignore_index  # (N, d1, ...)
    y_safe = np.where(valid, y, 0)
    w_y = (w[y_safe] if w is not None else np.ones(y.shape, logp.dtype)) * valid
    picked = np.take_along_axis(logp, y_safe[:, None], axis=1)[:, 0]  # (N, d1, ...)
    # Masked with np.where, not a product: an ignored sample's logp may be -inf (0·inf = nan).
    return y_safe, valid, w_y, np.where(valid, picked, 0)


def _class_weight(weight: ArrayLike | None, classes: int, dtype: np.dtype, fn: str):
    if weight is None:
        return None
    w = _floating(weight, fn, "weight").data
    if w.shape != (classes,):
        raise ValueError(
            f"{fn} expected weight of shape ({classes},) (one value per class); received {w.shape}."
        )
    return w.astype(dtype, copy=False)


def _float_target(target: ArrayLike, x: Tensor, fn: str) -> Tensor:
    t = as_tensor(target)
    if t.dtype.kind != "f":
        raise TypeError(
            f"{fn} expected a floating-point target; received dtype {t.dtype}. "
            "Convert it first, e.g. target.astype(np.float32)."
        )
    if t.shape != x.shape:
        raise ValueError(
            f"{fn} expected a target of the same shape as the input {x.shape}; received {t.shape}."
        )
    return t


def _float_input_and_target(
    input: ArrayLike, target: ArrayLike, reduction: str, fn: str
) -> tuple[Tensor, Tensor]:
    """The checks of a loss between two float tensors of one shape (regression, binary).

    In this order: floating-point ``input``, a valid ``reduction``, then a floating-point
    ``target`` of ``input``'s shape (:func:`_float_target`).
    """
    x = _floating(input, fn)
    _check_reduction(reduction, fn)
    return x, _float_target(target, x, fn)


def _broadcast_param(value: ArrayLike | None, x: Tensor, fn: str, name: str):
    """A weight that must broadcast to ``x``'s shape, as an array of ``x``'s dtype."""
    if value is None:
        return None
    v = _floating(value, fn, name).data
    try:
        fits = np.broadcast_shapes(v.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{fn} expected {name} broadcastable to the input shape {x.shape}; received {v.shape}."
        )
    return v.astype(x.dtype, copy=False)


def _reduce(loss: np.ndarray, reduction: str, denominator: float | np.ndarray) -> np.ndarray:
    """Reduce an array of losses; ``denominator`` divides the sum for 'mean'."""
    if reduction == "none":
        return loss
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty or all ignored: NaN, as PyTorch
        return np.asarray(total / loss.dtype.type(denominator))


def _upstream(g: np.ndarray, reduction: str, denominator: float | np.ndarray) -> np.ndarray:
    """d(reduced loss)/d(each loss) times ``g``: broadcasts against the unreduced losses."""
    if reduction == "mean":
        if denominator == 0:  # nothing counted (e.g. every target ignored): zero, as PyTorch
            return np.zeros_like(g)
        return g / g.dtype.type(denominator)
    return g


# --------------------------------------------------------------------------- classification


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between softmax(``input``) and ``target``, from raw logits.

    With integer class indices ``y`` the loss of a sample is
    ``-w[y] · log softmax(x)[y]``; ``'mean'`` divides the sum by ``Σ w[y]`` over the
    samples not ignored (their count, without weights). With class probabilities
    ``p`` (same shape as ``input``) it is ``-Σ_c w[c] · p[c] · log softmax(x)[c]`` and
    ``'mean'`` divides by the number of samples. Label smoothing ε mixes the target
    with the uniform distribution: ``(1 - ε) · target + ε / C``. All as PyTorch.

    Args:
        input: floating-point logits (unnormalised scores).
        target: integer class indices (any integer dtype) or floating-point probabilities.
        weight: (C,) rescaling per class, or None. It receives no gradient.
        ignore_index: class-index targets equal to this contribute nothing (and are
            not counted by 'mean').
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: ε in [0, 1].

    Shape:
        - input: (N, C), (N, C, d1, ...) for per-position classes, or (C,).
        - target: (N,), (N, d1, ...) or () with class indices; or input's shape.
        - output: scalar, or the target's index shape (N, d1, ...) with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input; a float target shaped like class indices; a
            target of another dtype.
        ValueError: shapes that do not fit, class indices out of range, bad
            ``reduction`` or ``label_smoothing``.

    >>> logits = Tensor([[1e4, 0.0, -1e4]])
    >>> cross_entropy(logits, Tensor(np.array([2])))     # finite even for extreme logits
    Tensor(20000.)
    >>> cross_entropy(logits, Tensor([[0.0, 1.0, 0.0]]))  # class probabilities
    Tensor(10000.)
    """
    fn = "cross_entropy"
    x = _floating(input, fn, "input (logits)")
    _check_classes_input(x, fn)
    _check_reduction(reduction, fn)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn} expected label_smoothing in [0, 1]; received {label_smoothing!r}.")
    t = as_tensor(target)
    indices = _class_target(t, x, fn, allow_probabilities=True)
    a = x.data if x.ndim > 1 else x.data[None]  # (N, C, d1, ...); (C,) is a batch of one
    classes = a.shape[1]
    per_class = (1, classes) + (1,) * (a.ndim - 2)  # (1, C, 1, ...) broadcasts over N, d1, ...
    w = _class_weight(weight, classes, a.dtype, fn)
    wc = None if w is None else w.reshape(per_class)
    eps = label_smoothing
    logp = _log_softmax_array(a, axis=1)  # (N, C, d1, ...)

    if indices:
        y_safe, valid, w_y, picked = _target_log_probabilities(logp, t, w, ignore_index, fn)
        loss = (-(1 - eps) * w_y * picked).astype(a.dtype, copy=False)
        if eps > 0:
            smooth = -(logp * wc if wc is not None else logp).sum(axis=1)  # -Σ_c w_c logp_c
            loss += np.where(valid, (eps / classes) * smooth, 0).astype(a.dtype)
        denominator = w_y.sum(dtype=a.dtype)
        parents: tuple[Tensor, ...] = (x,)
    else:
        p = t.data.astype(a.dtype, copy=False).reshape(a.shape)
        if eps > 0:
            p = p * (1 - eps) + eps / classes
        u = p * wc if wc is not None else p  # weighted target, (N, C, d1, ...)
        loss = -(u * logp).sum(axis=1)  # (N, d1, ...)
        denominator = loss.size
        parents = (x, t)

    out = _reduce(loss, reduction, denominator)
    if x.ndim == 1 and reduction == "none":
        out = out.reshape(())

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        r = _upstream(g, reduction, denominator).reshape(loss.shape if reduction == "none" else ())
        r_c = np.expand_dims(r, 1) if r.ndim else r  # (N, 1, d1, ...) against the class axis
        if indices:
            # The target as weighted vector: u = (1 - ε)·w_y·onehot(y) + (ε/C)·w, 0 if ignored.
            onehot = np.arange(classes).reshape(per_class) == y_safe[:, None]  # (N, C, d1, ...)
            u_ = onehot * np.expand_dims((1 - eps) * w_y, 1)
            if eps > 0:
                u_ = u_ + (eps / classes) * (wc if wc is not None else 1) * valid[:, None]
        else:
            u_ = u
        # d/dx_c of -Σ u_c log softmax(x)_c  =  softmax(x)_c · Σ u - u_c
        s = np.exp(logp)
        dx = (s * u_.sum(axis=1, keepdims=True) - u_) * r_c
        grads: list[np.ndarray | None] = [dx.reshape(x.shape)]
        if not indices:
            dp = -logp * (wc if wc is not None else 1) * r_c  # d/dp_c = -w_c log softmax_c
            grads.append((dp * (1 - eps)).reshape(t.shape) if t.requires_grad else None)
        return tuple(grads)

    return Tensor.from_op(out.astype(a.dtype, copy=False), parents, backward, "cross_entropy")


def nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of the target classes, given log-probabilities.

    ``loss = -w[y] · input[y]`` per sample; ``nll_loss(log_softmax(x, 1), y)`` equals
    ``cross_entropy(x, y)``. ``'mean'`` divides by ``Σ w[y]`` over non-ignored samples.

    Args:
        input: floating-point log-probabilities (e.g. the output of ``log_softmax``).
        target: integer class indices (any integer dtype).
        weight: (C,) rescaling per class, or None. It receives no gradient.
        ignore_index: targets equal to this contribute nothing.
        reduction: 'mean', 'sum' or 'none'.

    Shape:
        - input: (N, C), (N, C, d1, ...) or (C,).
        - target: (N,), (N, d1, ...) or ().
        - output: scalar, or the target's shape with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input or non-integer target.
        ValueError: shapes that do not fit, indices out of range, bad ``reduction``.

    >>> import numpy as np
    >>> logp = Tensor(np.log([[0.5, 0.5], [0.9, 0.1]]))
    >>> nll_loss(logp, Tensor(np.array([0, 1])), reduction="none")
    Tensor([0.69314718, 2.30258509], dtype=float64)
    """
    fn = "nll_loss"
    x = _floating(input, fn, "input (log-probabilities)")
    _check_classes_input(x, fn)
    _check_reduction(reduction, fn)
    t = as_tensor(target)
    _class_target(t, x, fn, allow_probabilities=False)
    a = x.data if x.ndim > 1 else x.data[None]  # (N, C, d1, ...); (C,) is a batch of one
    classes = a.shape[1]
    per_class = (1, classes) + (1,) * (a.ndim - 2)  # (1, C, 1, ...)
    w = _class_weight(weight, classes, a.dtype, fn)
    y_safe, valid, w_y, picked = _target_log_probabilities(a, t, w, ignore_index, fn)
    loss = (-w_y * picked).astype(a.dtype, copy=False)
    denominator = w_y.sum(dtype=a.dtype)
    out = _reduce(loss, reduction, denominator)
    if x.ndim == 1 and reduction == "none":
        out = out.reshape(())

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        r = _upstream(g, reduction, denominator).reshape(loss.shape if reduction == "none" else ())
        onehot = np.arange(classes).reshape(per_class) == y_safe[:, None]  # (N, C, d1, ...)
        # d/dinput_c = -w_y · [c == y] (scaled by the reduction)
        dx = onehot * np.expand_dims(-w_y * r, 1)
        return (dx.reshape(x.shape),)

    return Tensor.from_op(out.astype(a.dtype, copy=False), (x,), backward, "nll_loss")


def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    pos_weight: ArrayLike | None = None,
) -> Tensor:
    """Binary cross-entropy between sigmoid(``input``) and ``target``, from logits.

    ``loss = -w · [pw · t · log σ(x) + (1 - t) · log(1 - σ(x))]``, evaluated in the
    stable form ``w · [(1 - t) · x + (1 + (pw - 1) · t) · softplus(-x)]`` with
    ``softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0)``, so it never takes ``log(0)``.

    Args:
        input: floating-point logits.
        target: floating-point targets in [0, 1], same shape as ``input``.
        weight: rescaling broadcastable to ``input``, or None. No gradient.
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: weight of the positive term, broadcastable to ``input`` (e.g. (C,)
            for multi-label (N, C) input), or None. No gradient.

    Shape:
        - input, target: any shape, the same.
        - output: scalar, or the input's shape with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input or target.
        ValueError: shapes that do not fit, bad ``reduction``.

    >>> loss = binary_cross_entropy_with_logits(Tensor([0.0, 1e4]), Tensor([1.0, 1.0]))
    >>> round(loss.item(), 4)      # (log 2 + 0) / 2
    0.3466
    """
    fn = "binary_cross_entropy_with_logits"
    x, t = _float_input_and_target(input, target, reduction, fn)
    w = _broadcast_param(weight, x, fn, "weight")
    pw = _broadcast_param(pos_weight, x, fn, "pos_weight")
    a = x.data
    y = t.data.astype(a.dtype, copy=False)
    softplus_neg = np.log1p(np.exp(-np.abs(a))) + np.maximum(-a, 0)  # log(1 + exp(-x))
    log_weight = 1 if pw is None else 1 + (pw - 1) * y
    loss = (1 - y) * a + log_weight * softplus_neg
    if w is not None:
        loss = loss * w
    loss = loss.astype(a.dtype, copy=False)
    out = _reduce(loss, reduction, loss.size)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        r = _upstream(g, reduction, loss.size)
        if w is not None:
            r = r * w
        # d/dx = (1 - t) - (1 + (pw - 1)·t) · σ(-x)   (= σ(x) - t without pos_weight)
        dx = ((1 - y) - log_weight * _sigmoid_array(-a)) * r
        dt = None
        if t.requires_grad:
            # d/dt = -x + (pw - 1) · softplus(-x)
            dt = (-a + (0 if pw is None else (pw - 1) * softplus_neg)) * r
        return dx, dt

    return Tensor.from_op(out, (x, t), backward, "binary_cross_entropy_with_logits")


# --------------------------------------------------------------------------- regression


def _difference_loss(
    input: ArrayLike,
    target: ArrayLike,
    reduction: str,
    fn: str,
    loss_and_slope: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> Tensor:
    """A loss ``ℓ(x − t)`` of the difference, elementwise, reduced; ``ℓ'`` given beside ``ℓ``."""
    x, t = _float_input_and_target(input, target, reduction, fn)
    loss, slope = loss_and_slope(x.data - t.data.astype(x.dtype, copy=False))
    loss = loss.astype(x.dtype, copy=False)
    out = _reduce(loss, reduction, loss.size)

    def backward(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = slope * _upstream(g, reduction, loss.size)  # dℓ(x − t)/dx = ℓ'; d/dt = −ℓ'
        return dx, -dx

    return Tensor.from_op(out, (x, t), backward, fn)


def mse_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)²``, reduced.

    Unlike PyTorch (which broadcasts with a warning), ``target`` must have exactly
    ``input``'s shape: broadcasting (N, 1) against (N,) silently computes an
    (N, N) matrix of wrong differences.

    Args:
        input: floating-point predictions.
        target: floating-point targets of the same shape (cast to ``input``'s dtype).
        reduction: 'mean', 'sum' or 'none'.

    Shape:
        - input, target: any shape, the same.
        - output: scalar, or the input's shape with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input or target.
        ValueError: different shapes, bad ``reduction``.

    >>> mse_loss(Tensor([1.0, 2.0]), Tensor([1.0, 4.0]))
    Tensor(2.)
    """
    # d (x - t)² / dx = 2 (x - t)
    return _difference_loss(input, target, reduction, "mse_loss", lambda d: (d * d, 2 * d))


# --------------------------------------------------------------------------- robust regression


def l1_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input − target|``, reduced, as ``torch...l1_loss``.

    The gradient at a zero difference is 0 (``sign(0)``), as in PyTorch.

    Args:
        input: floating-point predictions.
        target: floating-point targets of the same shape.
        reduction: 'mean', 'sum' or 'none'.

    Shape:
        - input, target: any shape, the same; output: scalar, or that shape with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input or target.
        ValueError: different shapes, bad ``reduction``.

    >>> l1_loss(Tensor([1.0, 2.0]), Tensor([1.5, 4.0]))
    Tensor(1.25)
    """
    return _difference_loss(input, target, reduction, "l1_loss", lambda d: (np.abs(d), np.sign(d)))


def _check_positive(value: float, fn: str, name: str, allow_zero: bool) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{fn} expected {name} to be a {kind} number; received {name}={value!r}.")
    return float(value)


def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """Smooth L1 (Girshick, *Fast R-CNN*, 2015), as ``torch...smooth_l1_loss``.

    ``0.5 d² / beta`` where ``|d| < beta``, else ``|d| − 0.5 beta``, with ``d = input −
    target``: quadratic near zero, linear (robust to outliers) beyond. ``beta=0`` is L1.

    Args:
        input, target: floating-point tensors of the same shape.
        reduction: 'mean', 'sum' or 'none'.
        beta: where the quadratic part ends, ≥ 0.

    Shape:
        - input, target: any shape, the same; output: scalar, or that shape with 'none'.

    Raises:
        TypeError: non-floating input or target.
        ValueError: different shapes, bad ``reduction`` or negative ``beta``.

    >>> smooth_l1_loss(Tensor([0.5, 3.0]), Tensor([0.0, 0.0]), reduction="none")
    Tensor([0.125, 2.5  ])
    """
    fn = "smooth_l1_loss"
    beta = _check_positive(beta, fn, "beta", allow_zero=True)
    if beta == 0:
        return _difference_loss(input, target, reduction, fn, lambda d: (np.abs(d), np.sign(d)))

    def loss_and_slope(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = np.abs(d) < beta
        loss = np.where(small, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)
        return loss, np.where(small, d / beta, np.sign(d)).astype(d.dtype)

    return _difference_loss(input, target, reduction, fn, loss_and_slope)


def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """Huber loss (Huber, 1964), as ``torch...huber_loss``: ``delta ·`` smooth L1 (beta=delta).

    ``0.5 d²`` where ``|d| ≤ delta``, else ``delta · (|d| − 0.5 delta)``.

    Args:
        input, target: floating-point tensors of the same shape.
        reduction: 'mean', 'sum' or 'none'.
        delta: where the quadratic part ends, > 0.

    Shape:
        - input, target: any shape, the same; output: scalar, or that shape with 'none'.

    Raises:
        TypeError: non-floating input or target.
        ValueError: different shapes, bad ``reduction`` or ``delta`` ≤ 0.

    >>> huber_loss(Tensor([0.5, 3.0]), Tensor([0.0, 0.0]), reduction="none", delta=2.0)
    Tensor([0.125, 4.   ])
    """
    fn = "huber_loss"
    delta = _check_positive(delta, fn, "delta", allow_zero=False)

    def loss_and_slope(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = np.abs(d) <= delta
        loss = np.where(small, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
        return loss, np.where(small, d, delta * np.sign(d)).astype(d.dtype)

    return _difference_loss(input, target, reduction, fn, loss_and_slope)


def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target``, as PyTorch.

    ``loss = −w · [t · log x + (1 − t) · log(1 − x)]``, with each log clamped at
    −100 as PyTorch does, so ``x = 0`` or ``1`` gives a finite loss. Prefer
    :func:`binary_cross_entropy_with_logits` on raw logits: it is exact where
    sigmoid saturates.

    Args:
        input: floating-point probabilities in [0, 1].
        target: floating-point targets in [0, 1], same shape as ``input``.
        weight: rescaling broadcastable to ``input``, or None. No gradient.
        reduction: 'mean', 'sum' or 'none'.

    Shape:
        - input, target: any shape, the same; output: scalar, or that shape with 'none'.

    Returns:
        A tensor of ``input``'s dtype.

    Raises:
        TypeError: non-floating input or target.
        ValueError: shapes that do not fit, probabilities outside [0, 1], bad ``reduction``.

    >>> round(binary_cross_entropy(Tensor([0.5, 1.0]), Tensor([1.0, 1.0])).item(), 4)
    0.3466
    """
    fn = "binary_cross_entropy"
    x, t = _float_input_and_target(input, target, reduction, fn)
    w = _broadcast_param(weight, x, fn, "weight")
    a = x.data
    if np.any((a < 0) | (a > 1)):
        raise ValueError(
            f"{fn} expected input probabilities in [0, 1]; received values from {a.min()} to "
            f"{a.max()}. Apply a sigmoid first, or use binary_cross_entropy_with_logits."
        )
    y = t.data.astype(a.dtype, copy=False)
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(a), -100)
        log_1mx = np.maximum(np.log1p(-a), -100)
    loss = -(y * log_x + (1 - y) * log_1mx)
    if w is not None:
        loss = loss * w
    loss = loss.astype(a.dtype, copy=False)
    out = _reduce(loss, reduction, loss.size)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        r = _upstream(g, reduction, loss.size)
        if w is not None:
            r = r * w
        # d/dx = (x − t) / (x (1 − x)), the denominator kept ≥ 1e-12 as PyTorch
        dx = (a - y) / np.maximum(a * (1 - a), a.dtype.type(1e-12)) * r
        dt = (log_1mx - log_x) * r if t.requires_grad else None  # d/dt = log(1−x) − log x
        return dx, dt

    return Tensor.from_op(out, (x, t), backward, fn)
