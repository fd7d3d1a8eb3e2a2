"""Input checks and image conversions shared by the figures (NumPy only, no matplotlib).

Every check raises ``ValueError`` naming the function, what it expected and what it
received, in the Keras manner.

>>> batch, rgb = display_images(np.zeros((2, 1, 4, 4), np.float32), "plot_images")
>>> batch.shape, rgb
((2, 4, 4), False)
>>> grid_shape(10, max_cols=4)
(3, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(value: Any, func: str, name: str) -> int:
    """``value`` as an int, or a ValueError saying a positive integer was expected."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{func} expected {name} to be a positive integer; received {value!r}.")
    return int(value)


def numeric_array(value: Any, func: str, name: str) -> np.ndarray:
    """``value`` as a real-valued ndarray (Tensors and lists work), else a ValueError."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists
        raise ValueError(f"{func} expected {name} to be an array; {error}") from None
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if array.dtype.kind not in "iuf":
        raise ValueError(
            f"{func} expected {name} to be a real-valued array; received dtype {array.dtype}."
        )
    return array


def label_array(
    value: Any, func: str, name: str, length: int, num_classes: int | None
) -> np.ndarray:
    """Integer class labels of shape (length,), each in ``[0, num_classes)`` if given."""
    labels = numeric_array(value, func, name)
    if labels.shape != (length,):
        raise ValueError(
            f"{func} expected {name} of shape ({length},), one per image; "
            f"received shape {labels.shape}."
        )
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError(f"{func} expected integer class indices in {name}; received {labels}.")
    labels = labels.astype(np.int64)
    bad = labels < 0
    if num_classes is not None:
        bad |= labels >= num_classes
    if bad.any():
        expected = (
            f"non-negative class indices in {name}"
            if num_classes is None
            else f"{name} in [0, {num_classes}) to index the {num_classes} class_names"
        )
        raise ValueError(f"{func} expected {expected}; received {labels[bad][0]}.")
    return labels


def class_names_list(
    value: Sequence[str] | None, func: str, count: int | None = None
) -> list[str] | None:
    """``class_names`` as a list of str, checked to have ``count`` entries if given."""
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(
            f"{func} expected class_names to be a sequence of names; received the string {value!r}."
        )
    names = [str(name) for name in value]
    if count is not None and len(names) != count:
        raise ValueError(
            f"{func} expected {count} class_names, one per class; received {len(names)}."
        )
    return names


def label_text(label: int, class_names: list[str] | None) -> str:
    """The class name of ``label``, or the number itself without names."""
    return class_names[label] if class_names is not None else str(label)


def grid_shape(count: int, max_cols: int) -> tuple[int, int]:
    """(rows, cols) of the smallest grid of at most ``max_cols`` columns holding ``count``."""
    cols = max(1, min(count, max_cols))
    return math.ceil(count / cols), cols


def display_images(images: Any, func: str, name: str = "images") -> tuple[np.ndarray, bool]:
    """A batch of images ready for ``imshow``, and whether it is RGB.

    Accepts (N, H, W), (N, C, H, W) with C in {1, 3} (convscope's NCHW) or (N, H, W, C)
    with C in {1, 3}. Gray images come back as (N, H, W) unchanged; RGB ones as
    (N, H, W, 3) floats in [0, 1]: uint8 is divided by 255, floats already in [0, 1] are
    kept, anything else (normalised data) is min-max scaled per image.

    Shape:
        - images: (N, H, W), (N, C, H, W) or (N, H, W, C)
        - returned: (N, H, W) or (N, H, W, 3)
    """
    array = numeric_array(images, func, name)
    expected = "(N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3"
    if array.ndim == 4 and array.shape[1] in (1, 3):
        array = array.transpose(0, 2, 3, 1)  # (N, H, W, C)
    elif not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] in (1, 3))):
        raise ValueError(f"{func} expected {name} of shape {expected}; received {array.shape}.")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]  # (N, H, W)
    if array.ndim == 3:
        return array, False
    return _rgb_unit_range(array), True


def display_image(image: Any, func: str, name: str = "image") -> tuple[np.ndarray, bool]:
    """One image, (H, W), (C, H, W), (H, W, C) or (1, C, H, W), as :func:`display_images`."""
    array = numeric_array(image, func, name)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{func} expected {name} of shape (H, W), (C, H, W), (H, W, C) or (1, C, H, W); "
            f"received {array.shape}."
        )
    batch, rgb = display_images(array[None], func, name)  # (1, ...)
    return batch[0], rgb


def _rgb_unit_range(rgb: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) as floats in [0, 1], the only float range imshow accepts for RGB."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / np.float32(255)
    out = rgb.astype(np.float32)
    if out.size == 0 or (out.min() >= 0 and out.max() <= 1):
        return out
    low = out.min(axis=(1, 2, 3), keepdims=True)  # (N, 1, 1, 1)
    span = out.max(axis=(1, 2, 3), keepdims=True) - low
    return (out - low) / np.where(span > 0, span, 1).astype(np.float32)


def gray_range(images: np.ndarray) -> tuple[float | None, float | None]:
    """Fixed (vmin, vmax) for gray images in a known range, else (None, None).

    uint8 images use [0, 255] and floats inside [0, 1] use [0, 1], so a dark image stays
    dark; anything else (normalised data) is scaled per image by imshow.
    """
    if images.dtype == np.uint8:
        return 0.0, 255.0
    finite = images[np.isfinite(images)]
    if finite.size and finite.min() >= 0 and finite.max() <= 1:
        return 0.0, 1.0
    return None, None


def finite_abs_max(values: np.ndarray) -> float:
    """max |values| over the finite entries; 1.0 when there are none or all are 0."""
    finite = np.abs(values[np.isfinite(values)])
    peak = float(finite.max()) if finite.size else 0.0
    return peak if peak > 0 else 1.0


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) over the finite entries, widened if equal; (0, 1) when there are none."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)
