"""Per-epoch progress output for ``fit``: a tqdm bar, one plain line, or nothing.

- ``verbose=0``: silent.
- ``verbose=1``: a tqdm bar (images done, ETA, images/s, running loss) when stdout is
  a terminal or a notebook and tqdm is installed; otherwise one plain line per epoch.
- ``verbose=2``: one plain line per epoch, always (logs, CI, redirected output).

tqdm is an optional extra, imported only when a bar is shown.

>>> import io
>>> out = io.StringIO()
>>> bar = EpochProgress(0, 3, total=100, verbose=2, file=out)
>>> bar.update(100, loss=0.5)
>>> bar.close({"loss": 0.5, "accuracy": 0.75, "lr": 0.001, "seconds": 2.0})
>>> out.getvalue().startswith("Epoch 1/3 - 2.0s - ")
True
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def _tqdm_class(file: TextIO) -> Any | None:
    """The tqdm class to draw with, or None for plain lines (no terminal, or no tqdm)."""
    notebook = in_notebook()
    isatty = getattr(file, "isatty", None)
    if not notebook and not (callable(isatty) and isatty()):
        return None
    try:
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def format_logs(logs: Mapping[str, Any]) -> str:
    """``loss: 0.4123 - accuracy: 0.8512 - lr: 0.001`` (``seconds`` is left out).

    >>> format_logs({"loss": 0.41234, "lr": 0.001, "seconds": 3.0})
    'loss: 0.4123 - lr: 0.001'
    """
    parts = []
    for key, value in logs.items():
        if key == "seconds":
            continue
        text = f"{value:.3g}" if key == "lr" else f"{value:.4f}"
        parts.append(f"{key}: {text}")
    return " - ".join(parts)


class EpochProgress:
    """Progress display for one epoch.

    Args:
        epoch: index of the epoch (0-based; shown 1-based).
        epochs: total number of epochs.
        total: images in the epoch, or None when unknown.
        verbose: 0 silent, 1 bar if interactive else a line, 2 a line.
        file: where to write; defaults to ``sys.stdout`` at construction time.

    Raises:
        ValueError: ``verbose`` is not 0, 1 or 2.
    """

    def __init__(
        self,
        epoch: int,
        epochs: int,
        total: int | None,
        verbose: int = 1,
        file: TextIO | None = None,
    ):
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1 or 2; received verbose={verbose!r}.")
        self.verbose = verbose
        self.file = sys.stdout if file is None else file
        self.prefix = f"Epoch {epoch + 1}/{epochs}"
        self.images = 0
        self.loss_sum = 0.0
        self.start = time.perf_counter()
        self.train_seconds: float | None = None
        self.bar = None
        tqdm = _tqdm_class(self.file) if verbose == 1 else None
        if tqdm is not None:
            self.bar = tqdm(
                total=total,
                desc=self.prefix,
                unit="img",
                unit_scale=True,
                file=self.file,
                dynamic_ncols=True,
                leave=True,
            )

    def update(self, images: int, loss: float) -> None:
        """One batch done: ``images`` more seen, with mean loss ``loss`` over them."""
        self.images += images
        self.loss_sum += loss * images
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{self.loss_sum / max(self.images, 1):.4f}", refresh=False)
            self.bar.update(images)

    def end_training(self) -> None:
        """Mark the end of the training batches (throughput excludes validation)."""
        self.train_seconds = time.perf_counter() - self.start

    def close(self, logs: Mapping[str, Any]) -> None:
        """Show the epoch's final numbers and release the bar."""
        if self.verbose == 0:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            return
        seconds = float(logs.get("seconds", time.perf_counter() - self.start))
        train_seconds = self.train_seconds if self.train_seconds is not None else seconds
        rate = self.images / train_seconds if train_seconds > 0 else float("inf")
        line = f"{self.prefix} - {seconds:.1f}s - {rate:,.0f} img/s - {format_logs(logs)}"
        print(line, file=self.file, flush=True)

    def abort(self) -> None:
        """Release the bar without a summary (training raised)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CountProgress:
    """A progress bar over a known number of items (images evaluated or predicted).

    Drawn with tqdm on ``file`` (default stderr, so it never mixes with printed
    results) only when that is a terminal; otherwise silent. Call it with each batch's
    size; :meth:`close` when done (also as a context manager).

    >>> import io
    >>> with CountProgress(10, "predict", file=io.StringIO()) as bar:
    ...     bar(4); bar(6)
    >>> bar.done
    10
    """

    def __init__(self, total: int | None, desc: str, file: TextIO | None = None) -> None:
        self.done = 0
        self.file = sys.stderr if file is None else file
        tqdm = _tqdm_class(self.file)
        self.bar = (
            None
            if tqdm is None
            else tqdm(total=total, desc=desc, unit="img", unit_scale=True, file=self.file)
        )

    def set_total(self, total: int) -> None:
        """The number of items, once known (e.g. after the data is loaded)."""
        if self.bar is not None:
            self.bar.total = int(total)
            self.bar.refresh()

    def __call__(self, n: int) -> None:
        self.done += int(n)
        if self.bar is not None:
            self.bar.update(int(n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> CountProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
