"""``Sequence``: layers applied in order, and the flat parameter list they share.

The parameter order is the original's: each block's ``params()`` in turn, a ``Dense``
contributing ``w1, b1, w2, b2, ...`` and a convolution its kernel. ``getModelSave``
writes this order, ``set_params`` reads it back.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceT
from typing import Any

import numpy as np

from convscope.compat.rbdl.values import Values


def as_parameter(value: Any, shape: tuple[int, ...], owner: str, name: str) -> Values:
    """``value`` as a trainable ``Values`` of exactly ``shape``, or a ValueError saying so."""
    param = value if isinstance(value, Values) else Values(np.asarray(value))
    if param.shape != tuple(shape):
        raise ValueError(
            f"{owner}.set_params expected {name} of shape {tuple(shape)}; received shape "
            f"{param.shape}."
        )
    return param


def block_params(block: Any) -> list[Values]:
    """The parameters of one block, flattened (none for blocks without ``params``)."""
    if not hasattr(block, "params"):
        return []
    group = block.params()
    if isinstance(group, Values):
        return [group]
    flat: list[Values] = []
    for p in group:
        flat.extend(p if isinstance(p, list) else [p])
    return flat


class Sequence:
    """Apply ``arr``'s blocks one after the other.

    Args:
        arr: the blocks (layers, or any callable taking and returning ``Values``).

    >>> from convscope.compat.rbdl import Reshape
    >>> Sequence([Reshape((2, 2)), Reshape((4,))])(Values([1.0, 2.0, 3.0, 4.0])).shape
    (4,)
    """

    def __init__(self, arr: SequenceT[Any]):
        self.arr = arr

    def __call__(self, x: Values) -> Values:
        for block in self.arr:
            x = block(x)
        return x

    def params(self) -> list[Values]:
        """Every block's parameters, in order."""
        return [p for block in self.arr for p in block_params(block)]

    def set_params(self, params: SequenceT[Any]) -> None:
        """Replace the parameters with ``params`` (arrays or ``Values``), in ``params()`` order.

        Raises:
            ValueError: ``params`` has a different number of arrays than the blocks hold,
                or an array of the wrong shape.
        """
        expected = len(self.params())
        if len(params) != expected:
            raise ValueError(
                f"set_params expected {expected} parameter arrays (one per entry of "
                f"params()); received {len(params)}."
            )
        start = 0
        for block in self.arr:
            if not hasattr(block, "params"):
                continue
            group = block.params()
            if isinstance(group, Values):
                block.set_params(params[start])
                start += 1
            else:
                count = len(block_params(block))
                block.set_params(list(params[start : start + count]))
                start += count
