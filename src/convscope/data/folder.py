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

import hashlib
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
        size: (H, W) every image is resized to, or one int for a square; None keeps
            the images' own size, which must then be the same for all of them.
        grayscale: one channel ("L"); False: three (RGB); None: one when every image
            is grayscale (L, 16-bit, gray palette), else three.
        on_error: ``"raise"``: an unreadable image raises :class:`DatasetError` naming
            it; ``"skip"``: it is left out, listed in ``.skipped`` and reported in
            one warning.
        invert: store ``255 - pixel`` (dark ink on light paper -> MNIST-like).
        extensions: file name endings read (case-insensitive); other files are ignored.
        transform: batch transform applied after conversion to float32.

    Attributes:
        classes: sorted names of the sub-folders holding at least one image (empty
            class folders are left out, with a warning: they would be classes
            nothing can be learned about).
        samples: ``(path, label)`` of every image loaded, in order.
        skipped: ``(path, reason)`` of every file that could not be read.
        empty_classes: sub-folders left out because they hold no image.
        fingerprint: ``{"path", "files", "sha256"}``: the root, the number of image
            files and a SHA-256 over their relative paths and bytes, so a run can tell
            when it is evaluated on changed data.

    Shape:
        ``images``: uint8 (N, 1 or 3, H, W); ``labels``: int64 (N,).

    Raises:
        DatasetNotFoundError: ``root`` is not a directory.
        DatasetError: no class folders or no images; images of different sizes with
            ``size=None``; an unreadable image with ``on_error="raise"``.
        ImportError: Pillow is not installed.
        ValueError: bad ``size`` or ``on_error``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        size: int | Sequence[int] | None = (28, 28),
        grayscale: bool | None = True,
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
        target = None if size is None else _size(size, "ImageFolder")
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"ImageFolder expected a directory with one sub-folder per class; {root} "
                "is not a directory."
            )
        folders = sorted(
            d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
        )
        if not folders:
            raise DatasetError(
                f"{root} has no class sub-folders; expected root/<class>/<image>.png, e.g. "
                f"{root}/cat/001.png."
            )
        endings = tuple(e.lower() for e in extensions)
        per_class = {name: image_files(root / name, endings) for name in folders}
        classes = [name for name in folders if per_class[name]]
        self.empty_classes = [name for name in folders if not per_class[name]]
        if not classes:
            raise DatasetError(
                f"{root} has class folders {folders} but no images ending in {', '.join(endings)}."
            )
        if self.empty_classes:
            warnings.warn(
                f"ImageFolder ignored {len(self.empty_classes)} empty class folder(s) under "
                f"{root}: {', '.join(self.empty_classes)} (no image files in them).",
                stacklevel=2,
            )
        files = [(path, label) for label, name in enumerate(classes) for path in per_class[name]]
        self.fingerprint = fingerprint(root, [path for path, _ in files])
        self.samples: list[tuple[Path, int]] = []
        self.skipped: list[tuple[Path, str]] = []
        readable = []
        for path, label in files:
            try:
                readable.append((path, label, probe_image(path)))
            except DatasetError as err:
                if on_error == "raise":
                    raise DatasetError(
                        f"{err} Use on_error='skip' (--skip-errors) to leave unreadable files out."
                    ) from None
                self.skipped.append((path, str(err)))
        if target is None:
            sizes = {(h, w): path for path, _, (h, w, _) in readable}
            if len(sizes) > 1:
                (a, pa), (b, pb) = list(sizes.items())[:2]
                raise DatasetError(
                    f"{root}: images have different sizes ({pa.name}: {a[0]}×{a[1]}, {pb.name}: "
                    f"{b[0]}×{b[1]}); pass a size (--image-size) to resize them all."
                )
            height, width = next(iter(sizes)) if sizes else (1, 1)
        else:
            height, width = target
        if grayscale is None:
            grayscale = all(gray for _, _, (_, _, gray) in readable)
        channels = 1 if grayscale else 3
        images = np.empty((len(readable), channels, height, width), np.uint8)
        for path, label, _ in readable:
            try:
                pixels = _read_pixels(path, (height, width), grayscale)
            except DatasetError as err:
                if on_error == "raise":
                    raise
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


def image_files(folder: Path, endings: Sequence[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """The image files directly in ``folder`` (sorted; hidden files and other endings left out)."""
    endings = tuple(e.lower() for e in endings)
    return [
        path
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".") and path.name.lower().endswith(endings)
    ]


def fingerprint(root: Path, files: Sequence[Path]) -> dict[str, object]:
    """``{"path", "files", "sha256"}`` of a set of files: SHA-256 over relative paths and bytes.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); _ = (root / "a.png").write_bytes(b"x")
    >>> fingerprint(root, [root / "a.png"])["sha256"][:12]
    '40c422a48ad2'
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return {"path": str(root.resolve()), "files": len(files), "sha256": digest.hexdigest()}


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


# Pillow modes of one-channel images, and the largest value of those wider than 8 bits.
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_WIDE_MAX = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535}


def probe_image(path: Path) -> tuple[int, int, bool]:
    """(height, width, is_grayscale) from a file's header, without decoding its pixels.

    Raises:
        DatasetError: the file cannot be read as an image (the message names it).
    """
    Image = _pillow()
    try:
        with Image.open(path) as image:
            width, height = image.size
            gray = image.mode in _GRAY_MODES or (
                image.mode in ("P", "PA") and _gray_palette(image.getpalette() or [])
            )
            return height, width, gray
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DatasetError(f"{path}: cannot read image ({type(err).__name__}: {err}).") from None


def _gray_palette(palette: Sequence[int]) -> bool:
    rgb = np.asarray(palette[: len(palette) // 3 * 3]).reshape(-1, 3)  # (colours, 3)
    return bool((rgb == rgb[:, :1]).all())


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Reading images needs Pillow: pip install Pillow") from None
    return Image


def _to_8bit(image):
    """16-bit and 32-bit images scaled to 8 bits (Pillow's convert("L") would clip them)."""
    Image = _pillow()
    if image.mode not in ("I", "F") and image.mode not in _WIDE_MAX:
        return image
    values = np.asarray(image, dtype=np.float64)
    if image.mode in _WIDE_MAX:
        top = _WIDE_MAX[image.mode]
    elif image.mode == "F":
        top = 1.0 if values.size and values.max() <= 1.0 else 255.0
    else:  # "I": 32-bit integers, in practice a 16-bit PNG
        top = 255 if values.size and values.max() <= 255 else 65535
    scaled = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _read_pixels(path: Path, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 pixels of one file; DatasetError naming it if it cannot be read.

    Transparent pixels are composited onto white; 16-bit images are scaled to 0–255
    (not clipped); palette images go through their palette.
    """
    Image = _pillow()
    resample = getattr(Image, "Resampling", Image).BILINEAR
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            image = _to_8bit(image)
            image = image.convert("L" if grayscale else "RGB")
            if image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), resample)  # Pillow wants (W, H)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        # OSError covers UnidentifiedImageError and truncated files
        raise DatasetError(f"{path}: cannot read image ({type(err).__name__}: {err}).") from None
