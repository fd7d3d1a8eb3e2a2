"""``MaxPooling`` and ``AvgPooling`` over each image, via ``F.max_pool2d`` / ``F.avg_pool2d``.

Each image is pooled on its own (the original took each window's maximum or mean over
the whole batch) and the gradients are the true ones: the original's max pooling sent
each window's gradient to a single pixel of the batch, and its backward re-ran the
layers below once per window.
"""

from __future__ import annotations

from typing import Any

from convscope.compat.rbdl.conv import as_images
from convscope.compat.rbdl.values import Values
from convscope.nn import functional as F
from convscope.nn.functional.geometry import pair


class Pooling:
    """Base of the pooling layers: stores ``pool_size`` and ``stride``; passes input through.

    Args:
        pool_size: window ``(PH, PW)`` (an int means a square window).
        stride: step between windows; the original's default is 1 (overlapping windows).
    """

    def __init__(self, pool_size: tuple[int, int] | int, stride: int = 1):
        pair(pool_size, "pool_size")
        pair(stride, "stride")
        self.size = pool_size
        self.stride = stride

    def __call__(self, x: Any) -> Values:
        return x if isinstance(x, Values) else Values(x)

    def _pool(self, x: Any, fn: Any) -> Values:
        images = as_images(x, type(self).__name__)  # (N, 1, H, W)
        ph, pw = pair(self.size, "pool_size")
        if images.shape[2] < ph or images.shape[3] < pw:
            raise ValueError(
                f"{type(self).__name__}(pool_size={self.size!r}) expected images at least "
                f"that large; received shape {tuple(images.shape[2:])}."
            )
        out = fn(images, kernel_size=self.size, stride=self.stride)  # (N, 1, OH, OW)
        return Values(out.reshape(out.shape[0], *out.shape[2:]))  # (N, OH, OW)


class MaxPooling(Pooling):
    """The maximum of each ``pool_size`` window of each image.

    Shape:
        ``(H, W)`` -> ``(1, OH, OW)``; ``(N, H, W)`` -> ``(N, OH, OW)``, with
        ``OH = (H - PH) // stride + 1``.

    >>> import numpy as np
    >>> MaxPooling((2, 2), stride=2)(np.arange(16.0).reshape(4, 4)).vals
    array([[[ 5.,  7.],
            [13., 15.]]])
    """

    def __call__(self, x: Any) -> Values:
        return self._pool(x, F.max_pool2d)


class AvgPooling(Pooling):
    """The mean of each ``pool_size`` window of each image (shapes as :class:`MaxPooling`).

    >>> import numpy as np
    >>> AvgPooling((2, 2), stride=2)(np.arange(16.0).reshape(4, 4)).vals
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """

    def __call__(self, x: Any) -> Values:
        return self._pool(x, F.avg_pool2d)
