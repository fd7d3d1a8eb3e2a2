"""``ImageFolder``: your own images, one sub-folder per class.

::

    root/
      cat/  001.png  002.jpg ...
      dog/  a.jpeg ...

Classes are the sub-folder names, sorted (label i is ``classes[i]``); files are
read in sorted order. Each image is decoded with Pillow (imported only here),
transparent pixels are composited onto white, converted to grayscale ("L") or
RGB, and resized to ``size`` (bilinear, anti-aliased when shrinking). Images are
stored like every other dataset in ``convscope.data``: uint8 (N, C, H, W), C = 1
or 3, converted to float32 in [0, 1] by the loader.

MNIST digits are white on black; a drawing in black ink on white paper should be
loaded with ``invert=True`` to match.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from convscope.data.base import Dataset, Transform
from convscope.data.errors import DatasetError, DatasetNotFoundError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


class ImageFolder(Dataset):
    """A labelled image dataset read from ``root/<class>/<image>`` files.

    Args:
        root: directory with one sub-folder per class.
        size: (H, W) every image is resized to, or one int for a square.
        grayscale: one channel ("L"); else three (RGB).
        on_error: ``"raise"``: an unreadable image raises :class:`DatasetError` naming
            it; ``"skip"``: it is left out, listed in ``.skipped`` and reported in
            one warning.
        invert: store ``255 - pixel`` (dark ink on light paper -> MNIST-like).
        extensions: file name endings read (case-insensitive); other files are ignored.
        transform: batch transform applied after conversion to float32.

    Attributes:
        classes: sorted sub-folder names.
        samples: ``(path, label)`` of every image loaded, in order.
        skipped: ``(path, reason)`` of every file that could not be read.

    Shape:
        ``images``: uint8 (N, 1 or 3, H, W); ``labels``: int64 (N,).

    Raises:
        DatasetNotFoundError: ``root`` is not a directory.
        DatasetError: no class folders or no images; an unreadable image with
            ``on_error="raise"``.
        ImportError: Pillow is not installed.
        ValueError: bad ``size`` or ``on_error``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        size: int | Sequence[int] = (28, 28),
        grayscale: bool = True,
        on_error: str = "raise",
        *,
        invert: bool = False,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transform: Transform | None = None,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(
                f"ImageFolder expected on_error='raise' or 'skip'; received {on_error!r}."
            )
        height, width = _size(size, "ImageFolder")
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"ImageFolder expected a directory with one sub-folder per class; {root} "
                "is not a directory."
            )
        classes = sorted(
            d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
        )
        if not classes:
            raise DatasetError(
                f"{root} has no class sub-folders; expected root/<class>/<image>.png, e.g. "
                f"{root}/cat/001.png."
            )
        endings = tuple(e.lower() for e in extensions)
        files = [
            (path, label)
            for label, name in enumerate(classes)
            for path in sorted((root / name).iterdir())
            if path.is_file()
            and not path.name.startswith(".")
            and path.name.lower().endswith(endings)
        ]
        if not files:
            raise DatasetError(
                f"{root} has class folders {classes} but no images ending in {', '.join(endings)}."
            )
        channels = 1 if grayscale else 3
        images = np.empty((len(files), channels, height, width), np.uint8)
        self.samples: list[tuple[Path, int]] = []
        self.skipped: list[tuple[Path, str]] = []
        for path, label in files:
            try:
                pixels = _read_pixels(path, (height, width), grayscale)
            except DatasetError as err:
                if on_error == "raise":
                    raise DatasetError(
                        f"{err} Use on_error='skip' to leave unreadable files out."
                    ) from None
                self.skipped.append((path, str(err)))
                continue
            images[len(self.samples)] = pixels if grayscale else pixels.transpose(2, 0, 1)
            self.samples.append((path, label))
        if not self.samples:
            raise DatasetError(
                f"{root}: none of the {len(files)} image files could be read; the first: "
                f"{self.skipped[0][1]}"
            )
        if self.skipped:
            shown = "; ".join(str(p) for p, _ in self.skipped[:3])
            more = " ..." if len(self.skipped) > 3 else ""
            warnings.warn(
                f"ImageFolder skipped {len(self.skipped)} unreadable file(s) under {root}: "
                f"{shown}{more} (reasons in .skipped).",
                stacklevel=2,
            )
        images = images[: len(self.samples)]
        if invert:
            np.subtract(255, images, out=images)
        super().__init__(
            images,
            np.array([label for _, label in self.samples], dtype=np.int64),
            classes,
            name=f"imagefolder:{root.name}",
            source=str(root),
            description=f"{len(self.samples)} images from {root}, {len(classes)} classes.",
            transform=transform,
        )


def read_image(
    path: str | os.PathLike,
    size: int | Sequence[int] = (28, 28),
    grayscale: bool = True,
    invert: bool = False,
) -> np.ndarray:
    """One image file as uint8 (C, H, W), prepared exactly as :class:`ImageFolder` does.

    Args:
        path: a PNG/JPEG (any format Pillow reads).
        size: (H, W) to resize to, or one int for a square.
        grayscale: one channel ("L"); else three (RGB).
        invert: return ``255 - pixel`` (dark ink on light paper -> MNIST-like).

    Shape:
        (1, H, W) when grayscale, else (3, H, W). Add a batch axis with ``[None]``.

    Raises:
        DatasetError: the file cannot be read as an image (the message names it).
        ImportError: Pillow is not installed.
    """
    height, width = _size(size, "read_image")
    pixels = _read_pixels(Path(path), (height, width), grayscale)
    image = pixels[None] if grayscale else pixels.transpose(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    return 255 - image if invert else image


def _size(size: int | Sequence[int], who: str) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if min(height, width) < 1:
        raise ValueError(f"{who} expected a positive size (H, W); received size={size!r}.")
    return int(height), int(width)


def _read_pixels(path: Path, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 pixels of one file; DatasetError naming it if it cannot be read."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Reading images needs Pillow: pip install Pillow") from None
    resample = getattr(Image, "Resampling", Image).BILINEAR
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            image = image.convert("L" if grayscale else "RGB")
            image = image.resize((size[1], size[0]), resample)  # Pillow wants (W, H)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        # OSError covers UnidentifiedImageError and truncated files
        raise DatasetError(f"{path}: cannot read image ({type(err).__name__}: {err}).") from None
