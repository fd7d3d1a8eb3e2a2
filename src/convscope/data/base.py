"""``Dataset``: images and labels in memory, as stored, with their provenance.

Conventions, the same for every dataset in ``convscope.data``:

- ``images`` is an (N, C, H, W) **uint8** array in [0, 255], exactly as stored
  (read-only when it comes straight from an IDX file). It is converted to
  float32 in [0, 1] per batch, by :class:`~convscope.data.DataLoader` and by
  ``dataset[i]``, so the full dataset is never held twice (Fashion-MNIST as
  float32 would be 188 MB).
- ``labels`` is an (N,) int64 array of class indices into ``classes``.
- ``name``, ``split`` and ``source`` say what the data is and where it was read
  from; ``description`` is one human sentence (it says so when a dataset is a subset).
- ``transform`` (optional) is a batch transform (see ``convscope.data.transforms``)
  applied after the float conversion, by ``dataset[i]`` and by the loader.

>>> ds = Dataset(np.zeros((4, 1, 2, 2), np.uint8), np.array([0, 1, 1, 0]), ["a", "b"])
>>> len(ds), ds.image_shape, ds.num_classes
(4, (1, 2, 2), 2)
>>> x, y = ds[1]
>>> x.shape, x.dtype, y
((1, 2, 2), dtype('float32'), 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from convscope.data.transforms import to_float

Transform = Callable[[np.ndarray], np.ndarray]


class Dataset:
    """Images (N, C, H, W) and integer labels (N,) with their class names.

    Args:
        images: (N, C, H, W) array; uint8 in [0, 255] for the built-in datasets
            (float arrays are accepted and used as they are).
        labels: (N,) integer class indices in ``[0, len(classes))``.
        classes: class names, index i naming label i.
        name: the dataset's name, e.g. ``"fashion-mnist"``.
        split: ``"train"``, ``"test"`` or None.
        source: where the data was read from (paths or a package).
        description: one sentence for people.
        transform: a batch transform applied after conversion to float32.

    Shape:
        ``dataset[i]`` -> ``(x, y)`` with x float32 (C, H, W), y a Python int;
        ``dataset[a:b]`` or ``dataset[index_array]`` -> x (n, C, H, W), y int64 (n,).

    Raises:
        ValueError: shapes or labels do not fit together.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        *,
        name: str = "arrays",
        split: str | None = None,
        source: str | None = None,
        description: str = "",
        transform: Transform | None = None,
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4:
            raise ValueError(
                f"Dataset '{name}' expected images of shape (N, C, H, W); received shape "
                f"{images.shape}."
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"Dataset '{name}' expected labels of shape ({len(images)},) to match "
                f"{len(images)} images; received shape {labels.shape}."
            )
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"Dataset '{name}' expected integer labels; received dtype {labels.dtype}."
            )
        classes = [str(c) for c in classes]
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"Dataset '{name}' expected labels in [0, {len(classes)}) for {len(classes)} "
                f"classes; received labels from {labels.min()} to {labels.max()}."
            )
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.classes = classes
        self.name = name
        self.split = split
        self.source = source
        self.description = description
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            x, y = self[np.array([index])]
            return x[0], int(y[0])
        x = to_float(self.images[index])
        if self.transform is not None:
            x = self.transform(x)
        return x, self.labels[index]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def targets(self) -> np.ndarray:
        """The labels (torchvision's name for them)."""
        return self.labels

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def class_counts(self) -> np.ndarray:
        """Number of samples of each class, shape (num_classes,)."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def __repr__(self) -> str:
        split = f", split='{self.split}'" if self.split else ""
        source = f", source='{self.source}'" if self.source else ""
        return (
            f"{type(self).__name__}(name='{self.name}'{split}, n={len(self)}, "
            f"image_shape={self.image_shape}, dtype={self.images.dtype}, "
            f"classes={len(self.classes)}{source})"
        )


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-class split of sample indices into (train, test).

    Each class contributes ``round(test_fraction * count)`` samples to the test
    part, chosen by ``np.random.default_rng(seed)`` (a private generator: the
    split never depends on, nor disturbs, ``convscope.random``). Both index arrays
    are sorted.

    >>> tr, te = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, seed=0)
    >>> len(tr), len(te), sorted(np.array([0, 0, 0, 0, 1, 1, 1, 1])[te].tolist())
    (6, 2, [0, 1])
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1); received {test_fraction}.")
    rng = np.random.default_rng(seed)
    test_parts = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = int(round(test_fraction * len(members)))
        test_parts.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test
