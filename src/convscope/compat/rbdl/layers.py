"""Fully connected blocks: ``Layer``, ``Dense``, ``Dropout``, ``Reshape``.

Weights are drawn as in the original, uniform in ``rangeW`` (``(lo - hi) * U[0, 1) + hi``),
but from convscope's generator, so :func:`convscope.manual_seed` makes them reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceT
from typing import Any

import numpy as np

from convscope.compat.rbdl.sequence import Sequence, as_parameter
from convscope.compat.rbdl.values import ACTIVATIONS, Values
from convscope.nn import functional as F
from convscope.random import generator


def _uniform(low_high: tuple[float, float], shape: tuple[int, ...]) -> Values:
    low, high = low_high
    return Values((low - high) * generator().random(shape) + high)


def _check_activation(owner: str, name: str, value: str) -> None:
    if value not in ACTIVATIONS:
        raise ValueError(
            f"{owner} expected {name} to be one of {', '.join(map(repr, ACTIVATIONS))} "
            f"('_' for none); received {name}={value!r}."
        )


def _as_values(x: Any) -> Values:
    return x if isinstance(x, Values) else Values(x)


class Layer:
    """``activ(x @ weights + bias)``: one fully connected layer.

    Args:
        input: input features.
        out: output features.
        activ: ``'_'`` (none), ``'relu'``, ``'tanh'``, ``'softmax'``, ``'exp'``, ``'log'``
            or ``'abs'``.
        rangeW: the weights are uniform in this range.
        rangeB: the biases are uniform in this range.

    Shape:
        ``(N, input)`` -> ``(N, out)``; weights ``(input, out)``, bias ``(1, out)``.

    >>> Layer(3, 2, "relu")(Values(np.ones((4, 3)))).shape
    (4, 2)
    """

    def __init__(
        self,
        input: int,
        out: int,
        activ: str = "_",
        rangeW: tuple[float, float] = (-1, 1),
        rangeB: tuple[float, float] = (-1, 1),
    ):
        _check_activation("Layer", "activ", activ)
        self.weights = _uniform(rangeW, (input, out))
        self.bias = _uniform(rangeB, (1, out))
        self.activation = activ

    def __call__(self, x: Any) -> Values:
        x = _as_values(x)
        if x.shape[-1] != self.weights.shape[0]:
            raise ValueError(
                f"Layer({self.weights.shape[0]}, {self.weights.shape[1]}) expected input of "
                f"shape (N, {self.weights.shape[0]}); received {x.shape}."
            )
        y = x @ self.weights + self.bias
        return y if self.activation == "_" else getattr(y, self.activation)()

    def params(self) -> tuple[Values, Values]:
        return self.weights, self.bias

    def set_params(self, params: SequenceT[Any]) -> None:
        w, b = params
        self.weights = as_parameter(w, self.weights.shape, "Layer", "weights")
        self.bias = as_parameter(b, self.bias.shape, "Layer", "bias")


class Dense:
    """``layNum`` fully connected layers: ``inL -> midL -> ... -> midL -> outL``.

    Args:
        layNum: number of layers (``1`` maps ``inL`` straight to ``outL``).
        inL, midL, outL: input, hidden and output features.
        activ: activation of the hidden layers; f_activ: of the last one.
        rangeW, rangeB: uniform ranges of the weights and biases.

    Raises:
        ValueError: ``layNum < 1`` (the original printed a message and built nothing).

    >>> [p.shape for p in Dense(2, 4, 8, 3, activ="relu", f_activ="softmax").params()]
    [(4, 8), (1, 8), (8, 3), (1, 3)]
    """

    def __init__(
        self,
        layNum: int,
        inL: int,
        midL: int,
        outL: int,
        activ: str = "_",
        f_activ: str = "_",
        rangeW: tuple[float, float] = (-0.1, 0.1),
        rangeB: tuple[float, float] = (-0.1, 0.1),
    ):
        if not isinstance(layNum, (int, np.integer)) or layNum < 1:
            raise ValueError(f"Dense expected layNum >= 1 layers; received layNum={layNum!r}.")
        sizes = [inL] + [midL] * (layNum - 1) + [outL]
        activations = [activ] * (layNum - 1) + [f_activ]
        self.seq = Sequence(
            [
                Layer(n_in, n_out, a, rangeW, rangeB)
                for n_in, n_out, a in zip(sizes[:-1], sizes[1:], activations)
            ]
        )

    def __call__(self, x: Any) -> Values:
        return self.seq(_as_values(x))

    def params(self) -> list[Values]:
        return self.seq.params()

    def set_params(self, params: SequenceT[Any]) -> None:
        self.seq.set_params(params)


class Dropout:
    """Zero each input with probability ``chance`` while training, scaling the rest by
    ``1 / (1 - chance)`` (inverted dropout, :func:`convscope.nn.functional.dropout`).

    ``Model.train`` switches ``inTrain`` on for its training batches and off for
    validation; outside it the layer passes its input through. Each element gets its
    own draw (the original drew one mask of ``size`` entries shared by the whole batch).

    Args:
        size: the number of features (the input's last dimension).
        chance: drop probability in [0, 1].
    """

    def __init__(self, size: int, chance: float):
        if not 0.0 <= chance <= 1.0:
            raise ValueError(f"Dropout expected 0 <= chance <= 1; received chance={chance!r}.")
        self.size = size
        self.rate = chance
        self.inTrain = False

    def __call__(self, x: Any) -> Values:
        x = _as_values(x)
        if x.shape[-1] != self.size:
            raise ValueError(
                f"Dropout(size={self.size}) expected inputs whose last dimension is {self.size}; "
                f"received shape {x.shape}."
            )
        if not self.inTrain or self.rate <= 0.0:
            return x
        return Values(F.dropout(x.tensor, p=self.rate, training=True))

    def updateParams(self, l_rate: float) -> None:  # noqa: N802 - the original's name
        """Nothing to update: kept for code that calls it on every block, as the original."""


class Reshape:
    """Reshape to ``shape`` (one entry may be -1, e.g. ``(-1, 28, 28)`` for a batch).

    >>> Reshape((-1, 2, 2))(Values(np.zeros((3, 4)))).shape
    (3, 2, 2)
    """

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def __call__(self, x: Any) -> Values:
        return _as_values(x).reshape(self.shape)
