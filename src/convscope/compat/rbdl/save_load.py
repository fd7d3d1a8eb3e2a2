"""``getModelSave`` / ``modelLoadParams``: a model's parameters as nested lists, and back.

The format is the original's: a list with one nested list of floats per parameter, in
``model.blocks.params()`` order (``json.dumps`` writes it as is), so files saved with the
original rb-deeplearning-lib 1.0.x load here and the other way round. Loading only
builds arrays: no code is executed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from convscope.compat.rbdl.values import Values


def getModelSave(model: Any) -> list[Any]:  # noqa: N802 - the original's name
    """Every parameter of ``model`` as a nested list of floats, in ``params()`` order.

    >>> from convscope.compat.rbdl import Convo2D, Model
    >>> getModelSave(Model([Convo2D(np.eye(2))]))
    [[[1.0, 0.0], [0.0, 1.0]]]
    """
    return [p.vals.tolist() for p in model.blocks.params()]


def modelLoadParams(params: Sequence[Any], model: Any) -> Any:  # noqa: N802 - the original's name
    """Set ``model``'s parameters from ``params`` (nested lists, arrays or ``Values``).

    Returns:
        ``model`` itself.

    Raises:
        ValueError: ``params`` does not fit the model (count or shapes).
    """
    arrays = [
        p if isinstance(p, (np.ndarray, Values)) else np.array(p, dtype=float) for p in params
    ]
    model.set_params(arrays)
    return model
