"""Batch transforms: each takes an (N, C, H, W) array and returns a new one.

They are vectorized over the batch (no per-image Python loop), never modify
their input, and compose with :class:`Compose`. The random ones draw from
:func:`convscope.random.generator` at call time, so ``convscope.manual_seed``
makes them reproducible and a resumed training run repeats them exactly.

:class:`~convscope.data.DataLoader` converts every batch to float32 in [0, 1]
(uint8 / 255) *before* applying transforms, so in a loader you never need
:class:`ToFloat`; it is there for using transforms on raw uint8 arrays yourself.
Padding fills with 0 (black): put :class:`RandomShift`/:class:`RandomCrop`
before :class:`Normalize` so the fill is the true background.

>>> import convscope
>>> convscope.manual_seed(0)
>>> augment = Compose([RandomShift(2), RandomHorizontalFlip(), Normalize(0.5, 0.25)])
>>> x = np.zeros((8, 1, 28, 28), np.float32)
>>> augment(x).shape, augment(x).dtype, float(augment(x).min())
((8, 1, 28, 28), dtype('float32'), -2.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from convscope import random as _random
from convscope.arguments import pair


def _check_batch(x: np.ndarray, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"{who} expected a batch of shape (N, C, H, W); received shape {x.shape}. "
            "For a single image, pass image[None]."
        )
    return x


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 in [0, 255] -> float32 in [0, 1]; other dtypes -> float32, values unchanged.

    A float32 input is returned as it is (no copy).

    >>> to_float(np.array([0, 51, 255], np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    x = np.asarray(x)
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out /= np.float32(255.0)
        return out
    return x.astype(np.float32, copy=False)


def pad(x: np.ndarray, padding: int | Sequence[int]) -> np.ndarray:
    """Zero-pad height and width: (N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw)."""
    ph, pw = pair(padding, "padding", minimum=0)
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # np.pad is ~6x slower here
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def crop(x: np.ndarray, top: np.ndarray, left: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Cut a (h, w) window from each image, at its own (top, left) corner.

    Args:
        x: (N, C, H, W).
        top, left: (N,) integer corners with ``0 <= top <= H - h``, ``0 <= left <= W - w``.
        size: (h, w).

    Returns:
        (N, C, h, w), a new array.
    """
    x = _check_batch(x, "crop")
    h, w = size
    n, c, height, width = x.shape
    s0, s1, s2, s3 = x.strides
    # every (h, w) window of every image, as a read-only view (what
    # sliding_window_view returns, with less overhead):
    windows = np.lib.stride_tricks.as_strided(
        x, (n, c, height - h + 1, width - w + 1, h, w), (s0, s1, s2, s3, s2, s3), writeable=False
    )  # (N, C, H - h + 1, W - w + 1, h, w)
    # the advanced indices on axes 0, 2, 3 are split by a slice, so their
    # broadcast axis (N) comes first: one window per image
    return windows[np.arange(n), :, top, left]  # (N, C, h, w)


