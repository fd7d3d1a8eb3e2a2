"""``Dropout`` (Srivastava et al., 2014; Goodfellow et al. §7.12), a thin wrapper of ``F.dropout``.

In training mode each element is zeroed with probability ``p`` and the survivors
are scaled by ``1 / (1 − p)``; in evaluation mode (``model.eval()``) the input
passes through unchanged.

>>> import numpy as np
>>> drop = Dropout(0.5).eval()
>>> drop(np.ones(4, dtype=np.float32))
Tensor([1., 1., 1., 1.])
"""

from __future__ import annotations

from typing import Any

from convscope.nn import functional as F
from convscope.nn._validation import _probability
from convscope.nn.module import Module
from convscope.tensor import Tensor


class Dropout(Module):
    """Randomly zero elements while training (masks drawn from ``convscope.random``).

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: accepted for code written for PyTorch; convscope never overwrites
            its input, so it changes nothing.

    Shape:
        Any; the output has the input's shape.

    Raises:
        ValueError: ``p`` outside [0, 1].
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _probability(p, "Dropout")
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """Randomly zero whole channels while training (Tompson et al., 2015).

    Each ``(sample, channel)`` feature map is zeroed with probability ``p`` and the
    kept ones are scaled by ``1 / (1 − p)``; in evaluation the input passes through.

    Args:
        p: probability of zeroing a channel, in [0, 1].
        inplace: accepted for PyTorch code; changes nothing.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: the same.

    Raises:
        ValueError: ``p`` outside [0, 1], or input that is not 3-D or 4-D.

    >>> import numpy as np
    >>> Dropout2d(0.3).eval()(np.ones((1, 2, 1, 1), dtype=np.float32)).numpy().ravel()
    array([1., 1.], dtype=float32)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _probability(p, "Dropout2d")
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
