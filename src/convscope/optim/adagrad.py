"""Adagrad (Duchi, Hazan & Singer, 2011): ``torch.optim.Adagrad``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.optim.optimizer import Optimizer, ParamsT, check_number


class Adagrad(Optimizer):
    r"""Adagrad, with PyTorch's exact arithmetic.

    One step, for every parameter ``w`` with gradient ``g`` (``t`` counts its steps,
    starting at 1; the sum ``S`` starts at ``initial_accumulator_value``)::

        g ← -g                              if maximize
        g ← g + weight_decay · w
        lr_t ← lr / (1 + (t - 1) · lr_decay)
        S ← S + g²
        w ← w - lr_t · g / (√S + eps)

    Every weight gets its own learning rate, shrinking as its squared gradients add
    up: weights with rare, large gradients keep learning; frequent ones slow down.

    Args:
        params: Tensors to optimize, or a list of param-group dicts.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty coefficient (>= 0).
        initial_accumulator_value: starting value of ``S`` (>= 0).
        eps: added to the denominator for numerical stability (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` and ``sum`` — created when the optimizer is built
    (as PyTorch), so ``state_dict()`` lists them before the first step.

    Raises:
        ValueError: a hyper-parameter is out of range, e.g.
            ``Adagrad expected lr_decay >= 0; received lr_decay=-1.``

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.array([1.0]), requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> for _ in range(2):
    ...     w.grad = np.array([2.0])
    ...     opt.step()         # S = 4, then 8: w ← 1 - 0.5·2/2 - 0.5·2/√8
    >>> w.data.round(4)
    array([0.1464])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        check_number("Adagrad", "lr", group["lr"])
        check_number("Adagrad", "lr_decay", group["lr_decay"])
        check_number("Adagrad", "weight_decay", group["weight_decay"])
        check_number("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"])
        check_number("Adagrad", "eps", group["eps"])

    def _init_group(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            self.state[p] = self._initial_state(p.data, group)

    @staticmethod
    def _initial_state(param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        init = float(group["initial_accumulator_value"])
        return {"step": 0, "sum": np.full_like(param, init)}

    def _state_keys(self, group: dict[str, Any]) -> set[str]:
        return {"step", "sum"}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr = float(group["lr"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        if not state:  # state lost, e.g. a load_state_dict that held none for this parameter
            state.update(self._initial_state(param, group))
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        clr = lr / (1 + (state["step"] - 1) * float(group["lr_decay"]))

        state_sum = state["sum"]
        scratch = np.multiply(grad, grad)  # S ← S + g²
        state_sum += scratch
        denom = np.sqrt(state_sum, out=scratch)  # √S + eps
        denom += eps
        update = np.divide(grad, denom, out=scratch)
        update *= -clr
        param += update
