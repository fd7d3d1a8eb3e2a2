"""The one check for int / pair / tuple arguments (kernel sizes, strides, paddings, crops).

Every layer, functional op, scratch loop and transform normalises such arguments here,
so one bad value gives one error everywhere: ``nn.Conv2d(1, 8, 3, stride=1.5)``,
``F.conv2d(x, w, stride=1.5)`` and ``scratch.conv2d_loops(x, w, stride=1.5)`` all raise

    ValueError: Invalid value for argument `stride`. Expected an int >= 1 or a pair of
    them. Received stride=1.5.

It sits at the bottom of the package (NumPy only), below the engine, so that ``data``
can use it without importing ``nn``.

>>> pair(3, "kernel_size")
(3, 3)
>>> int_tuple((1, 2, 3), "kernel_size", length=3)
(1, 2, 3)
>>> pair(1.5, "stride")
Traceback (most recent call last):
    ...
ValueError: Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. Received stride=1.5.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IntTuple = int | Sequence[int]

_GROUP = {1: "", 2: " or a pair of them", 3: " or a triple of them"}


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers; False for bools (``True`` is not a size).

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def int_tuple(value: Any, name: str, length: int = 2, minimum: int = 1) -> tuple[int, ...]:
    """Normalise ``int | (int, …)`` to ``length`` Python ints, each ``>= minimum``.

    Args:
        value: one int used for every dimension, or a tuple/list of ``length`` ints.
        name: the argument's name, used in the error message.
        length: how many ints the result has (2 for ``(height, width)``).
        minimum: smallest allowed value (1 for sizes and strides, 0 for padding).

    Returns:
        A tuple of ``length`` Python ints.

    Raises:
        ValueError: ``value`` is not an int or a sequence of ``length`` ints (floats and
            bools included), or a value is below ``minimum``. One type for every case,
            with one message naming the expectation and the value received.

    >>> int_tuple(0, "padding", minimum=0)
    (0, 0)
    >>> int_tuple((2, 0), "stride")
    Traceback (most recent call last):
        ...
    ValueError: Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. Received stride=(2, 0).
    """  # noqa: E501
    if is_int(value):
        values: tuple = (int(value),) * length
    elif isinstance(value, (tuple, list)) and len(value) == length and all(map(is_int, value)):
        values = tuple(int(v) for v in value)
    else:
        values = ()
    if not values or min(values) < minimum:
        group = _GROUP.get(length, f" or a tuple of {length} of them")
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected an int >= {minimum}{group}. "
            f"Received {name}={value!r}."
        )
    return values


def pair(value: Any, name: str = "value", minimum: int = 1) -> tuple[int, int]:
    """:func:`int_tuple` with ``length=2``: an ``int | (int, int)`` as ``(height, width)``.

    Like PyTorch's ``_pair``, but it checks the values.

    >>> pair((3, 5), "kernel_size")
    (3, 5)
    """
    return int_tuple(value, name, 2, minimum)  # type: ignore[return-value]
