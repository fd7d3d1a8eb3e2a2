"""Argument checks shared by the layers, with error messages in the Keras manner.

Every message says which layer complained, what it expected and what it received:
``Conv2d expected in_channels to be a positive integer; received in_channels=0.``

>>> _pair(3, "Conv2d", "kernel_size")
(3, 3)
>>> _pair((1, 2), "Conv2d", "stride")
(1, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.arguments import is_int as _is_int
from convscope.arguments import pair
from convscope.tensor import DEFAULT_DTYPE, Tensor, as_tensor


def _positive_int(value: Any, layer: str, name: str) -> int:
    """``value`` as an int, or a ValueError saying a positive integer was expected."""
    if not _is_int(value) or value < 1:
        raise ValueError(
            f"{layer} expected {name} to be a positive integer; received {name}={value!r}."
        )
    return int(value)


def _pair(value: Any, layer: str, name: str, minimum: int = 1) -> tuple[int, int]:
    """:func:`convscope.arguments.pair`, the one pair check of the library.

    ``layer`` is not part of the message on purpose: the same bad argument gives the
    same error from a layer (``nn.Conv2d``) and from its functional op (``F.conv2d``).
    """
    return pair(value, name, minimum)


def _float_dtype(dtype: Any, layer: str) -> np.dtype:
    """The parameter dtype for ``dtype=`` (None means float32); floating point only."""
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        raise TypeError(
            f"{layer} expected a floating-point dtype such as np.float32 or np.float64; "
            f"received dtype={dtype!r}."
        )
    return resolved


def _probability(value: Any, layer: str, name: str = "p") -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        ok = False
    else:
        ok = 0.0 <= float(value) <= 1.0
    if not ok:
        raise ValueError(
            f"{layer} expected {name} to be a probability between 0 and 1; "
            f"received {name}={value!r}."
        )
    return float(value)


def _as_input(x: Any, dtype: np.dtype | None, layer: str) -> Tensor:
    """Wrap NumPy input as a Tensor and cast floating-point input to the layer's ``dtype``.

    A float64 batch fed to a float32 layer is cast (differentiably) to float32, so
    ``model(np_batch)`` works whatever precision the data was loaded in. Integer
    input (raw uint8 pixels, say) is refused: it usually still needs scaling.
    """
    x = as_tensor(x)
    if dtype is None or x.dtype == dtype:
        return x
    if x.dtype.kind != "f":
        raise TypeError(
            f"{layer} expected floating-point input; received dtype {x.dtype}. "
            f"Convert (and scale) it first, e.g. x.astype(np.float32) / 255 for uint8 pixels."
        )
    return x.astype(dtype)
