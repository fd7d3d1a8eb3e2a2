"""Record what every layer of a model produces, with forward hooks (no re-implemented forward).

This is how feature maps are shown: run the model once and keep each layer's
output, keyed by the layer's dotted name (as in ``state_dict``).

>>> import numpy as np
>>> from convscope.nn import Conv2d, MaxPool2d, ReLU, Sequential
>>> model = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2))
>>> maps = capture_outputs(model, np.zeros((1, 1, 8, 8), dtype=np.float32))
>>> {name: a.shape for name, a in maps.items()}
{'0': (1, 4, 6, 6), '1': (1, 4, 6, 6), '2': (1, 4, 3, 3)}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from convscope.nn.module import Module
from convscope.tensor import Tensor, no_grad


def _leaf_or_included(model: Module, include: tuple[type, ...] | None) -> list[tuple[str, Module]]:
    """Modules to watch: every leaf (no children), or every module of an ``include`` type."""
    watched = []
    for name, module in model.named_modules():
        if include is None:
            keep = next(module.children(), None) is None
        else:
            keep = isinstance(module, include)
        if keep:
            watched.append((name or type(module).__name__, module))
    return watched


@contextmanager
def _hooked_eval_pass(
    model: Module,
    watched: list[tuple[str, Module]],
    record: Callable[[str, Module, tuple, Any], None],
) -> Iterator[None]:
    """Context in which ``record(name, module, inputs, output)`` runs after each watched
    module's forward, the model is in evaluation mode and no graph is built.

    On exit (also on error) every hook is removed and each module's training flag restored.
    """
    modes = [(m, m.training) for m in model.modules()]
    handles = []
    try:
        for name, module in watched:

            def hook(mod: Module, inputs: tuple, output: Any, name: str = name) -> None:
                record(name, mod, inputs, output)

            handles.append(module.register_forward_hook(hook))
        model.eval()
        with no_grad():
            yield
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            object.__setattr__(module, "training", mode)


def capture_outputs(
    model: Module, x: Any, include: tuple[type, ...] | type | None = None
) -> dict[str, np.ndarray]:
    """Run ``model(x)`` once and return each layer's output, in execution order.

    The pass runs in evaluation mode (Dropout off, BatchNorm on its running
    statistics, which it leaves untouched) without building a graph; the model's
    training flags are restored afterwards and its hooks removed, even on error.

    Args:
        model: any Module.
        x: the input batch (Tensor or NumPy array).
        include: keep only modules of these types (e.g. ``(Conv2d, MaxPool2d)``);
            by default every leaf module (one without children) is kept.

    Returns:
        ``{dotted name: output array}`` in the order the layers ran. A module called
        twice in one pass gets a second entry ``"name#2"``.

    Raises:
        TypeError: ``include`` is not a type or tuple of types.
    """
    if isinstance(include, type):
        include = (include,)
    if include is not None and not (
        isinstance(include, tuple) and all(isinstance(t, type) for t in include)
    ):
        raise TypeError(
            f"capture_outputs expected include to be a module type or a tuple of them, "
            f"e.g. (Conv2d, ReLU); received {include!r}."
        )
    outputs: dict[str, np.ndarray] = {}

    def record(name: str, module: Module, inputs: tuple, output: Any) -> None:
        key, calls = name, 1
        while key in outputs:
            calls += 1
            key = f"{name}#{calls}"
        outputs[key] = output.data if isinstance(output, Tensor) else np.asarray(output)

    with _hooked_eval_pass(model, _leaf_or_included(model, include), record):
        model(x)
    return outputs
