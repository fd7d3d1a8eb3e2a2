"""``evaluate``, ``predict``, ``predict_classes``: a trained model on data, batch by batch.

Everything runs in eval mode (Dropout off, BatchNorm on running statistics) under
``no_grad``, one batch at a time, so memory stays bounded whatever the input size;
the model's previous mode is restored afterwards.

>>> import numpy as np
>>> import convscope
>>> from convscope import nn
>>> convscope.manual_seed(0)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
>>> x = np.random.default_rng(0).random((10, 1, 2, 2), dtype=np.float32)
>>> predict(model, x, batch_size=4).shape
(10, 3)
>>> sorted(evaluate(model, (x, np.zeros(10, np.int64))))
['accuracy', 'loss', 'num_samples']
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.tensor import Tensor, no_grad
from convscope.train.inputs import as_batch, as_loader, resolve_loss, resolve_metrics
from convscope.train.metrics import confusion_matrix as _confusion_matrix


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Put ``model`` in eval mode and turn gradients off; restore both on exit."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        if was_training:
            model.train()


def run_validation(
    model: Any,
    loader: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None,
    metrics: Sequence[tuple[str, Callable[[np.ndarray, np.ndarray], float]]],
    keep_outputs: bool = False,
    on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> tuple[dict[str, float], int, np.ndarray | None, np.ndarray | None]:
    """Mean loss and metrics over ``loader`` (each batch weighted by its size).

    Args:
        on_batch: called with ``(labels, outputs)`` of every batch, e.g. to accumulate
            a confusion matrix or drive a progress bar without keeping the outputs.

    Returns:
        ``(logs, num_samples, outputs, labels)``; outputs (N, K) and labels (N,) only
        with ``keep_outputs``, else None.

    Raises:
        ValueError: the loader yields no batch.
    """
    total = 0
    loss_sum = 0.0
    sums = dict.fromkeys((name for name, _ in metrics), 0.0)
    outputs: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    with eval_mode(model):
        for x, y in loader:
            x, y = as_batch(x, y)
            out = model(x)
            n = len(y.data)
            if loss_fn is not None:
                loss_sum += float(loss_fn(out, y).item()) * n
            for name, fn in metrics:
                sums[name] += float(fn(y.data, out.data)) * n
            if keep_outputs:
                outputs.append(out.data)
                labels.append(y.data)
            if on_batch is not None:
                on_batch(y.data, out.data)
            total += n
    if total == 0:
        raise ValueError("Cannot evaluate on empty data: the loader yielded no samples.")
    logs = {} if loss_fn is None else {"loss": loss_sum / total}
    logs.update({name: value / total for name, value in sums.items()})
    if not keep_outputs:
        return logs, total, None, None
    return logs, total, np.concatenate(outputs), np.concatenate(labels)


def evaluate(
    model: Any,
    data: Any,
    *,
    batch_size: int = 256,
    loss: Any = "cross_entropy",
    metrics: Sequence[Any] = ("accuracy",),
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    return_predictions: bool = False,
    return_confusion_matrix: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Loss and metrics of ``model`` on labelled data, one batch at a time.

    Memory does not grow with the number of samples unless ``return_predictions``
    asks for per-sample arrays: the confusion matrix is accumulated batch by batch.

    Args:
        model: a Module.
        data: a DataLoader, a Dataset, or an ``(images, labels)`` tuple.
        batch_size: batch size when a DataLoader is built for ``data``.
        loss: a loss name, function or Module; ``None`` to skip the loss.
        metrics: metric names or functions (see :func:`convscope.train.fit`).
        transform: batch transform (e.g. the normalisation used in training).
        return_predictions: add ``predictions`` (N,) and ``labels`` (N,) arrays.
        return_confusion_matrix: add ``confusion_matrix`` (K, K), K = model outputs.
        progress: called with the number of samples of every batch done.

    Returns:
        ``{"loss": float, "accuracy": float, ..., "num_samples": int}`` and the
        optional arrays.

    Raises:
        ValueError: ``data`` is empty.

    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> result = evaluate(model, (np.zeros((6, 1, 2, 2), np.float32), np.zeros(6, np.int64)),
    ...                   return_confusion_matrix=True)
    >>> result["num_samples"], result["confusion_matrix"].shape
    (6, (2, 2))
    """
    loader = as_loader(data, batch_size, shuffle=False, transform=transform)
    loss_fn = None if loss is None else resolve_loss(loss)[1]
    counts: list[np.ndarray] = []  # the running confusion matrix, grown as classes appear

    def on_batch(labels: np.ndarray, outputs: np.ndarray) -> None:
        if return_confusion_matrix:
            k = max(outputs.shape[1], int(labels.max()) + 1, len(counts[0]) if counts else 0)
            cm = _confusion_matrix(labels, outputs.argmax(axis=1), num_classes=k)
            if counts:
                cm[: len(counts[0]), : len(counts[0])] += counts[0]
                counts[0] = cm
            else:
                counts.append(cm)
        if progress is not None:
            progress(len(labels))

    logs, total, outputs, labels = run_validation(
        model,
        loader,
        loss_fn,
        resolve_metrics(metrics),
        keep_outputs=return_predictions,
        on_batch=on_batch,
    )
    result: dict[str, Any] = {**logs, "num_samples": total}
    if return_predictions:
        result["predictions"] = outputs.argmax(axis=1)
        result["labels"] = labels
    if return_confusion_matrix:
        result["confusion_matrix"] = counts[0]
    return result


