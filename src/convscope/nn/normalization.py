"""Batch normalisation layers (Ioffe & Szegedy, 2015): ``BatchNorm1d`` and ``BatchNorm2d``.

In training mode each channel is normalised with the batch's own mean and
variance, and the running estimates (buffers ``running_mean``, ``running_var``,
``num_batches_tracked``) are updated; in evaluation mode the running estimates are
used, so one sample's output no longer depends on the rest of its batch.

>>> import numpy as np
>>> bn = BatchNorm2d(3)
>>> bn
BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
>>> _ = bn(np.random.default_rng(0).normal(5.0, 1.0, (4, 3, 2, 2)).astype(np.float32))
>>> bn.running_mean.round(1), int(bn.num_batches_tracked)
(array([0.5, 0.5, 0.5], dtype=float32), 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.nn._validation import _as_input, _float_dtype, _positive_int, _probability
from convscope.nn.functional.batch_group import current_batch_group_member
from convscope.nn.module import Module
from convscope.nn.parameter import Parameter
from convscope.tensor import Tensor


class _BatchNorm(Module):
    """Shared machinery; subclasses say which input ranks they accept."""

    _ranks: tuple[int, ...] = ()
    _shape_text = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(num_features, name, "num_features")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
            raise ValueError(f"{name} expected eps to be a positive number; received eps={eps!r}.")
        self.eps = eps
        self.momentum = None if momentum is None else _probability(momentum, name, "momentum")
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = _float_dtype(dtype, name)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dtype))  # γ
        else:
            self.register_parameter("weight", None)
        if self.affine and bias:
            self.bias = Parameter(np.zeros(c, dtype=dtype))  # β
        else:
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
            self.register_buffer("running_var", np.ones(c, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forget the running statistics (mean 0, variance 1, no batches seen), in place."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _dtype(self) -> np.dtype | None:
        if self.weight is not None:
            return self.weight.dtype
        return None if self.running_mean is None else self.running_mean.dtype

    def forward(self, x: Any) -> Tensor:
        name = type(self).__name__
        x = _as_input(x, self._dtype(), name)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            expected = self._shape_text.format(c=self.num_features)
            raise ValueError(
                f"{name}(num_features={self.num_features}) expected input of shape "
                f"{expected}; received {x.shape}."
            )
        # As PyTorch: momentum=None means a cumulative average (factor 1/batches seen).
        factor = 0.0 if self.momentum is None else self.momentum
        # Batch statistics in training, or always when no running statistics exist.
        use_batch_stats = self.training or self.running_mean is None
        # Inside data-parallel training this thread holds part of the batch: the
        # statistics are the whole batch's, and rank 0 alone counts and updates.
        group = current_batch_group_member() if use_batch_stats else None
        counts = group is None or group.updates_running_statistics
        if self.training and self.track_running_stats and counts:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            use_batch_stats, factor, self.eps, group,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of feature maps: one mean and variance per channel, taken
    over the batch and all spatial positions.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: weight of each new batch in the running statistics; ``None`` for a
            cumulative average over all batches seen.
        affine: learn a per-channel scale ``weight`` (γ, starts at 1) and shift
            ``bias`` (β, starts at 0).
        track_running_stats: keep running statistics for evaluation; if False the
            batch's statistics are used in evaluation too.
        dtype: parameter and statistic dtype (default float32).
        bias: (keyword only) with ``affine``, also learn the shift β (PyTorch ≥ 2.6).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Raises:
        ValueError: invalid arguments, or input of the wrong shape.
    """

    _ranks = (4,)
    _shape_text = "(N, {c}, H, W)"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of feature vectors (N, C) or sequences (N, C, L): one mean
    and variance per feature, over the batch (and L).

    Args: as :class:`BatchNorm2d`.

    Shape:
        - Input: (N, C) or (N, C, L)
        - Output: same as input.

    Raises:
        ValueError: invalid arguments, or input of the wrong shape.
    """

    _ranks = (2, 3)
    _shape_text = "(N, {c}) or (N, {c}, L)"


def _check_eps(eps: Any, name: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ValueError(f"{name} expected eps to be a positive number; received eps={eps!r}.")
    return eps


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): statistics per sample and group of channels.

    Unlike batch normalisation it does not depend on the other samples of the batch,
    so it works at batch size 1 and behaves the same in training and evaluation.
    It has no running statistics.

    Args:
        num_groups: number of groups the channels split into; must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance.
        affine: learn a per-channel scale ``weight`` (starts at 1) and shift ``bias`` (0).
        dtype: parameter dtype (default float32).
        bias: (keyword only) with ``affine``, also learn the shift.

    Shape:
        - Input: (N, C, *)
        - Output: the same.

    Raises:
        ValueError: invalid arguments, or input whose axis 1 is not C.

    >>> import numpy as np
    >>> GroupNorm(2, 4)
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    >>> GroupNorm(2, 4)(np.ones((1, 4, 3, 3), dtype=np.float32)).shape
    (1, 4, 3, 3)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        self.num_groups = _positive_int(num_groups, "GroupNorm", "num_groups")
        self.num_channels = _positive_int(num_channels, "GroupNorm", "num_channels")
        if self.num_channels % self.num_groups:
            raise ValueError(
                "GroupNorm expected num_channels to be divisible by num_groups; received "
                f"num_channels={num_channels}, num_groups={num_groups}."
            )
        self.eps = _check_eps(eps, "GroupNorm")
        self.affine = bool(affine)
        dtype = _float_dtype(dtype, "GroupNorm")
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.affine and bias:
            self.bias = Parameter(np.zeros(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None if self.weight is None else self.weight.dtype, "GroupNorm")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm(num_channels={self.num_channels}) expected input of shape "
                f"(N, {self.num_channels}, *); received {x.shape}."
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016) over the trailing ``normalized_shape`` axes.

    Args:
        normalized_shape: an int (the last axis) or the tuple of trailing sizes, e.g.
            ``(C, H, W)`` to normalise each sample's whole feature map.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (starts at 1) and ``bias`` (0) of shape
            ``normalized_shape``.
        bias: with ``elementwise_affine``, also learn the shift.
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: the same.

    Raises:
        ValueError: invalid arguments, or input whose trailing axes differ.

    >>> LayerNorm((4, 5))
    LayerNorm((4, 5), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ):
        super().__init__()
        shape = (normalized_shape,) if np.ndim(normalized_shape) == 0 else normalized_shape
        self.normalized_shape = tuple(
            _positive_int(size, "LayerNorm", "normalized_shape") for size in shape
        )
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = _float_dtype(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        x = _as_input(x, None if self.weight is None else self.weight.dtype, "LayerNorm")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
