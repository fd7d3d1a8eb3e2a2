"""``History``: what ``fit`` returns, one row of numbers per epoch, in Keras's shape.

>>> h = History()
>>> h.append(0, {"loss": 0.9, "accuracy": 0.7, "lr": 0.001, "seconds": 2.5})
>>> h.append(1, {"loss": 0.5, "accuracy": 0.8, "lr": 0.001, "seconds": 2.4})
>>> h.history["loss"], h.epoch
([0.9, 0.5], [0, 1])
>>> History.from_json(h.to_json()).history == h.history
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


class History:
    """Per-epoch training record: ``history.history[key]`` is a list with one value per epoch.

    Keys written by :func:`convscope.train.fit`: ``loss``, ``accuracy`` (and any other
    metric), ``val_loss``, ``val_accuracy`` (with validation data), ``lr`` (learning
    rate used during the epoch) and ``seconds`` (wall time of the epoch, validation
    included).

    Attributes:
        history (dict[str, list[float]]): the values, as in Keras.
        epoch (list[int]): the epoch index (0-based) of each row.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Record one epoch.

        A key that first appears after earlier epochs is back-filled with NaN, and a
        key missing from ``logs`` gets NaN, so every list keeps one value per epoch.

        Args:
            epoch: index of the epoch (0-based).
            logs: metric name to number.

        Raises:
            ValueError: a value is not a real number.
        """
        for key in logs:
            if key not in self.history:
                self.history[key] = [math.nan] * len(self.epoch)
        for key, values in self.history.items():
            value = logs.get(key, math.nan)
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                raise ValueError(
                    f"History values must be numbers; received {key}={value!r}."
                ) from None
        self.epoch.append(int(epoch))

    def __len__(self) -> int:
        return len(self.epoch)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def last(self) -> dict[str, float]:
        """The values of the latest epoch, ``{}`` if none."""
        return {key: values[-1] for key, values in self.history.items()} if self.epoch else {}

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """The epoch with the best ``monitor`` value and that value.

        Args:
            monitor: a key of ``history``.
            mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracies, min otherwise).

        Raises:
            KeyError: ``monitor`` was never recorded.
        """
        if monitor not in self.history:
            raise KeyError(
                f"History has no {monitor!r}; recorded keys: {', '.join(self.history) or 'none'}."
            )
        sign = -1.0 if resolve_mode(mode, monitor) == "max" else 1.0
        values = self.history[monitor]
        candidates = [i for i, v in enumerate(values) if not math.isnan(v)]
        if not candidates:
            raise KeyError(f"History has no finite value of {monitor!r}.")
        i = min(candidates, key=lambda j: sign * values[j])
        return self.epoch[i], values[i]

    def to_dict(self) -> dict[str, Any]:
        """``{"epoch": [...], "history": {...}}``, plain Python (JSON-ready)."""
        return {
            "epoch": list(self.epoch),
            "history": {key: list(values) for key, values in self.history.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a ``History`` from :meth:`to_dict`'s output.

        Raises:
            ValueError: the lists do not all have one value per epoch.
        """
        history = cls()
        history.epoch = [int(e) for e in data.get("epoch", [])]
        for key, values in dict(data.get("history", {})).items():
            values = [float(v) for v in values]
            if len(values) != len(history.epoch):
                raise ValueError(
                    f"History key {key!r} has {len(values)} values for {len(history.epoch)} epochs."
                )
            history.history[str(key)] = values
        return history

    def to_json(self, indent: int | None = None) -> str:
        """JSON text of :meth:`to_dict` (NaN is written as ``NaN``, as Python's json does)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Rebuild a ``History`` from :meth:`to_json`'s output."""
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"


def resolve_mode(mode: str, monitor: str) -> str:
    """``"min"`` or ``"max"``: ``"auto"`` means max for accuracy-like keys, min otherwise.

    Raises:
        ValueError: ``mode`` is not one of ``"auto"``, ``"min"``, ``"max"``.

    >>> resolve_mode("auto", "val_accuracy"), resolve_mode("auto", "val_loss")
    ('max', 'min')
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"`mode` must be 'auto', 'min' or 'max'; received mode={mode!r}.")
    if mode != "auto":
        return mode
    return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
