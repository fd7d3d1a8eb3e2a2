"""Turn what the page sends — drawn pixels or an uploaded file — into the model's input.

Drawings are prepared the way the MNIST digits were (LeCun et al.): the stroke's
bounding box is scaled, keeping its aspect ratio, to fit a 20×20 box (anti-aliased),
then placed in the 28×28 image so that its centre of mass falls on the centre. For
other input sizes the box is the same share (20/28) of the image's shorter side; for
RGB models the gray drawing is copied to every channel.

>>> canvas = np.zeros((100, 100), np.uint8)
>>> canvas[10:30, 60:88] = 255                     # a bar in the top-right corner
>>> image = drawing_to_input(canvas, (1, 28, 28))
>>> image.shape, image.dtype
((1, 28, 28), dtype('float32'))
>>> [round(float(v), 1) for v in center_of_mass(image[0])]
[13.5, 13.5]
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from convscope.data.folder import read_image
from convscope.data.transforms import to_float

# The largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024


def center_of_mass(plane: np.ndarray) -> tuple[float, float]:
    """(row, col) of the intensity-weighted mean position (the centre for a blank image)."""
    total = float(plane.sum())
    if total == 0:
        return ((plane.shape[0] - 1) / 2, (plane.shape[1] - 1) / 2)
    rows, cols = np.indices(plane.shape)
    return float((rows * plane).sum() / total), float((cols * plane).sum() / total)


def _require_pillow():
    try:
        from PIL import Image
    except ImportError as error:  # pragma: no cover - Pillow is in the extras
        raise ImportError(
            "The explorer reads images with Pillow: `pip install convscope[extras]`."
        ) from error
    return Image


def drawing_to_input(pixels: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """A drawing (H0, W0) uint8, white ink on black, as a float32 (C, H, W) model input.

    Raises:
        ValueError: ``pixels`` is not a 2-D uint8 array.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype != np.uint8 or pixels.size == 0:
        raise ValueError(
            f"Expected the drawing as a non-empty 2-D uint8 array; received {pixels.dtype} "
            f"of shape {pixels.shape}."
        )
    channels, height, width = input_shape
    out = np.zeros((height, width), dtype=np.float32)
    rows, cols = np.nonzero(pixels)
    if len(rows):
        Image = _require_pillow()
        crop = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        box = max(1, round(min(height, width) * 20 / 28))
        scale = box / max(crop.shape)
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        fitted = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS), dtype=np.float32)
        fitted = np.clip(fitted, 0, 255) / 255.0
        com_r, com_c = center_of_mass(fitted)
        top = int(round((height - 1) / 2 - com_r))
        left = int(round((width - 1) / 2 - com_c))
        # Paste, clipped to the image (a very lopsided stroke may not fit once centred).
        t, l = max(top, 0), max(left, 0)
        b = min(top + fitted.shape[0], height)
        r = min(left + fitted.shape[1], width)
        out[t:b, l:r] = fitted[t - top : b - top, l - left : r - left]
    return np.repeat(out[None], channels, axis=0)  # (C, H, W)


def upload_to_input(content: bytes, input_shape: Sequence[int], invert: bool = False) -> np.ndarray:
    """An uploaded image file as a float32 (C, H, W) input, read as ``convscope predict``
    reads files (:func:`convscope.data.read_image`: converted, resized).

    Raises:
        ValueError: the upload is empty, larger than :data:`MAX_UPLOAD_BYTES`, or not
            an image Pillow can read.
    """
    if not content:
        raise ValueError("Expected an image file; received an empty upload.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"Expected an image of at most {MAX_UPLOAD_BYTES // 2**20} MB; received "
            f"{len(content) / 2**20:.1f} MB."
        )
    Image = _require_pillow()
    try:
        with Image.open(io.BytesIO(content)) as probe:
            probe.verify()
    except Exception as error:  # Pillow raises many types for bad files
        raise ValueError(
            "Expected an image file (PNG, JPEG, GIF, BMP, ...); the upload is not an image "
            f"Pillow can read ({type(error).__name__})."
        ) from None
    channels, height, width = input_shape
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(content)
        image = read_image(path, size=(height, width), grayscale=channels == 1, invert=invert)
    return to_float(image)
