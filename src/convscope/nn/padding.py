"""``ZeroPad2d``: surround each feature map with rows and columns of zeros (``F.pad``).

>>> import numpy as np
>>> pad = ZeroPad2d((1, 0, 0, 2))          # (left, right, top, bottom), as PyTorch
>>> pad
ZeroPad2d((1, 0, 0, 2))
>>> pad(np.ones((1, 1, 2, 2), dtype=np.float32)).numpy()[0, 0]
array([[0., 1., 1.],
       [0., 1., 1.],
       [0., 0., 0.],
       [0., 0., 0.]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

from convscope.nn import functional as F
from convscope.nn._validation import _is_int
from convscope.nn.module import Module
from convscope.tensor import Tensor, as_tensor


class ZeroPad2d(Module):
    """Pad the last two axes with zeros: an explicit, possibly asymmetric padding layer.

    Args:
        padding: an int (every side) or ``(left, right, top, bottom)``.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (…, H + top + bottom, W + left + right)

    Raises:
        ValueError: padding that is not a non-negative int or four of them.
    """

    def __init__(self, padding: int | tuple[int, int, int, int]):
        super().__init__()
        sides = (padding,) * 4 if _is_int(padding) else padding
        if (
            not isinstance(sides, (tuple, list))
            or len(sides) != 4
            or not all(_is_int(p) and p >= 0 for p in sides)
        ):
            raise ValueError(
                "ZeroPad2d expected padding to be a non-negative integer or four of them "
                f"(left, right, top, bottom); received padding={padding!r}."
            )
        self.padding = tuple(int(p) for p in sides)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"ZeroPad2d expected input of shape (N, C, H, W) or (C, H, W); received {x.shape}."
            )
        return F.pad(x, self.padding)

    def extra_repr(self) -> str:
        return f"{self.padding}"
