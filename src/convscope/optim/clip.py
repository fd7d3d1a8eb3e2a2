"""Gradient clipping: ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Call them between ``loss.backward()`` and ``optimizer.step()``: they rescale the
``.grad`` arrays in place. Clipping by norm keeps the gradient's direction and only
shortens it when a rare huge gradient (an "exploding" step) would throw the weights
far away.

>>> import numpy as np
>>> from convscope import Tensor
>>> w = Tensor(np.zeros(2), requires_grad=True)
>>> w.grad = np.array([3.0, 4.0])                # norm 5
>>> clip_grad_norm_([w], max_norm=1.0).item()     # returns the norm before clipping
5.0
>>> w.grad.round(6)                              # rescaled to norm 1, same direction
array([0.6, 0.8])
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from convscope.tensor import Tensor


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(x: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of ``x`` flattened, in ``x``'s dtype (as ``torch.linalg.vector_norm``)."""
    x = x.ravel()
    if x.size == 0:
        return np.zeros((), dtype=x.dtype)
    if p == 2:
        return np.sqrt(np.dot(x, x))
    a = np.abs(x)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=x.dtype)
    if p == 1:
        return a.sum()
    return (a**p).sum() ** (1 / p)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    r"""Rescale the gradients so their joint norm is at most ``max_norm``.

    The total norm treats all gradients as one long vector: it is the ``norm_type``-norm
    of the per-parameter norms (``inf``: the largest absolute entry). Every gradient is
    then multiplied by ``min(1, max_norm / (total_norm + 1e-6))``, in place.
    Parameters whose ``.grad`` is None are ignored.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float('inf')`` for the max-norm.
        error_if_nonfinite: raise if the total norm is NaN or infinite, instead of
            scaling the gradients by it.

    Returns:
        The total norm *before* clipping, as a 0-d Tensor (0 if there are no gradients).

    Raises:
        RuntimeError: the total norm is not finite and ``error_if_nonfinite``.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.zeros((), dtype=np.float32))
    norms = np.stack([_vector_norm(g, norm_type) for g in grads])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} of the gradients is {total}, so it cannot "
            "be clipped. Pass error_if_nonfinite=False to scale by it anyway."
        )
    coef = np.minimum(np.asarray(float(max_norm), dtype=total.dtype) / (total + 1e-6), 1.0)
    # A non-finite norm scales by 0 or NaN: inf · 0 is NaN, silently, as in PyTorch.
    with np.errstate(invalid="ignore", over="ignore"):
        for g in grads:
            g *= coef.astype(g.dtype)
    return Tensor(np.asarray(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place.

    Unlike :func:`clip_grad_norm_` this changes the gradient's direction.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the largest absolute value allowed (>= 0).

    Raises:
        ValueError: ``clip_value`` is negative.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.zeros(3), requires_grad=True)
    >>> w.grad = np.array([-5.0, 0.5, 2.0])
    >>> clip_grad_value_(w, 1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_ expected clip_value >= 0; received {clip_value!r}.")
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
