"""The original optimizers, each a :mod:`convscope.optim` optimizer under its old name.

The original API passes the parameters and the learning rate to every call,
``optimizer.step(params, l_rate)``, which also zeroes the gradients. Each class below
builds the native optimizer on the first call, sets its learning rate on every call,
steps and zeroes. The update rules are the same formulas:

=======================  =============================================  ==========================
old name                 update (g: gradient)                           native
=======================  =============================================  ==========================
``Optimizer()``          ``p -= lr·g``                                  ``SGD(lr)``
``Optim_SGD(n, lr_n)``   lr moves linearly to ``lr_n`` over n steps     ``SGD``, lr set per step
``Optim_SGD_Momentum``   ``v = β·v − lr·g; p += v``                     ``SGD(momentum=β)``
``Optim_AdaGrad``        ``r += g²; p -= lr·g / (γ + √r)``              ``Adagrad(eps=γ)``
``Optim_RMSPropclass``   ``r = ρ·r + (1−ρ)·g²; p -= lr·g / (γ + √r)``   ``RMSprop(alpha=ρ, eps=γ)``
``Optim_Adam``           bias-corrected moments, ``p -= lr·ŝ/(γ + √r̂)``   ``Adam(betas, eps=γ)``
=======================  =============================================  ==========================

(``SGD(momentum=β)`` keeps ``b = β·b + g`` and steps ``lr·b``: the same steps as the
original's ``v`` while the learning rate is constant.) As in the original, optimizer
state belongs to the parameter objects: replacing them (``set_params``) starts afresh.
The original ``Optim_SGD`` raised ``AttributeError`` on its first step (it stored
``finitter`` and read ``finitters``); this one works.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.compat.rbdl.values import Values
from convscope.optim import SGD, Adagrad, Adam, RMSprop
from convscope.optim import Optimizer as NativeOptimizer
from convscope.tensor import Tensor


class Optimizer:
    """Plain gradient descent, ``p <- p - learning_rate · grad``; then the gradients are zeroed.

    >>> import numpy as np
    >>> w = Values(np.array([1.0, 2.0]))
    >>> (w * w).sum().backward()
    >>> Optimizer().step([w], 0.1)
    >>> w.vals, w.grad
    (array([0.8, 1.6]), array([0., 0.]))
    """

    def __init__(self) -> None:
        self._native: NativeOptimizer | None = None
        self._tensors: list[Tensor] = []

    def _build(self, tensors: list[Tensor], learning_rate: float) -> NativeOptimizer:
        return SGD(tensors, lr=learning_rate)

    def _learning_rate(self, learning_rate: float) -> float:
        return learning_rate

    def step(self, params: Sequence[Values], learning_rate: float) -> None:
        """Update every ``Values`` in ``params`` from its ``.grad``, then zero the gradients."""
        tensors = [p.tensor for p in params]
        if (
            self._native is None
            or len(tensors) != len(self._tensors)
            or any(a is not b for a, b in zip(tensors, self._tensors))
        ):
            self._native, self._tensors = self._build(tensors, learning_rate), tensors
        lr = self._learning_rate(learning_rate)
        for group in self._native.param_groups:
            group["lr"] = lr
        self._native.step()
        self._native.zero_grad()


class Optim_SGD(Optimizer):  # noqa: N801 - the original's name
    """Gradient descent whose rate moves linearly from ``learning_rate`` to ``fin_l_rate``
    over ``finitters`` steps, then stays at ``fin_l_rate``.

    Args:
        finitters: number of steps of the linear schedule.
        fin_l_rate: the final learning rate.
    """

    def __init__(self, finitters: int, fin_l_rate: float):
        super().__init__()
        if finitters < 1:
            raise ValueError(f"Optim_SGD expected finitters >= 1; received {finitters!r}.")
        self.t = 0
        self.finitters = finitters
        self.fin_l_rate = fin_l_rate

    def _learning_rate(self, learning_rate: float) -> float:
        self.t += 1
        alpha = self.t / self.finitters
        if alpha < 1:
            return learning_rate * (1 - alpha) + alpha * self.fin_l_rate
        return self.fin_l_rate


class Optim_SGD_Momentum(Optimizer):  # noqa: N801 - the original's name
    """Gradient descent with momentum ``mom_beta``."""

    def __init__(self, mom_beta: float = 0.9):
        super().__init__()
        self.beta = mom_beta

    def _build(self, tensors: list[Tensor], learning_rate: float) -> NativeOptimizer:
        return SGD(tensors, lr=learning_rate, momentum=self.beta)


class Optim_AdaGrad(Optimizer):  # noqa: N801 - the original's name
    """AdaGrad: each step divided by the root of the summed squared gradients (+ ``gamma``)."""

    def __init__(self, gamma: float = 0.0000001):
        super().__init__()
        self.gamma = gamma

    def _build(self, tensors: list[Tensor], learning_rate: float) -> NativeOptimizer:
        return Adagrad(tensors, lr=learning_rate, eps=self.gamma)

    def step(self, params: Sequence[Values], l_rate: float) -> None:  # the original's name
        super().step(params, l_rate)


class Optim_RMSPropclass(Optimizer):  # noqa: N801 - the original's name
    """RMSProp: squared-gradient average decaying by ``decay_rate``, ``gamma`` added to its root."""

    def __init__(self, decay_rate: float, gamma: float = 0.000001):
        super().__init__()
        self.decay_rate = decay_rate
        self.gamma = gamma

    def _build(self, tensors: list[Tensor], learning_rate: float) -> NativeOptimizer:
        return RMSprop(tensors, lr=learning_rate, alpha=self.decay_rate, eps=self.gamma)

    def step(self, params: Sequence[Values], l_rate: float) -> None:  # the original's name
        super().step(params, l_rate)


class Optim_Adam(Optimizer):  # noqa: N801 - the original's name
    """Adam with moment decays ``beta1``, ``beta2`` and ``gamma`` added to the root."""

    def __init__(self, beta1: float, beta2: float, gamma: float = 0.000001):
        super().__init__()
        self.b1 = beta1
        self.b2 = beta2
        self.gamma = gamma

    def _build(self, tensors: list[Tensor], learning_rate: float) -> NativeOptimizer:
        return Adam(tensors, lr=learning_rate, betas=(self.b1, self.b2), eps=self.gamma)

    def step(self, params: Sequence[Values], l_rate: float) -> None:  # the original's name
        super().step(params, l_rate)


__all__ = [
    "Optim_AdaGrad",
    "Optim_Adam",
    "Optim_RMSPropclass",
    "Optim_SGD",
    "Optim_SGD_Momentum",
    "Optimizer",
]