def translate(x: np.ndarray, dy: np.ndarray, dx: np.ndarray, max_shift: int) -> np.ndarray:
    """Move image n down by dy[n] and right by dx[n] pixels (negative: up/left), filling with 0.

    Pixel (i, j) lands at (i + dy, j + dx); what leaves the frame is lost.
    ``|dy|, |dx| <= max_shift``. Shape: (N, C, H, W) -> (N, C, H, W).

    >>> x = np.zeros((1, 1, 3, 3), np.float32); x[0, 0, 1, 1] = 1
    >>> translate(x, np.array([1]), np.array([-1]), 1)[0, 0]
    array([[0., 0., 0.],
           [0., 0., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    x = _check_batch(x, "translate")
    m = int(max_shift)
    # padded row r holds original row r - m; output row i must show row i - dy.
    return crop(pad(x, m), m - np.asarray(dy), m - np.asarray(dx), x.shape[2:])


class Compose:
    """Apply transforms in order: ``Compose([a, b])(x) == b(a(x))``."""

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToFloat:
    """uint8 [0, 255] -> float32 [0, 1] (divides by 255); floats are cast to float32 as they are.

    Shape: unchanged.
    """

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return to_float(x)

    def __repr__(self) -> str:
        return "ToFloat()"


class Normalize:
    """Per channel: ``(x - mean[c]) / std[c]``.

    Args:
        mean, std: one value per channel, or one value for all channels. Compute
            them on the training split with :func:`compute_mean_std`.

    Shape: (N, C, H, W) -> (N, C, H, W) float32.

    Raises:
        ValueError: a std <= 0, or C does not match the number of values.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(
                "Normalize expected mean and std with one value per channel (same length); "
                f"received mean={mean!r}, std={std!r}."
            )
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize expected std > 0; received std={std!r}.")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_batch(x, "Normalize")
        if len(self.mean) not in (1, x.shape[1]):
            raise ValueError(
                f"Normalize has {len(self.mean)} channel values; received a batch with "
                f"{x.shape[1]} channels, shape {x.shape}."
            )
        mean = self.mean.reshape(1, -1, 1, 1)  # (1, C, 1, 1)
        std = self.std.reshape(1, -1, 1, 1)
        return ((to_float(x) - mean) / std).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomShift:
    """Translate each image by its own random (dy, dx), each uniform in [-max_shift, max_shift].

    Implemented as zero-padding by ``max_shift`` then cropping back to (H, W)
    at a random offset. The vacated border is 0 (black).

    Shape: (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, max_shift: int) -> None:
        if not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift expected max_shift >= 0 (int); received {max_shift!r}.")
        self.max_shift = int(max_shift)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_batch(x, "RandomShift")
        m = self.max_shift
        dy, dx = _random.generator().integers(-m, m + 1, size=(2, len(x)))
        return translate(x, dy, dx, m)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class RandomCrop:
    """Zero-pad by ``padding``, then cut a ``size`` window at a uniformly random position per image.

    Args:
        size: output (h, w), or one int for a square.
        padding: zeros added on each side (int or (ph, pw)) before cropping.

    Shape: (N, C, H, W) -> (N, C, h, w); needs h <= H + 2*ph and w <= W + 2*pw.

    Raises:
        ValueError: the window does not fit in the padded image.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] = 0) -> None:
        self.size = pair(size, "size")
        self.padding = pair(padding, "padding", minimum=0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_batch(x, "RandomCrop")
        (h, w), (ph, pw) = self.size, self.padding
        height, width = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
        if h > height or w > width:
            raise ValueError(
                f"RandomCrop(size={self.size}) does not fit in images of size "
                f"{x.shape[2:]} padded by {self.padding} to ({height}, {width})."
            )
        rng = _random.generator()
        top = rng.integers(0, height - h + 1, size=len(x))
        left = rng.integers(0, width - w + 1, size=len(x))
        return crop(pad(x, self.padding), top, left, (h, w))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p`` (column j -> W - 1 - j).

    Shape: unchanged.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip expected 0 <= p <= 1; received p={p}.")
        self.p = float(p)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_batch(x, "RandomHorizontalFlip")
        flip = _random.generator().random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def compute_mean_std(data, batch_size: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation, in [0, 1] units (uint8 is divided by 255).

    Use it on the *training* split and pass the result to :class:`Normalize`.
    Works through the images in chunks of ``batch_size`` in float64, so it never
    holds a float copy of the whole dataset.

    Args:
        data: a Dataset, an ``(images, labels)`` tuple, or an (N, C, H, W) array.

    Returns:
        ``(mean, std)``, each a tuple of C floats.

    >>> compute_mean_std(np.array([[[[0, 255]]], [[[255, 255]]]], np.uint8))
    ((0.75,), (0.4330127018922193,))
    """
    images = data[0] if isinstance(data, tuple) else getattr(data, "images", data)
    images = _check_batch(images, "compute_mean_std")
    n_channels = images.shape[1]
    mean = np.zeros(n_channels)
    m2 = np.zeros(n_channels)  # Σ (x − mean)² so far
    count = 0
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size].astype(np.float64)
        if images.dtype == np.uint8:
            chunk /= 255.0  # the same scaling as to_float, in float64
        # Chan et al.'s pairwise update: chunk statistics are centred on the chunk's
        # own mean, so no E[x²] − mean² cancellation (a constant channel has std 0).
        n = chunk.shape[0] * chunk.shape[2] * chunk.shape[3]
        chunk_mean = chunk.mean(axis=(0, 2, 3))
        chunk_m2 = np.square(chunk - chunk_mean[None, :, None, None]).sum(axis=(0, 2, 3))
        delta = chunk_mean - mean
        m2 += chunk_m2 + delta**2 * (count * n / (count + n))
        mean += delta * (n / (count + n))
        count += n
    std = np.sqrt(m2 / count)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)
