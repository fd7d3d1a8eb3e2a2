"""rb-deeplearning-lib's CNN API (0.2.x and 1.0.x), running on convscope.

Code written for rb-deeplearning-lib runs unchanged apart from its import line::

    from convscope.compat.rbdl import *      # was: from rb_deeplearning_lib import *

Same names, parameter order, defaults and shapes as the original; underneath, every
operation is a convscope ``Tensor`` / ``nn.functional`` / ``optim`` call. What the
original did wrong is not reproduced: the images of a batch never mix, every gradient
is correct (checked by finite differences), any depth works, and bad arguments raise
errors that say what was expected. ``docs/rbdl.md`` maps each name to its native
equivalent and lists the measured faults of the original.

>>> import numpy as np
>>> image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1],
...                   [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]])
>>> Convo2D(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]))(image).vals
array([[[4., 3., 4.],
        [2., 4., 3.],
        [2., 3., 4.]]])

The original's recurrent and attention layers are outside this CNN adapter:

>>> from convscope.compat import rbdl
>>> rbdl.FullRNNLayer  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
NotImplementedError: rb-deeplearning-lib's FullRNNLayer is outside ... convscope.nn.Module ...
"""

from __future__ import annotations

from convscope.compat.rbdl.conv import Convo2D, in2col_Convo2D
from convscope.compat.rbdl.layers import Dense, Dropout, Layer, Reshape
from convscope.compat.rbdl.losses import cross_entropy_loss, l1_reg, l2_reg, mse_loss
from convscope.compat.rbdl.model import Model
from convscope.compat.rbdl.optimizers import (
    Optim_AdaGrad,
    Optim_Adam,
    Optim_RMSPropclass,
    Optim_SGD,
    Optim_SGD_Momentum,
    Optimizer,
)
from convscope.compat.rbdl.pooling import AvgPooling, MaxPooling, Pooling
from convscope.compat.rbdl.save_load import getModelSave, modelLoadParams
from convscope.compat.rbdl.sequence import Sequence
from convscope.compat.rbdl.values import Values

__all__ = [
    "AvgPooling",
    "Convo2D",
    "Dense",
    "Dropout",
    "Layer",
    "MaxPooling",
    "Model",
    "Optim_AdaGrad",
    "Optim_Adam",
    "Optim_RMSPropclass",
    "Optim_SGD",
    "Optim_SGD_Momentum",
    "Optimizer",
    "Pooling",
    "Reshape",
    "Sequence",
    "Values",
    "cross_entropy_loss",
    "getModelSave",
    "in2col_Convo2D",
    "l1_reg",
    "l2_reg",
    "modelLoadParams",
    "mse_loss",
]

# The original's names outside the CNN scope, and the convscope way to do the same.
UNSUPPORTED = {
    "FullRNNLayer": "convscope has no recurrent layers; write the recurrence as a "
    "convscope.nn.Module (Linear layers and F.tanh, applied step by step).",
    "Embedding": "convscope has no embedding layer; one-hot encode the tokens and use "
    "convscope.nn.Linear(vocabulary, dims, bias=False).",
    "AttentionHead": "convscope has no attention layers; write one as a convscope.nn.Module "
    "from Linear layers, Tensor @ and F.softmax.",
    "AttentionMultiHead": "convscope has no attention layers; write one as a "
    "convscope.nn.Module from Linear layers, Tensor @ and F.softmax.",
}


def __getattr__(name: str) -> object:
    if name in UNSUPPORTED:
        raise NotImplementedError(
            f"rb-deeplearning-lib's {name} is outside convscope.compat.rbdl, which covers the "
            f"CNN API only. {UNSUPPORTED[name]}"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
