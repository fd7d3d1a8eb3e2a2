"""RMSprop (Hinton's lecture 6e): ``torch.optim.RMSprop``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.optim.optimizer import Optimizer, ParamsT, check_number


class RMSprop(Optimizer):
    r"""RMSprop, with PyTorch's exact arithmetic.

    One step, for every parameter ``w`` with gradient ``g`` (``s``, ``ḡ``, ``b`` start at 0)::

        g ← -g                              if maximize
        g ← g + weight_decay · w
        s ← α · s + (1 - α) · g²            (mean square)
        if centered:
            ḡ ← ḡ + (1 - α) · (g - ḡ)       (mean gradient)
            d ← √(s - ḡ²) + eps             (an estimate of the standard deviation)
        else:
            d ← √s + eps
        if momentum > 0:
            b ← momentum · b + g / d
            w ← w - lr · b
        else:
            w ← w - lr · g / d

    ``eps`` is added *outside* the square root (Keras adds it inside in some versions).
    Where rounding makes ``s - ḡ²`` slightly negative PyTorch produces NaN; convscope
    clamps it at 0 (the only place it departs from PyTorch).

    Args:
        params: Tensors to optimize, or a list of param-group dicts.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the moving averages (>= 0).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty coefficient (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by the estimated variance of the gradient instead of its
            mean square.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg``, plus ``momentum_buffer`` when
    ``momentum > 0`` and ``grad_avg`` when ``centered``.

    Raises:
        ValueError: a hyper-parameter is out of range, e.g.
            ``RMSprop expected alpha >= 0; received alpha=-0.5.``

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.array([1.0]), requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.99)
    >>> w.grad = np.array([3.0])
    >>> opt.step()               # s = 0.01·9, so w ← 1 - 0.01 · 3/0.3
    >>> w.data.round(6)
    array([0.9])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        check_number("RMSprop", "lr", group["lr"])
        check_number("RMSprop", "eps", group["eps"])
        check_number("RMSprop", "momentum", group["momentum"])
        check_number("RMSprop", "weight_decay", group["weight_decay"])
        check_number("RMSprop", "alpha", group["alpha"])

    def _state_keys(self, group: dict[str, Any]) -> set[str]:
        keys = {"step", "square_avg"}
        if group["momentum"] > 0:
            keys.add("momentum_buffer")
        if group["centered"]:
            keys.add("grad_avg")
        return keys

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if weight_decay != 0:
            grad = grad + weight_decay * param

        square_avg = state["square_avg"]
        scratch = np.multiply(grad, grad)  # s ← α s + (1-α) g²
        scratch *= 1 - alpha
        square_avg *= alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = state["grad_avg"]
            np.subtract(grad, grad_avg, out=scratch)  # ḡ ← ḡ + (1-α)(g - ḡ)
            scratch *= 1 - alpha
            grad_avg += scratch
            np.multiply(grad_avg, grad_avg, out=scratch)  # √(s - ḡ²)
            np.subtract(square_avg, scratch, out=scratch)
            np.maximum(scratch, 0, out=scratch)
            denom = np.sqrt(scratch, out=scratch)
        else:
            denom = np.sqrt(square_avg, out=scratch)
        denom += eps

        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += np.divide(grad, denom, out=scratch)
            np.multiply(buf, -lr, out=scratch)
            param += scratch
        else:
            update = np.divide(grad, denom, out=scratch)
            update *= -lr
            param += update
