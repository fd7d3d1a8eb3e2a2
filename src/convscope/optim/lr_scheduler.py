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
