"""Losses and weight penalties, with the original's signatures.

Losses are ``loss_fn(y_true, y_pred)``; penalties are ``pen_fn(loss_prev, model, _lambda)``
and return ``loss_prev`` plus ``_lambda`` times the penalty of every ``Layer``/``Dense``
weight matrix (biases and convolution kernels are not penalised, as in the original;
there the penalties raised ``ValueError`` on any multi-layer ``Dense``).
"""

from __future__ import annotations

from typing import Any

from convscope.compat.rbdl.layers import Dense, Layer
from convscope.compat.rbdl.values import Values
from convscope.optim import l1_penalty, l2_penalty
from convscope.tensor import Tensor


def _as_values(x: Any) -> Values:
    return x if isinstance(x, Values) else Values(x, grads=False)


def cross_entropy_loss(y_true: Any, y_pred: Values) -> Values:
    """``-mean over rows of sum_k y_true[:, k] · log(y_pred[:, k])``.

    ``y_pred`` holds probabilities (e.g. a ``'softmax'`` last layer), ``y_true`` one-hot
    rows. Shape: ``(N, K)`` each; returns a scalar.

    >>> import numpy as np
    >>> y = np.array([[0.0, 1.0]])
    >>> float(cross_entropy_loss(y, Values([[0.5, 0.5]])).vals) == float(np.log(2))
    True
    """
    return -(_as_values(y_true) * _as_values(y_pred).log()).sum(axis=1).mean()


def mse_loss(y_true: Any, y_pred: Values) -> Values:
    """``mean((y_true - y_pred)²)`` over all elements; returns a scalar.

    >>> import numpy as np
    >>> float(mse_loss(np.array([1.0, 3.0]), Values([0.0, 0.0])).vals)
    5.0
    """
    return ((_as_values(y_true) - _as_values(y_pred)) ** 2).mean()


def penalised_weights(model: Any) -> list[Tensor]:
    """The weight matrices of the model's ``Layer`` and ``Dense`` blocks."""
    weights: list[Tensor] = []
    for block in model.blocks.arr:
        layers = block.seq.arr if isinstance(block, Dense) else [block]
        weights.extend(layer.weights.tensor for layer in layers if isinstance(layer, Layer))
    return weights


def _penalised(loss_prev: Values, _lambda: float, penalty: Any, model: Any) -> Values:
    weights = penalised_weights(model)
    if not weights:
        return loss_prev
    return Values(_as_values(loss_prev).tensor + _lambda * penalty(weights))


def l2_reg(loss_prev: Values, model: Any, _lambda: float) -> Values:
    """``loss_prev + _lambda · Σ w²`` over the ``Layer``/``Dense`` weights."""
    return _penalised(loss_prev, _lambda, l2_penalty, model)


def l1_reg(loss_prev: Values, model: Any, _lambda: float) -> Values:
    """``loss_prev + _lambda · Σ |w|`` over the ``Layer``/``Dense`` weights."""
    return _penalised(loss_prev, _lambda, l1_penalty, model)
