r"""L1 and L2 weight penalties, and how they relate to ``weight_decay``.

**L2.** Adding ``(λ/2) · Σ w²`` to the loss adds ``λ · w`` to every gradient. That
is exactly what ``weight_decay=λ`` does in :class:`~convscope.optim.SGD` (and in
Adam, RMSprop and Adagrad): it adds ``λ · w`` to the gradient before the update
rule sees it. So, with the same starting weights and data::

    SGD(params, lr, momentum, weight_decay=λ)   on   loss
    SGD(params, lr, momentum)                   on   loss + (λ/2) · l2_penalty(params)

take the same steps (the penalty also enters the momentum buffer in both). Weight
decay is the cheaper route: no extra graph nodes. Each step it shrinks the weights
by ``lr · λ · w`` towards 0 — hence the name (Goodfellow et al., *Deep Learning*, §7.1.1).

**AdamW is different.** In Adam the ``λ · w`` added to the gradient is divided, like
the rest of the gradient, by the adaptive ``√v̂``: weights with large gradients are
hardly decayed at all. :class:`~convscope.optim.AdamW` *decouples* the decay: it
shrinks ``w ← w · (1 - lr · λ)`` directly and then takes the Adam step on the loss
gradient alone, so every weight decays at the same rate. No penalty on the loss
reproduces AdamW.

**L1.** ``Σ |w|`` adds ``λ · sign(w)`` to the gradients: a constant pull towards 0
that (unlike L2) drives many weights to (nearly) zero — sparse weights (§7.1.2).
There is no optimizer flag for it; add :func:`l1_penalty` to the loss. With plain
gradient steps the weights hover around 0 rather than landing exactly on it.

Biases are usually left out of the penalty: pass only the weights.

>>> import numpy as np
>>> from convscope import Tensor
>>> w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
>>> penalty = 0.01 * l1_penalty([w]) + 0.5 * 0.1 * l2_penalty([w])
>>> penalty.item()          # 0.01·3 + 0.05·5
0.28
>>> penalty.backward()
>>> w.grad                  # 0.01·sign(w) + 0.1·w
array([ 0.11, -0.21])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convscope.tensor import Tensor


def _sum_over(parameters: Tensor | Iterable[Tensor], term: str) -> Tensor:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total: Tensor | None = None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{term}_penalty expected Tensors; received {type(p).__name__}. Pass "
                "model.parameters() or a list of Tensors."
            )
        part = p.abs().sum() if term == "l1" else (p * p).sum()
        total = part if total is None else total + part
    if total is None:
        return Tensor(np.zeros((), dtype=np.float32))
    return total


def l1_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """The sum of absolute values of all entries, ``Σ |w|``, differentiable.

    Multiply by a coefficient λ and add it to the loss; its gradient is
    ``λ · sign(w)`` (0 at exactly 0).

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. the conv/linear weights).

    Returns:
        A scalar Tensor (float32 0 when ``parameters`` is empty).

    Raises:
        TypeError: an element is not a Tensor.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> l1_penalty([Tensor([1.0, -2.0]), Tensor([[0.5]])]).item()
    3.5
    """
    return _sum_over(parameters, "l1")


def l2_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """The sum of squares of all entries, ``Σ w²``, differentiable.

    ``loss + (λ/2) · l2_penalty(params)`` trains exactly like ``weight_decay=λ`` in
    SGD/Adam/RMSprop/Adagrad (see the module docstring); its gradient is ``2w``.

    Args:
        parameters: a Tensor or an iterable of Tensors.

    Returns:
        A scalar Tensor (float32 0 when ``parameters`` is empty).

    Raises:
        TypeError: an element is not a Tensor.

    >>> from convscope import Tensor
    >>> l2_penalty([Tensor([1.0, -2.0]), Tensor([[0.5]])]).item()
    5.25
    """
    return _sum_over(parameters, "l2")
