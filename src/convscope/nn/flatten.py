"""``Flatten``: merge axes into one, usually to go from feature maps to a ``Linear`` layer.

>>> import numpy as np
>>> Flatten()(np.zeros((8, 64, 5, 5), dtype=np.float32)).shape
(8, 1600)
"""

from __future__ import annotations

from typing import Any

from convscope.nn import functional as F
from convscope.nn._validation import _is_int
from convscope.nn.module import Module
from convscope.tensor import Tensor


class Flatten(Module):
    """Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one.

    Args:
        start_dim: first axis to merge (1 keeps the batch axis).
        end_dim: last axis to merge.

    Shape:
        - Input: (N, C, H, W) with the defaults.
        - Output: (N, C·H·W).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not _is_int(value):
                raise TypeError(f"Flatten expected {name} to be an integer; received {value!r}.")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def receptive_field_is_global(self) -> bool:
        return True  # what follows (Linear) mixes every position

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
