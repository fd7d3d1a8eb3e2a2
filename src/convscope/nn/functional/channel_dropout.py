"""Channel dropout (Tompson et al., 2015), as ``torch.nn.functional.dropout2d``.

Neighbouring pixels of a feature map are strongly correlated, so zeroing single
pixels (ordinary dropout) barely regularises a convolutional layer: the next layer
reads the value from the neighbours. Dropping *whole channels* does. In training
each ``(sample, channel)`` map is zeroed with probability ``p`` and the survivors
are scaled by ``1 / (1 − p)``; in evaluation the input passes through.

>>> import numpy as np
>>> import convscope
>>> convscope.manual_seed(0)
>>> y = dropout2d(np.ones((1, 4, 2, 2), dtype=np.float32), p=0.5).numpy()
>>> sorted(set(y.reshape(4, 4).max(axis=1).tolist()))   # each channel all 0 or all 2
[0.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from convscope.nn.functional.activation import _floating
from convscope.nn.functional.linear import dropout_generator
from convscope.tensor import ArrayLike, Tensor


def dropout2d(input: ArrayLike, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels with probability ``p`` while training.

    Args:
        input: ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) floating-point tensor.
        p: probability of zeroing a channel, in [0, 1].
        training: apply dropout (True) or return the input unchanged (False).

    Shape:
        - input: ``(N, C, H, W)`` or ``(C, H, W)``; output: the same.

    Returns:
        The masked, rescaled tensor (the input itself when not training or ``p == 0``).

    Raises:
        TypeError: non-floating input.
        ValueError: ``p`` outside [0, 1], or input that is not 3-D or 4-D.
    """
    if (
        isinstance(p, bool)
        or not isinstance(p, (int, float, np.floating, np.integer))
        or not (0.0 <= p <= 1.0)
    ):
        raise ValueError(f"dropout2d expected a probability p in [0, 1]; received p={p!r}.")
    x = _floating(input, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d expected input of shape (N, C, H, W) or (C, H, W); received {x.shape}."
        )
    if not training or p == 0:
        return x
    a = x.data
    channels = a.shape[:-2]  # (N, C) or (C,)
    draw_dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float32
    keep = dropout_generator().random(channels, dtype=draw_dtype) >= p  # P(keep) = 1 - p
    scale = a.dtype.type(0.0 if p == 1 else 1.0 / (1.0 - p))
    mask = (keep * scale)[..., None, None]  # (N, C, 1, 1): one draw per channel

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        return (g * mask,)  # the forward mask, reused

    return Tensor.from_op(a * mask, (x,), backward, "dropout2d")
