"""Adam and AdamW: ``torch.optim.Adam`` / ``torch.optim.AdamW``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.optim.optimizer import Optimizer, ParamsT, check_number


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's exact arithmetic.

    One step, for every parameter ``w`` with gradient ``g`` (``t`` counts its steps,
    starting at 1; ``m``, ``v``, ``v̂max`` start at 0)::

        g ← -g                          if maximize
        g ← g + weight_decay · w        (Adam: L2 penalty, rescaled below like g)
        w ← w · (1 - lr · weight_decay) (AdamW instead: decoupled decay)
        m ← m + (1 - β1) · (g - m)      (= β1·m + (1-β1)·g)
        v ← β2 · v + (1 - β2) · g²
        v̂max ← max(v̂max, v)            if amsgrad (and use v̂max for v below)
        w ← w - lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + eps)

    Note where ``eps`` goes: it is added to the *bias-corrected* root
    ``√v / √(1-β2^t)``, not to ``√v`` (so this is not the paper's ``ε̂`` variant).

    Args:
        params: Tensors to optimize, or a list of param-group dicts.
        lr: learning rate (>= 0).
        betas: ``(β1, β2)``, decay rates of the first and second moment averages,
            each in ``[0, 1)``.
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty coefficient (>= 0), added to the gradient.
        amsgrad: use the running maximum of ``v`` (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), and
    ``max_exp_avg_sq`` when ``amsgrad``; arrays in the parameter's dtype.

    Raises:
        ValueError: a hyper-parameter is out of range, e.g.
            ``Adam expected lr >= 0; received lr=-1.``

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = np.array([0.5, -2.0])
    >>> opt.step()               # the first step moves each weight by ≈ lr·sign(g)
    >>> w.data.round(6)
    array([ 0.9, -0.9])
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        check_number(name, "lr", group["lr"])
        check_number(name, "eps", group["eps"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(
                f"{name} expected betas to be a pair (beta1, beta2); received betas={betas!r}."
            )
        check_number(name, "betas[0]", betas[0], high=1.0)
        check_number(name, "betas[1]", betas[1], high=1.0)
        check_number(name, "weight_decay", group["weight_decay"])

    def _state_keys(self, group: dict[str, Any]) -> set[str]:
        keys = {"step", "exp_avg", "exp_avg_sq"}
        return keys | {"max_exp_avg_sq"} if group["amsgrad"] else keys

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if self._decoupled:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        m, v = state["exp_avg"], state["exp_avg_sq"]
        scratch = np.subtract(grad, m)  # m ← m + (1-β1)(g - m)
        scratch *= 1 - beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)  # v ← β2 v + (1-β2) g²
        scratch *= 1 - beta2
        v *= beta2
        v += scratch
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])

        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        denom = np.sqrt(v, out=scratch)  # √v / √(1-β2^t) + eps
        denom /= bias_correction2_sqrt
        denom += eps
        update = np.divide(m, denom, out=scratch)
        update *= -step_size
        param += update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Identical to :class:`Adam` except for weight decay: instead of adding
    ``weight_decay · w`` to the gradient (where Adam's adaptive denominator would
    rescale it, so heavily-updated weights are barely decayed), every step first
    shrinks the weights directly::

        w ← w · (1 - lr · weight_decay)

    and then takes the Adam step on the loss gradient alone. Note the default
    ``weight_decay=1e-2`` (Adam's is 0).

    Args:
        params, lr, betas, eps, amsgrad, maximize: as :class:`Adam`.
        weight_decay: decoupled decay coefficient (>= 0).

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> w = Tensor(np.array([2.0]), requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.array([0.0])     # no loss gradient: only the decay acts
    >>> opt.step()
    >>> w.data                       # 2 · (1 - 0.1·0.5)
    array([1.9])
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