def _input_batches(
    x: Any, batch_size: int, transform: Callable[[np.ndarray], np.ndarray] | None
) -> Iterator[np.ndarray]:
    """Float32 input batches from an array, a Tensor, a Dataset or a loader."""
    from convscope.data.transforms import to_float  # see inputs.as_loader on this import

    if isinstance(x, Tensor):
        x = x.data
    if isinstance(x, np.ndarray):
        if x.ndim == 3:
            x = x[:, None]  # (N, H, W) -> (N, 1, H, W), as the DataLoader reads it
        if x.ndim != 4:
            raise ValueError(
                f"predict expected inputs of shape (N, C, H, W) or (N, H, W); received shape "
                f"{x.shape}. For one image use x[None]."
            )
        for start in range(0, len(x), batch_size):
            batch = to_float(x[start : start + batch_size])
            yield batch if transform is None else transform(batch)
        return
    if getattr(x, "shuffle", False):
        raise ValueError(
            "predict received a DataLoader with shuffle=True: its outputs would not line up "
            "with the data. Pass the Dataset, or a DataLoader with shuffle=False."
        )
    for batch in as_loader(x, batch_size, shuffle=False, transform=transform, name="x"):
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def predict(
    model: Any,
    x: Any,
    *,
    batch_size: int = 256,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    logits: bool = False,
) -> np.ndarray:
    """Class probabilities (softmax of the model's outputs) for every input.

    Args:
        model: a Module returning class scores (N, K).
        x: images (N, C, H, W) (uint8 scaled to [0, 1], as by the DataLoader), a
            Tensor, a Dataset or a DataLoader (labels ignored).
        batch_size: images per forward pass; memory use does not grow with N.
        transform: batch transform applied after conversion to float32.
        logits: return the raw outputs instead of probabilities.

    Shape:
        - Output: ``(N, K)``, the model's dtype; rows sum to 1 unless ``logits``.

    Raises:
        ValueError: ``x`` is badly shaped, empty or a shuffling DataLoader;
            ``batch_size`` is not positive.

    >>> import numpy as np
    >>> from convscope import nn
    >>> p = predict(nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), np.zeros((2, 1, 2, 2)))
    >>> p.shape, np.allclose(p.sum(axis=1), 1)
    ((2, 3), True)
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int; received {batch_size!r}.")
    chunks = []
    with eval_mode(model):
        for batch in _input_batches(x, int(batch_size), transform):
            out = model(batch if isinstance(batch, Tensor) else Tensor(batch))
            chunks.append((out if logits else F.softmax(out, dim=1)).data)
    if not chunks:
        raise ValueError("predict received no inputs (N = 0).")
    return np.concatenate(chunks)


def predict_classes(
    model: Any,
    x: Any,
    *,
    batch_size: int = 256,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The most probable class of every input, int64 (N,). Arguments as :func:`predict`.

    >>> import numpy as np
    >>> from convscope import nn
    >>> predict_classes(nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), np.zeros((2, 1, 2, 2))).shape
    (2,)
    """
    scores = predict(model, x, batch_size=batch_size, transform=transform, logits=True)
    return scores.argmax(axis=1).astype(np.int64)
