"""Input checks shared by training, evaluation and prediction: what a model may be fed.

Images reach a model as uint8 in [0, 255] or float in [0, 1], shaped (N, C, H, W)
like the images it was trained on. :func:`check_images` refuses anything else with
one message naming the source, what was expected and what was found — NaN or
infinite values, negative or out-of-range pixels, a wrong channel count or size —
instead of letting a prediction silently come out as ``nan`` or nonsense.

>>> check_images(np.zeros((2, 1, 4, 4), np.uint8), "batch.npy", (1, 4, 4))
>>> check_images(np.full((1, 1, 4, 4), np.nan, np.float32), "b.npy")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: 'b.npy': expected finite pixel values; received 16 NaN or infinite values ...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_images(
    images: np.ndarray,
    source: str,
    expected_shape: Sequence[int] | None = None,
    *,
    chunk: int = 4096,
) -> None:
    """Raise ValueError unless ``images`` are valid pixels of the expected shape.

    Args:
        images: (N, C, H, W) array (a memory-mapped file is read in chunks, never whole).
        source: where they came from, for the message (a path).
        expected_shape: (C, H, W) the model takes; None skips the shape check.
        chunk: images checked at a time (bounds memory for huge arrays).

    Raises:
        ValueError: not 4-d, wrong (C, H, W), an unsupported dtype, NaN/inf values,
            negative values, floats above 1 or integers above 255.
    """
    if images.ndim != 4:
        raise ValueError(
            f"{source!r}: expected images of shape (N, C, H, W); received an array of shape "
            f"{images.shape}."
        )
    if expected_shape is not None and tuple(images.shape[1:]) != tuple(expected_shape):
        c, h, w = expected_shape
        got_c, got_h, got_w = images.shape[1:]
        what = (
            f"{got_c} channel(s) where the model takes {c}"
            if got_c != c
            else f"{got_h}×{got_w} images where the model takes {h}×{w}"
        )
        raise ValueError(
            f"{source!r}: expected images of shape {tuple(expected_shape)} (C, H, W), as the "
            f"model was trained on; received shape {tuple(images.shape)}: {what}."
        )
    kind = images.dtype.kind
    if kind == "b" or kind not in "uif":
        raise ValueError(
            f"{source!r}: expected uint8 (0–255) or float (0–1) pixels; received dtype "
            f"{images.dtype}."
        )
    if images.dtype == np.uint8:
        return  # every uint8 value is a valid pixel
    for start in range(0, len(images), chunk):
        part = np.asarray(images[start : start + chunk])
        _check_values(part, source, start)


def _check_values(part: np.ndarray, source: str, offset: int) -> None:
    if part.dtype.kind == "f":
        bad = ~np.isfinite(part)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            first = (first[0] + offset, *first[1:])
            raise ValueError(
                f"{source!r}: expected finite pixel values; received {int(bad.sum())} NaN or "
                f"infinite values (first at index {first})."
            )
    if part.size == 0:
        return
    low, high = part.min(), part.max()
    top = 1.0 if part.dtype.kind == "f" else 255
    if low < 0:
        raise ValueError(
            f"{source!r}: expected pixel values of at least 0; received values down to "
            f"{low:g}. Images are uint8 0–255 or float 0–1."
        )
    if high > top:
        hint = (
            " Divide by 255 first."
            if part.dtype.kind == "f" and high <= 255
            else " Scale the images to 0–255 (uint8) or 0–1 (float)."
        )
        raise ValueError(
            f"{source!r}: expected {'float' if top == 1.0 else 'integer'} pixel values "
            f"{'in [0, 1]' if top == 1.0 else 'in [0, 255]'}; received values up to {high:g}."
            + hint
        )
