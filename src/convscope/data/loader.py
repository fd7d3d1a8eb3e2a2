"""``DataLoader``: mini-batches of (x float32 NCHW, y int64) from a Dataset or arrays.

Each batch is assembled with one fancy-indexing gather (a copy of that batch
only, never of the whole dataset), converted to float32 in [0, 1] (uint8 / 255;
float images are cast to float32 unchanged), then passed through the dataset's
``transform`` and the loader's ``transform``, in that order.

Shuffling draws a fresh permutation **at the start of each** ``iter(loader)``,
from :func:`convscope.random.generator` (or the explicit ``generator``). Because
it is drawn when iteration starts, not at the first batch, the state of the
generator at the start of an epoch fully determines that epoch: saving and
restoring ``convscope.get_rng_state()`` between epochs reproduces the run.

>>> import convscope
>>> convscope.manual_seed(0)
>>> images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
>>> loader = DataLoader((images, np.arange(10)), batch_size=4, shuffle=True)
>>> len(loader), [y.tolist() for _, y in loader]
(3, [[4, 6, 2, 7], [3, 5, 9, 0], [8, 1]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from convscope import random as _random
from convscope.data.base import Dataset
from convscope.data.transforms import to_float


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Args:
        data: a :class:`Dataset` (or anything with ``images`` and ``labels``), or an
            ``(images, labels)`` tuple of arrays: images (N, C, H, W) (or (N, H, W),
            seen as one channel), labels (N,) integers.
        batch_size: samples per batch.
        shuffle: visit the samples in a new random order every epoch.
        drop_last: drop the final batch when it is smaller than ``batch_size``.
        transform: batch transform applied to each float32 batch (after the
            dataset's own ``transform``, if it has one).
        generator: an ``np.random.Generator`` for shuffling; by default
            :func:`convscope.random.generator` at the start of each epoch.

    Shape:
        Yields ``(x, y)``: x float32 (B, C, H, W), y int64 (B,), with B = batch_size
        except possibly for the last batch. ``len(loader)`` is the number of batches.

    Raises:
        ValueError: bad batch_size, or images and labels that do not match.
        TypeError: data of another kind, or a generator that is not ``np.random.Generator``.
    """

    def __init__(
        self,
        data,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if (
            not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ValueError(
                "DataLoader expected batch_size to be a positive int; received "
                f"batch_size={batch_size!r}."
            )
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                "DataLoader expected generator to be an np.random.Generator or None; received "
                f"{type(generator).__name__}."
            )
        self.images, self.labels, self.dataset_transform = _unpack(data)
        self.dataset = data
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.generator = generator
        # The sample order of the latest epoch (None without shuffling), so a training
        # loop interrupted mid-epoch can save it and finish that epoch with iter_from.
        self.epoch_order: np.ndarray | None = None

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = None
        if self.shuffle:  # drawn now, when the epoch starts (see the module docstring)
            rng = self.generator if self.generator is not None else _random.generator()
            order = rng.permutation(self.num_samples)
        self.epoch_order = order
        return self._batches(order)

    def iter_from(
        self, order: np.ndarray | None, first_batch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of an epoch in a given sample ``order``, from batch ``first_batch`` on.

        Draws nothing from the random generator: it continues an epoch whose order was
        drawn by ``iter(loader)`` earlier (and saved from :attr:`epoch_order`).

        Raises:
            ValueError: ``order`` is not a permutation of this loader's samples.
        """
        if order is not None:
            order = np.asarray(order)
            if order.shape != (self.num_samples,):
                raise ValueError(
                    f"DataLoader.iter_from expected an order of {self.num_samples} sample "
                    f"indices; received shape {order.shape}. The data changed since it was saved."
                )
        self.epoch_order = order
        return self._batches(order, int(first_batch))

    def _batches(
        self, order: np.ndarray | None, first: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for b in range(first, len(self)):
            start = b * self.batch_size
            index = (
                slice(start, start + self.batch_size)
                if order is None
                else order[start : start + self.batch_size]
            )
            x = to_float(self.images[index])
            if np.may_share_memory(x, self.images):
                x = x.copy()  # float32 arrays passed in: never hand out a view of them
            if self.dataset_transform is not None:
                x = self.dataset_transform(x)
            if self.transform is not None:
                x = self.transform(x)
            yield x, self.labels[index].astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )


def _unpack(data) -> tuple[np.ndarray, np.ndarray, Callable | None]:
    """(images (N, C, H, W), labels (N,), dataset transform or None) without copying."""
    if isinstance(data, Dataset) or (hasattr(data, "images") and hasattr(data, "labels")):
        images, labels, transform = data.images, data.labels, getattr(data, "transform", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = (np.asarray(a) for a in data)
        transform = None
    else:
        raise TypeError(
            "DataLoader expected a Dataset or an (images, labels) tuple of arrays; received "
            f"{type(data).__name__}."
        )
    if images.ndim == 3:
        images = images[:, None]  # (N, H, W) -> (N, 1, H, W), a view
    if images.ndim != 4:
        raise ValueError(
            "DataLoader expected images of shape (N, C, H, W) or (N, H, W); received shape "
            f"{images.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"DataLoader expected labels of shape ({len(images)},) to match {len(images)} images; "
            f"received shape {labels.shape}."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"DataLoader expected integer labels; received dtype {labels.dtype}.")
    return images, labels, transform
