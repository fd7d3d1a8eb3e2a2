"""``Model``: blocks, a loss, a penalty and an optimizer, with the original's training loop.

``train`` keeps the original's bookkeeping exactly: ``train_loss`` gets one
``(epoch + batch / batches, loss)`` entry per batch, ``val_loss`` one ``(epoch, loss)``
entry every ``val_run`` epochs and a last one after training; a second ``train`` call
continues the epoch count. Batches are consecutive slices of the data, visited in a
shuffled order each epoch. Validation runs without building a graph.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as SequenceT
from typing import Any

import numpy as np

from convscope.compat.rbdl.layers import Dropout
from convscope.compat.rbdl.losses import cross_entropy_loss
from convscope.compat.rbdl.optimizers import Optimizer
from convscope.compat.rbdl.sequence import Sequence
from convscope.compat.rbdl.values import Values
from convscope.random import generator
from convscope.tensor import no_grad

LossFn = Callable[[Values, Values], Values]
PenaltyFn = Callable[[Values, Any, float], Values]


def _no_penalty(loss_prev: Values, model: Any, _lambda: float) -> Values:
    return loss_prev


def _data(x: Any) -> Values:
    if isinstance(x, Values):
        x.grad_flag = False
        return x
    return Values(x, grads=False)


class Model:
    """A trainable network of ``blocks``.

    Args:
        blocks: the layers, applied in order (kept as ``self.blocks``, a :class:`Sequence`).
        regu: kept for compatibility; unused (as in the original; pass ``pen_fn`` instead).
        train: kept as ``inTrain``.
        loss_fn: ``loss_fn(y_true, y_pred)``; default :func:`cross_entropy_loss`.
        pen_fn: ``pen_fn(loss, model, _lambda)``, e.g. :func:`l2_reg`; default none.
        optimizer: default :class:`Optimizer` (plain gradient descent).

    >>> from convscope.compat.rbdl import Convo2D, MaxPooling, mse_loss
    >>> model = Model([Convo2D(np.ones((3, 3))), MaxPooling((2, 2))], loss_fn=mse_loss)
    >>> model(np.zeros((5, 5))).shape
    (1, 2, 2)
    """

    def __init__(
        self,
        blocks: SequenceT[Any],
        regu: str = "",
        train: bool = True,
        loss_fn: LossFn | None = None,
        pen_fn: PenaltyFn | None = None,
        optimizer: Optimizer | None = None,
    ):
        self.blocks = Sequence(blocks)
        self.optimizer = Optimizer() if optimizer is None else optimizer
        self.regu = regu
        self.inTrain = train
        self.train_loss: list[tuple[float, np.ndarray]] = []
        self.val_loss: list[tuple[int, np.ndarray]] = []
        self.loss_fn = cross_entropy_loss if loss_fn is None else loss_fn
        self.pen_fn = _no_penalty if pen_fn is None else pen_fn

    def __call__(self, x: Any) -> Values:
        return self.blocks(x if isinstance(x, Values) else Values(x))

    def set_params(self, params: SequenceT[Any]) -> None:
        """Replace all parameters, in ``self.blocks.params()`` order (see ``modelLoadParams``)."""
        self.blocks.set_params(params)

    def _dropout(self, on: bool) -> None:
        for block in self.blocks.arr:
            if isinstance(block, Dropout):
                block.inTrain = on

    def _validation_loss(self, x: Values, y: Values) -> np.ndarray:
        self._dropout(False)
        with no_grad():
            loss = self.loss_fn(y, self(x)).vals
        self._dropout(True)
        return loss

    def _next_epoch(self) -> int:
        return int(self.train_loss[-1][0] + 1) if self.train_loss else 0

    def train(
        self,
        epochs: int,
        x_t: Any,
        y_t: Any,
        x_v: Any,
        y_v: Any,
        l_rate: float = 0.01,
        val_run: int = 1,
        _lambda: float = 0.1,
        batch_size: int | None = None,
        *,
        verbose: int = 1,
    ) -> None:
        """Train for ``epochs`` epochs on ``(x_t, y_t)``, validating on ``(x_v, y_v)``.

        Args:
            epochs: passes over the training data.
            x_t, y_t: training inputs and targets (first axis: examples).
            x_v, y_v: validation inputs and targets.
            l_rate: learning rate given to ``optimizer.step``.
            val_run: validate every ``val_run`` epochs (and once after the last).
            _lambda: the penalty's coefficient, given to ``pen_fn``.
            batch_size: examples per batch; None for the whole set in one batch.
            verbose: 1 prints a line per validation (as the original), 0 prints nothing.

        Raises:
            ValueError: ``epochs < 0``, ``val_run < 1`` or ``batch_size < 1`` (the original
                failed with ZeroDivisionError or looped over nothing).
        """
        for name, value in (("epochs", epochs), ("val_run", val_run), ("batch_size", batch_size)):
            if name == "batch_size" and not value:  # None or 0: the whole set, as the original
                continue
            if not isinstance(value, (int, np.integer)) or value < (0 if name == "epochs" else 1):
                low = 0 if name == "epochs" else 1
                raise ValueError(
                    f"Model.train expected an integer {name} >= {low}; received {name}={value!r}."
                )
        x_trn, y_trn, x_vl, y_vl = (_data(a) for a in (x_t, y_t, x_v, y_v))
        n = len(x_trn)
        batch_size = batch_size or n
        batches = -(-n // batch_size)
        order = np.arange(batches)
        start = self._next_epoch()
        self._dropout(True)
        for i in range(epochs):
            if i % val_run == 0:
                val = self._validation_loss(x_vl, y_vl)
                self.val_loss.append((start + i, val))
                if verbose:
                    last = self.train_loss[-1][1] if self.train_loss else "N/A"
                    print(f"epoch: {i} \t train loss: {last} \t val loss: {val}")
            generator().shuffle(order)
            for b in range(batches):
                rows = slice(order[b] * batch_size, (order[b] + 1) * batch_size)
                loss = self.loss_fn(y_trn[rows], self(x_trn[rows]))
                self.train_loss.append((start + i + 1.0 * b / batches, loss.vals))
                self.pen_fn(loss, self, _lambda).backward()
                self.optimizer.step(self.blocks.params(), l_rate)
        self._dropout(False)
        with no_grad():
            val = self.loss_fn(y_vl, self(x_vl)).vals
        self.val_loss.append((self._next_epoch(), val))
        if verbose:
            print(f"epoch: {epochs} \t loss: {val}")
