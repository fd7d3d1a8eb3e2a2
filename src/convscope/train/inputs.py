"""What ``fit``/``evaluate`` accept, turned into what the loop uses: loaders, losses, metrics.

- data: a ``DataLoader`` (used as it is), a ``Dataset``, or an ``(images, labels)``
  tuple of arrays (both wrapped in a ``DataLoader``), or any iterable of ``(x, y)`` batches;
- loss: a name (``"cross_entropy"``, ...), a function ``loss(output, target)``, or a Module;
- metrics: names (``"accuracy"``) or functions ``metric(y_true, scores) -> float``.

>>> import numpy as np
>>> loader = as_loader((np.zeros((5, 1, 2, 2), np.uint8), np.arange(5)), batch_size=2)
>>> [x.shape for x, _ in loader]
[(2, 1, 2, 2), (2, 1, 2, 2), (1, 1, 2, 2)]
>>> resolve_loss("cross_entropy")[0]
'cross_entropy'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.tensor import Tensor
from convscope.train.metrics import accuracy

LOSSES: dict[str, Callable[..., Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "nll_loss": F.nll_loss,
    "mse_loss": F.mse_loss,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
}
# Keras's names, for readers coming from there.
LOSS_ALIASES = {
    "sparse_categorical_crossentropy": "cross_entropy",
    "crossentropy": "cross_entropy",
    "nll": "nll_loss",
    "mse": "mse_loss",
}
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"accuracy": accuracy}
METRIC_ALIASES = {"acc": "accuracy"}


def as_loader(
    data: Any,
    batch_size: int,
    shuffle: bool = False,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    name: str = "data",
) -> Iterable[tuple[Any, Any]]:
    """A loader of ``(x, y)`` batches for ``data``.

    Args:
        data: a DataLoader or other iterable of batches (returned unchanged), a
            Dataset, or an ``(images, labels)`` tuple.
        batch_size, shuffle, transform: used when a DataLoader is built.
        name: the argument's name, for error messages.

    Raises:
        TypeError: ``data`` is none of these.
        ValueError: a ``transform`` for data that is already a DataLoader.
    """
    # convscope.data sits beside train, not above it: imported here, where it is needed.
    from convscope.data import DataLoader
    from convscope.data.base import Dataset

    if isinstance(data, DataLoader):
        if transform is not None:
            raise ValueError(
                f"`{name}` is a DataLoader, so a transform given here would be ignored; "
                "give it to the DataLoader instead: DataLoader(..., transform=...)."
            )
        return data
    if isinstance(data, Dataset) or (hasattr(data, "images") and hasattr(data, "labels")):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, transform=transform)
    pair = isinstance(data, (tuple, list)) and len(data) == 2
    if pair and (isinstance(data, tuple) or hasattr(data[0], "shape")):
        images = np.asarray(getattr(data[0], "data", data[0]))  # a Tensor's array
        labels = np.asarray(getattr(data[1], "data", data[1]))
        return DataLoader((images, labels), batch_size, shuffle=shuffle, transform=transform)
    if hasattr(data, "__iter__") and not isinstance(data, (str, bytes, np.ndarray, Tensor)):
        return data
    raise TypeError(
        f"`{name}` expected a DataLoader, a Dataset, or an (images, labels) tuple of arrays; "
        f"received {type(data).__name__}."
    )


def num_images(loader: Any) -> int | None:
    """Images per pass over ``loader``, when it can be known without iterating."""
    n = getattr(loader, "num_samples", None)
    if n is None:
        return None
    if getattr(loader, "drop_last", False):
        return (n // loader.batch_size) * loader.batch_size
    return int(n)


def as_batch(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """A loader's batch as ``(input Tensor, target Tensor)`` (no gradients)."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    y = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
    return x, y


def resolve_loss(loss: Any) -> tuple[str, Callable[[Tensor, Tensor], Tensor]]:
    """``(name, loss_fn)`` for a loss name, function or Module.

    Raises:
        ValueError: an unknown loss name.
        TypeError: ``loss`` is not a string or callable.
    """
    if isinstance(loss, str):
        key = LOSS_ALIASES.get(loss, loss)
        if key not in LOSSES:
            raise ValueError(
                f"Unknown loss {loss!r}; expected one of {', '.join(sorted(LOSSES))}, "
                "a function loss(output, target) or a loss Module such as nn.CrossEntropyLoss()."
            )
        return key, LOSSES[key]
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss
    raise TypeError(
        f"`loss` expected a name, a function or a Module; received {type(loss).__name__}."
    )


def resolve_metrics(
    metrics: Sequence[Any] | None,
) -> list[tuple[str, Callable[[np.ndarray, np.ndarray], float]]]:
    """``[(name, metric_fn)]``; each ``metric_fn(y_true, scores)`` returns a per-sample mean.

    Raises:
        ValueError: an unknown metric name, or two metrics with the same name.
        TypeError: an entry that is neither a name nor a function.
    """
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    resolved = []
    for metric in metrics:
        if isinstance(metric, str):
            key = METRIC_ALIASES.get(metric, metric)
            if key not in METRICS:
                raise ValueError(
                    f"Unknown metric {metric!r}; expected one of {', '.join(sorted(METRICS))} "
                    "or a function metric(y_true, scores) -> float."
                )
            resolved.append((key, METRICS[key]))
        elif callable(metric):
            resolved.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise TypeError(
                f"`metrics` entries must be names or functions; received {type(metric).__name__}."
            )
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise ValueError(f"`metrics` has repeated names: {names}.")
    return resolved
