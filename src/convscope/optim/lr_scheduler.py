"""Learning-rate schedules: ``torch.optim.lr_scheduler``, value for value.

A scheduler rewrites ``group['lr']`` of its optimizer's param groups. Build it after
the optimizer and call ``scheduler.step()`` once per epoch, *after* the epoch's
``optimizer.step()`` calls (``ReduceLROnPlateau.step(metric)`` takes the monitored
value, e.g. the validation loss).

>>> import numpy as np
>>> from convscope import Tensor
>>> from convscope.optim import SGD
>>> opt = SGD([Tensor(np.zeros(2), requires_grad=True)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(sched.get_last_lr()[0])   # ... train one epoch with opt.step() ...
...     sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

from convscope.optim.optimizer import Optimizer, check_number, plain


def _plain_state(value: Any) -> Any:
    """Undo a ``.npz`` round trip: arrays back to Python lists and numbers."""
    value = plain(value)
    return list(value) if isinstance(value, tuple) else value


class LRScheduler:
    """Base class of the epoch-indexed schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Building one records each group's starting ``lr`` as ``group['initial_lr']`` (and
    in :attr:`base_lrs`) and takes the first step, to epoch 0.

    Args:
        optimizer: the optimizer whose learning rates to schedule.
        last_epoch: index of the last epoch seen; leave at -1 except to resume, in
            which case every group must hold ``'initial_lr'``.

    Attributes:
        base_lrs (list[float]): the initial learning rate of every group.
        last_epoch (int): the current epoch index.

    Raises:
        TypeError: ``optimizer`` is not an :class:`Optimizer`.
        KeyError: resuming (``last_epoch >= 0``) but a group lacks ``'initial_lr'``.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} expected an Optimizer; received {type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param_groups[{i}] has no 'initial_lr', needed to resume "
                        f"{type(self).__name__} at last_epoch={last_epoch}. Load the "
                        "optimizer's state dict first, or start from last_epoch=-1."
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's step keeps the current lrs
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for epoch :attr:`last_epoch` (computed by each scheduler)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate of every group, as last set by this scheduler."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (copied), as PyTorch's schedulers."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`.

        Raises:
            ValueError: keys are missing or unknown (e.g. saved from another scheduler).
        """
        expected = set(vars(self)) - {"optimizer"}
        missing = sorted(expected - set(state_dict))
        unknown = sorted(set(state_dict) - expected)
        if missing or unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict expected keys {sorted(expected)}; "
                f"missing {missing}, unknown {unknown}. Was it saved from another scheduler?"
            )
        for key, value in state_dict.items():
            setattr(self, key, copy.deepcopy(_plain_state(value)))


def _check_positive_int(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner} expected {name} to be a positive integer; received {value!r}.")


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr(epoch) = initial_lr · gamma ** (epoch // step_size)``

    Args:
        optimizer: the optimizer to schedule.
        step_size: period of the decay, in epochs (positive int).
        gamma: multiplicative factor.
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: ``step_size`` is not a positive integer.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> sched = StepLR(SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1), step_size=1)
    >>> sched.step()
    >>> [round(lr, 6) for lr in sched.get_last_lr()]
    [0.01]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        _check_positive_int("StepLR", "step_size", step_size)
        check_number("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch.

    ``lr(epoch) = initial_lr · gamma ** (number of milestones <= epoch)``; a milestone
    listed twice decays twice.

    Args:
        optimizer: the optimizer to schedule.
        milestones: epoch indices (non-negative ints).
        gamma: multiplicative factor.
        last_epoch: see :class:`LRScheduler`.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> lrs = []
    >>> for _ in range(4):
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ):
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, int) or m < 0:
                raise ValueError(
                    f"MultiStepLR expected milestones to be non-negative integers; received "
                    f"milestones={milestones!r}."
                )
        check_number("MultiStepLR", "gamma", gamma)
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._current_lrs()
        return [lr * self.gamma**hits for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch.

    ``lr(epoch) = initial_lr · gamma ** epoch``

    Args:
        optimizer: the optimizer to schedule.
        gamma: multiplicative factor.
        last_epoch: see :class:`LRScheduler`.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> sched = ExponentialLR(SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0), 0.5)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a half cosine from its initial value to ``eta_min``.

    The closed form, with ``η_max`` the initial learning rate, is::

        η(t) = η_min + (η_max - η_min) · (1 + cos(π · t / T_max)) / 2

    but, as PyTorch, each step applies it *recursively* to the current learning rate
    (so changes made by others compose)::

        η(t) = η_min + (η(t-1) - η_min) · (1 + cos(π t / T_max)) / (1 + cos(π (t-1) / T_max))

    After ``T_max`` epochs the rate climbs back along the cosine (no restart jump).

    Args:
        optimizer: the optimizer to schedule.
        T_max: half-period, in epochs (positive int).
        eta_min: the minimum learning rate.
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: ``T_max`` is not a positive integer.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for _ in range(4):
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            # at the bottom of a cycle the ratio below is 0/0: step up by the closed form
            return [
                lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for lr, base_lr in zip(self._current_lrs(), self.base_lrs, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Divide the learning rate when a monitored metric stops improving.

    Each ``step(metric)`` compares ``metric`` with the best value so far. Improvement
    means, for ``mode='min'``: ``metric < best · (1 - threshold)`` (``threshold_mode='rel'``)
    or ``metric < best - threshold`` (``'abs'``); mirrored for ``'max'``. After more
    than ``patience`` epochs without improvement, every group's learning rate becomes
    ``max(lr · factor, min_lr)`` (skipped if that changes it by ``eps`` or less), and
    the bad-epoch count then stays at zero for ``cooldown`` epochs.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``'min'`` (e.g. a loss) or ``'max'`` (e.g. an accuracy).
        factor: multiplicative factor, < 1.
        patience: epochs without improvement tolerated before reducing.
        threshold: how much better counts as an improvement.
        threshold_mode: ``'rel'`` or ``'abs'``.
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: lower bound on the learning rate: one number, or one per group.
        eps: smallest change of learning rate worth making.

    Raises:
        ValueError: ``mode``/``threshold_mode`` unknown, ``factor >= 1``, or ``min_lr``
            a list of the wrong length.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1)
    >>> for val_loss in [1.0, 0.9, 0.95, 0.93]:   # two epochs without a new best
    ...     sched.step(val_loss)
    >>> sched.get_last_lr()
    [0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"ReduceLROnPlateau expected an Optimizer; received {type(optimizer).__name__}."
            )
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau expected mode 'min' or 'max'; received {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                "ReduceLROnPlateau expected threshold_mode 'rel' or 'abs'; received "
                f"{threshold_mode!r}."
            )
        check_number("ReduceLROnPlateau", "factor", factor, high=1.0)
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"ReduceLROnPlateau expected {n_groups} min_lr values (one per param "
                    f"group); received {len(min_lr)}."
                )
            self.default_min_lr: float | None = None
            self.min_lrs = [float(v) for v in min_lr]
        else:
            check_number("ReduceLROnPlateau", "min_lr", min_lr)
            self.default_min_lr = float(min_lr)
            self.min_lrs = [float(min_lr)] * n_groups
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current_lrs()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element Tensor); reduce if due."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"ReduceLROnPlateau holds {len(self.min_lrs)} min_lr values but the "
                    f"optimizer now has {len(groups)} param groups (one was added?); set "
                    "scheduler.min_lrs to one value per group."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


class LambdaLR(LRScheduler):
    """Set the learning rate to ``initial_lr · lr_lambda(epoch)``.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch index returning a factor, or one function
            per param group.
        last_epoch: see :class:`LRScheduler`.

    The functions are not part of :meth:`state_dict` (as in PyTorch): rebuild the
    scheduler with them, then load the state.

    Raises:
        ValueError: a list of functions whose length differs from the number of groups.
        TypeError: ``lr_lambda`` is not callable.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda epoch: 0.5**epoch)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1):
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(
                f"LambdaLR expected {groups} lr_lambda functions (one per param group); "
                f"received {len(lambdas)}."
            )
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(
                    f"LambdaLR expected lr_lambda to be a function of the epoch; received "
                    f"{type(fn).__name__}."
                )
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * fn(self.last_epoch)
            for base_lr, fn in zip(self.base_lrs, self.lr_lambdas, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        del state["lr_lambdas"]  # functions are code: never saved
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict({**state_dict, "lr_lambdas": self.lr_lambdas})


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` — a warm-up.

    ``lr(epoch) = initial_lr · (start + (end − start) · min(epoch, total_iters) / total_iters)``,
    applied (as PyTorch) recursively to the current rate, so it composes with others.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: factor at epoch 0, in (0, 1].
        end_factor: factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: epochs (or steps) the ramp lasts.
        last_epoch: see :class:`LRScheduler`.

    Raises:
        ValueError: factors out of range, or ``total_iters`` not a positive integer.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        check_number("LinearLR", "start_factor", start_factor, low=0.0, low_inclusive=False)
        if start_factor > 1:
            raise ValueError(
                f"LinearLR expected start_factor in (0, 1]; received start_factor={start_factor}."
            )
        check_number("LinearLR", "end_factor", end_factor)
        if end_factor > 1:
            raise ValueError(
                f"LinearLR expected end_factor in [0, 1]; received end_factor={end_factor}."
            )
        _check_positive_int("LinearLR", "total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, n = self.last_epoch, self.total_iters
        start, end = self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if t > n:
            return self._current_lrs()
        # factor(t) / factor(t − 1), with factor(t) = start + (end − start) · t / n
        ratio = 1 + (end - start) / (n * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): warm up to ``max_lr``, then anneal far below.

    Stepped once per *batch*, for ``total_steps`` (or ``epochs · steps_per_epoch``)
    steps. The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of the steps, then falls to ``initial_lr / final_div_factor``
    (with ``three_phase``, it first comes back down to ``initial_lr`` symmetrically,
    then falls). Momentum (SGD's ``momentum`` or Adam's β₁) moves the opposite way
    between ``max_momentum`` and ``base_momentum``. Values equal PyTorch's.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: peak learning rate, one number or one per group.
        total_steps: number of steps; or give ``epochs`` and ``steps_per_epoch``.
        epochs, steps_per_epoch: ``total_steps = epochs · steps_per_epoch``.
        pct_start: fraction of the steps spent increasing the rate.
        anneal_strategy: ``'cos'`` or ``'linear'``.
        cycle_momentum: also cycle the momentum (needs an optimizer with one).
        base_momentum, max_momentum: momentum bounds (numbers or one per group).
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: use the three-phase schedule.
        last_epoch: index of the last *step*; see :class:`LRScheduler`.

    Raises:
        ValueError: no way to tell the number of steps, arguments out of range, a
            momentum cycle for an optimizer without momentum, or stepping past
            ``total_steps``.

    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(9):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> [round(lr, 3) for lr in lrs]
    [0.04, 0.52, 1.0, 0.95, 0.812, 0.611, 0.389, 0.188, 0.05, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        name = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name} expected an Optimizer; received {type(optimizer).__name__}.")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(
                    f"{name} expected total_steps, or both epochs and steps_per_epoch; received "
                    f"total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}."
                )
            _check_positive_int(name, "epochs", epochs)
            _check_positive_int(name, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        _check_positive_int(name, "total_steps", total_steps)
        check_number(name, "pct_start", pct_start, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{name} expected anneal_strategy to be 'cos' or 'linear'; received "
                f"anneal_strategy={anneal_strategy!r}."
            )
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError(
                f"{name} with cycle_momentum=True needs an optimizer with momentum or betas; "
                f"received {type(optimizer).__name__}. Pass cycle_momentum=False."
            )
        groups = optimizer.param_groups
        max_lrs = self._per_group(max_lr, len(groups), "max_lr")
        if last_epoch == -1:
            for group, peak in zip(groups, max_lrs, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        ramp_end = float(pct_start * total_steps) - 1
        # Each phase: the step it ends on, and the group keys it moves lr and momentum between.
        if three_phase:
            self._schedule_phases = [
                {"end_step": ramp_end, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * total_steps) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        else:
            self._schedule_phases = [
                {"end_step": ramp_end, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        if self.cycle_momentum and last_epoch == -1:
            highs = self._per_group(max_momentum, len(groups), "max_momentum")
            lows = self._per_group(base_momentum, len(groups), "base_momentum")
            for group, high, low in zip(groups, highs, lows, strict=True):
                self._set_momentum(group, high)
                group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _per_group(value: Any, groups: int, name: str) -> list[float]:
        values = list(value) if isinstance(value, (list, tuple)) else [value] * groups
        if len(values) != groups:
            raise ValueError(
                f"OneCycleLR expected {groups} values of {name} (one per param group); "
                f"received {len(values)}."
            )
        for v in values:
            check_number("OneCycleLR", name, v)
        return [float(v) for v in values]

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR was stepped {step} times, past total_steps={self.total_steps}. "
                "Give total_steps (or epochs · steps_per_epoch) for every batch you train on."
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                self._set_momentum(group, momentum)
        return lrs
