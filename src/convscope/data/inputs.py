"""Images to classify, from the paths a user gives: files, folders, ``.npy`` and IDX arrays.

:class:`Inputs` finds what the paths hold (folders are searched recursively; an IDX
file is recognised by its magic number, whatever its name), counts the images
without reading them, then yields float32 batches one at a time: arrays are
memory-mapped and image files decoded batch by batch, so memory does not grow with
the number of images. Every batch passes :func:`~convscope.data.checks.check_images`
(finite, in range, the model's shape). Image files are converted to the model's
channel count; they are resized only when asked (``resize=True``).

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> np.save(os.path.join(folder, "batch.npy"), np.zeros((5, 1, 4, 4), np.uint8))
>>> inputs = Inputs([folder], (1, 4, 4), batch_size=2)
>>> inputs.total, [(len(names), x.shape) for names, x in inputs.batches()]
(5, [(2, (2, 1, 4, 4)), (2, (2, 1, 4, 4)), (1, (1, 1, 4, 4))])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from convscope.data.checks import check_images
from convscope.data.errors import DatasetError
from convscope.data.folder import probe_image, read_image
from convscope.data.idx import is_idx_file, open_idx
from convscope.data.transforms import to_float

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def is_array_file(path: Path) -> bool:
    """A ``.npy`` file, or an IDX file (by content: its magic number)."""
    return path.suffix.lower() == ".npy" or is_idx_file(path)


def is_input_file(path: Path) -> bool:
    """Files a folder contributes: images and arrays (not READMEs or .DS_Store)."""
    return path.suffix.lower() in IMAGE_SUFFIXES or is_array_file(path)


class Inputs:
    """The images behind a list of paths, read in batches.

    Args:
        paths: files and folders (searched recursively, in sorted order).
        input_shape: (C, H, W) the model takes.
        batch_size: images per yielded batch.
        invert: ``255 - pixel`` for image files (dark ink on light paper).
        resize: resize image files to H×W; otherwise a file of another size is an error.
        skip_errors: leave out files that cannot be read or used (listed in
            ``.skipped``) instead of raising.

    Attributes:
        files: the files found, in order.
        total: the number of images they hold (array rows counted from headers).
        skipped: ``(path, reason)`` of the files left out (filled while iterating).

    Raises:
        FileNotFoundError: a path does not exist.
        ValueError: nothing to read, or (while iterating) an invalid file.
        DatasetError: (while iterating) an unreadable file without ``skip_errors``.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike],
        input_shape: Sequence[int],
        *,
        batch_size: int = 256,
        invert: bool = False,
        resize: bool = False,
        skip_errors: bool = False,
    ) -> None:
        self.input_shape = tuple(int(n) for n in input_shape)
        self.batch_size = int(batch_size)
        self.invert = invert
        self.resize = resize
        self.skip_errors = skip_errors
        self.skipped: list[tuple[Path, str]] = []
        self.files: list[Path] = []
        for item in map(Path, paths):
            if not item.exists():
                raise FileNotFoundError(f"Input {str(item)!r} does not exist.")
            if item.is_dir():
                found = sorted(p for p in item.rglob("*") if p.is_file() and is_input_file(p))
                self.files += [p for p in found if not p.name.startswith(".")]
            else:
                self.files.append(item)
        if not self.files:
            raise ValueError(
                f"No images found in {[str(p) for p in paths]}: expected image files "
                f"({', '.join(IMAGE_SUFFIXES)}), .npy or IDX files."
            )
        self.total = sum(self._count(path) for path in self.files)

    def _count(self, path: Path) -> int:
        if not is_array_file(path):
            return 1
        try:
            shape = _open_array(path).shape
        except (OSError, ValueError, DatasetError):
            return 0  # reported when read
        return 1 if len(shape) == 2 else int(shape[0])

    def batches(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """``(names, images)`` batches: a name per image (``file.npy[3]`` for array rows)
        and float32 (B, C, H, W) in [0, 1]."""
        names: list[str] = []
        pending: list[np.ndarray] = []
        for path in self.files:
            array_file = is_array_file(path)
            try:
                if array_file:
                    array = self._array(path)
                else:
                    image = self._image(path)
            except (DatasetError, ValueError) as error:
                if not self.skip_errors:
                    if isinstance(error, DatasetError):
                        raise DatasetError(f"{error} Pass --skip-errors to leave it out.") from None
                    raise
                self.skipped.append((path, str(error)))
                continue
            if not array_file:
                names.append(str(path))
                pending.append(image)
                if len(pending) == self.batch_size:
                    yield names, to_float(np.stack(pending))
                    names, pending = [], []
                continue
            if pending:  # keep the order of the inputs
                yield names, to_float(np.stack(pending))
                names, pending = [], []
            single = len(array) == 1
            for start in range(0, len(array), self.batch_size):
                chunk = array[start : start + self.batch_size]
                rows = range(start, start + len(chunk))
                yield (
                    [str(path)] if single else [f"{path}[{i}]" for i in rows],
                    to_float(np.asarray(chunk)),
                )
        if pending:
            yield names, to_float(np.stack(pending))

    def _array(self, path: Path) -> np.ndarray:
        array = _open_array(path)
        channels = self.input_shape[0]
        if array.ndim == 3 and channels == 1:
            array = array[:, None]  # (N, H, W) -> (N, 1, H, W)
        elif array.ndim == 2 and channels == 1:
            array = array[None, None]  # one (H, W) image
        check_images(array, str(path), self.input_shape)
        return array

    def _image(self, path: Path) -> np.ndarray:
        channels, height, width = self.input_shape
        if not self.resize:
            h, w, _ = probe_image(path)
            if (h, w) != (height, width):
                raise ValueError(
                    f"{str(path)!r}: expected a {height}×{width} image, as the model was trained "
                    f"on; received {h}×{w}. Pass --resize to resize it."
                )
        return read_image(path, size=(height, width), grayscale=channels == 1, invert=self.invert)


def _open_array(path: Path) -> np.ndarray:
    """A ``.npy`` (memory-mapped, never unpickled) or IDX array."""
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as error:
            raise ValueError(f"{str(path)!r}: not a readable .npy array ({error}).") from None
    return open_idx(path)
