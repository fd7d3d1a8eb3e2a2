"""Loss layers: each wraps one loss of :mod:`convscope.nn.functional`.

Call them as ``criterion(input, target)``. Inputs may be Tensors or NumPy arrays;
a floating-point target is cast to the input's dtype (a float64 target array
works with a float32 model). Class weights are registered as buffers, as in PyTorch.

>>> import numpy as np
>>> criterion = CrossEntropyLoss()
>>> logits = np.zeros((2, 10), dtype=np.float32)        # uniform over 10 classes
>>> round(criterion(logits, np.array([3, 7])).item(), 4)  # = log(10)
2.3026
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.nn.module import Module
from convscope.tensor import Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__} expected reduction to be 'mean', 'sum' or 'none'; "
                f"received reduction={reduction!r}."
            )
        self.reduction = reduction

    def _register_weight(self, name: str, weight: Any) -> None:
        """Register ``weight`` (None, an array or a Tensor) as the buffer ``name``.

        A copy, as an array: integers become float32; a non-numeric dtype is a TypeError.
        """
        if weight is not None:
            weight = np.array(weight.data if isinstance(weight, Tensor) else weight)
            if weight.dtype.kind not in "fiu":
                raise TypeError(
                    f"{type(self).__name__} expected {name} to be numeric; "
                    f"received dtype {weight.dtype}."
                )
            if weight.dtype.kind != "f":
                weight = weight.astype(np.float32)
        self.register_buffer(name, weight)

    @staticmethod
    def _float_target(input: Any, target: Any) -> tuple[Tensor, Tensor]:
        x, t = as_tensor(input), as_tensor(target)
        if t.dtype.kind == "f" and x.dtype.kind == "f" and t.dtype != x.dtype:
            t = t.astype(x.dtype)
        return x, t


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on raw logits (log-softmax and NLL fused, stably).

    Args:
        weight: optional (C,) rescaling weight per class.
        ignore_index: target value whose samples are skipped (with class indices).
        reduction: ``'mean'`` (weighted mean over samples), ``'sum'`` or ``'none'``.
        label_smoothing: mix this much of the uniform distribution into the target.

    Shape:
        - input: (N, C) logits, or (N, C, d1, ...) for per-pixel classification.
        - target: (N,) class indices in [0, C) (or (N, d1, ...)), or class
          probabilities shaped like ``input``.
        - output: scalar, or (N,) / (N, d1, ...) with ``reduction='none'``.
    """

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        self._register_weight("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.cross_entropy(
            x, t, weight=self.weight, ignore_index=self.ignore_index,
            reduction=self.reduction, label_smoothing=self.label_smoothing,
        )  # fmt: skip


class NLLLoss(_Loss):
    """Negative log-likelihood of the target class, given log-probabilities
    (e.g. from :class:`LogSoftmax`).

    Args:
        weight: optional (C,) rescaling weight per class.
        ignore_index: target value whose samples are skipped.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        - input: (N, C) log-probabilities (or (N, C, d1, ...)).
        - target: (N,) class indices (or (N, d1, ...)).
        - output: scalar, or (N,) with ``reduction='none'``.
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self._register_weight("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(
            as_tensor(input), as_tensor(target), weight=self.weight,
            ignore_index=self.ignore_index, reduction=self.reduction,
        )  # fmt: skip


class MSELoss(_Loss):
    """Mean squared error ``mean((input − target)²)``.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        input and target of the same shape; output scalar (or that shape with ``'none'``).
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.mse_loss(x, t, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on raw logits (sigmoid fused in, stably).

    Args:
        weight: optional rescaling weight broadcastable to the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: optional weight of positive examples, per class (broadcastable).

    Shape:
        input and target (probabilities in [0, 1]) of the same shape; output scalar
        (or that shape with ``'none'``).
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self._register_weight("weight", weight)
        self._register_weight("pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.binary_cross_entropy_with_logits(
            x, t, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class L1Loss(_Loss):
    """Mean absolute error ``mean(|input − target|)``.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        input and target of the same shape; output scalar (or that shape with ``'none'``).
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.l1_loss(x, t, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1: quadratic for ``|input − target| < beta``, linear beyond (Fast R-CNN).

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        beta: where the quadratic part ends (≥ 0; 0 is L1).

    Shape:
        input and target of the same shape; output scalar (or that shape with ``'none'``).
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.smooth_l1_loss(x, t, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss: ``0.5 d²`` for ``|d| ≤ delta``, ``delta · (|d| − 0.5 delta)`` beyond.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        delta: where the quadratic part ends (> 0).

    Shape:
        input and target of the same shape; output scalar (or that shape with ``'none'``).
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.huber_loss(x, t, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (after a sigmoid); logs clamped at −100.

    Prefer :class:`BCEWithLogitsLoss` on raw logits: it stays exact where the
    sigmoid saturates.

    Args:
        weight: optional rescaling weight broadcastable to the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        input (probabilities) and target (in [0, 1]) of the same shape; output scalar
        (or that shape with ``'none'``).
    """

    def __init__(self, weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction)
        self._register_weight("weight", weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        x, t = self._float_target(input, target)
        return F.binary_cross_entropy(x, t, weight=self.weight, reduction=self.reduction)
