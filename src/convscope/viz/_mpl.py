"""The one place convscope touches matplotlib: lazy import, new figures, atomic saving.

matplotlib is an optional extra, so it is imported inside these functions, never when
``convscope`` is imported.

Figures are made with ``matplotlib.figure.Figure`` directly, not through ``pyplot``, so
no backend is ever chosen or changed for the caller:

- in scripts and CI nothing opens a window or needs a display; saving draws with Agg;
- the figure lives in no global registry: it is freed like any object once unreferenced
  (no "More than 20 figures" warning, nothing to close);
- in Jupyter the returned figure is shown once when a cell ends with it (a pyplot figure
  would be shown twice: once as the cell's value, once by the inline backend).

To open a window from a script instead, hand the figure to pyplot:
``plt.figure(fig); plt.show()`` (matplotlib >= 3.10).

>>> fig = new_figure(2.0, 1.5)
>>> fig.get_size_inches().tolist(), fig.canvas.manager is None
([2.0, 1.5], True)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike


def require_matplotlib() -> Any:
    """Import and return ``matplotlib``, or raise an ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "convscope.viz draws with matplotlib, which is not installed. "
            "Install it with `pip install convscope[extras]` (or `pip install matplotlib`)."
        ) from error
    return matplotlib


def _notebook_shell() -> Any:
    """The running IPython kernel's shell (Jupyter, Colab, VS Code), else None."""
    ipython = sys.modules.get("IPython")  # never import IPython ourselves
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _has_figure_formatter(shell: Any) -> bool:
    from matplotlib.figure import Figure

    display = shell.display_formatter
    formatters = [*display.formatters.values(), display.ipython_display_formatter]
    return any(formatter.for_type(Figure) is not None for formatter in formatters)


def _ensure_notebook_display(shell: Any) -> None:
    """Make sure the kernel renders a returned Figure as an image.

    The inline backend registers IPython's figure formatters when pyplot first loads it.
    A figure made before any pyplot call needs them too, so load the configured backend
    now, as that first call would (skipped if pyplot already has figures: the backend
    is then loaded). If the backend registers nothing (a GUI backend chosen with
    ``%matplotlib qt``), show our figures as PNG.
    """
    if _has_figure_formatter(shell):
        return
    import matplotlib
    import matplotlib.pyplot as plt

    if not plt.get_fignums():
        try:
            plt.switch_backend(matplotlib.get_backend())
        except ImportError:  # a configured backend that cannot load: our figures need none
            pass
    if not _has_figure_formatter(shell):
        from functools import partial

        from IPython.core.pylabtools import print_figure
        from matplotlib.figure import Figure

        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, partial(print_figure, fmt="png", base64=True, bbox_inches="tight"))


def new_figure(width: float, height: float) -> Figure:
    """A new ``Figure`` of ``width`` x ``height`` inches with constrained layout.

    Args:
        width: width in inches.
        height: height in inches.

    Returns:
        A figure not registered with pyplot (see the module docstring).
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    shell = _notebook_shell()
    if shell is not None:
        _ensure_notebook_display(shell)
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: PathLike, dpi: float = 150) -> Path:
    """Write ``fig`` to ``path`` atomically (a temporary file, then ``os.replace``).

    The format follows the file's suffix (``.png``; ``.svg`` and ``.pdf`` work too).
    Missing parent directories are created. The figure stays open and usable.

    Args:
        fig: the figure, e.g. one returned by a ``convscope.viz.plot_*`` function.
        path: where to write it.
        dpi: resolution in dots per inch; the PNG is ``fig.get_size_inches() * dpi`` pixels.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``path`` has no suffix or one matplotlib cannot write, or ``dpi`` is
            not positive.
        TypeError: ``fig`` is not a matplotlib Figure.

    >>> import tempfile
    >>> fig = new_figure(2.0, 1.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_figure(fig, Path(tmp) / "blank.png", dpi=50)
    ...     path.read_bytes()[:4]
    b'\\x89PNG'
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    from convscope.io import atomic_write

    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure expected a matplotlib Figure; received {type(fig).__name__}.")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise ValueError(f"save_figure expected a positive dpi; received dpi={dpi!r}.")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"save_figure expected a file name ending in one of "
            f"{', '.join('.' + f for f in sorted(supported))}; received {str(path)!r}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as file:
        fig.savefig(file, format=fmt, dpi=dpi)
    return path


def finish(fig: Figure, save: PathLike | None) -> Figure:
    """Save ``fig`` to ``save`` when a path is given; return ``fig``."""
    if save is not None:
        save_figure(fig, save)
    return fig
