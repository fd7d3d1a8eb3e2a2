"""Stochastic gradient descent, optionally with (Nesterov) momentum: ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.optim.optimizer import Optimizer, ParamsT, check_number


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    One step, for every parameter ``w`` with gradient ``g`` (``t`` counts its steps)::

        g ← -g                      if maximize
        g ← g + weight_decay · w    (L2 penalty (weight_decay/2)·Σw², see regularization)
        if momentum ≠ 0:
            b ← g                               at t = 1
            b ← momentum · b + (1 - dampening) · g   after
            g ← g + momentum · b    if nesterov, else  g ← b
        w ← w - lr · g

    This is PyTorch's form of momentum (the learning rate multiplies the buffer, not
    the gradient inside it), which equals Sutskever et al.'s when ``lr`` is constant.

    Args:
        params: Tensors to optimize, or a list of param-group dicts.
        lr: learning rate (>= 0).
        momentum: momentum factor (>= 0).
        dampening: dampening of the gradient's contribution to the momentum buffer.
        weight_decay: L2 penalty coefficient (>= 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``momentum_buffer`` (only when ``momentum ≠ 0``).

    Raises:
        ValueError: a hyper-parameter is out of range, e.g.
            ``SGD expected lr >= 0; received lr=-1.``

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.array([1.0]), requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = np.array([1.0])
    ...     opt.step()
    >>> w.data                   # 1 - 0.1·1 - 0.1·(0.9 + 1)
    array([0.71])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        check_number("SGD", "lr", group["lr"])
        check_number("SGD", "momentum", group["momentum"])
        check_number("SGD", "dampening", group["dampening"], low=None)
        check_number("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD expected momentum > 0 and dampening = 0 with nesterov=True; received "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}."
            )

    def _state_keys(self, group: dict[str, Any]) -> set[str]:
        return {"momentum_buffer"} if group["momentum"] != 0 else set()

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - float(group["dampening"])) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
