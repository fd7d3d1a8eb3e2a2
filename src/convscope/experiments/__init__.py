"""Chapter 9 of *Deep Learning* (Goodfellow, Bengio & Courville, 2016), answered by experiment.

One module per section; one function per experiment. Each takes
``scale="full"`` (the guide's numbers) or ``scale="smoke"`` (seconds, for the
tests), seeds convscope's generator itself (same call, same numbers), and returns
a small dataclass of numbers, with a matplotlib ``figure`` where one helps.
:mod:`convscope.experiments.guide` turns the results into ``docs/chapter9.md``.

>>> from convscope import experiments
>>> experiments.textbook_example().output[0].tolist()
[4.0, 3.0, 4.0]
>>> list(experiments.EXPERIMENTS)[:3]
['textbook_example', 'flipped_kernel_training', 'toeplitz_matrix']
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from convscope.experiments._common import Result
from convscope.experiments.algorithms import efficient_algorithms
from convscope.experiments.convolution import (
    flipped_kernel_training,
    textbook_example,
    toeplitz_matrix,
)
from convscope.experiments.data_types import multichannel, variable_size_inputs
from convscope.experiments.features import random_features
from convscope.experiments.history import lenet5_baseline
from convscope.experiments.motivation import equivariance, parameter_sharing, receptive_fields
from convscope.experiments.neuro import neuroscience
from convscope.experiments.pooling import pooling_invariance, shifted_test_accuracy
from convscope.experiments.prior import strong_prior
from convscope.experiments.structured import class_map
from convscope.experiments.variants import (
    output_sizes,
    stride_as_subsampling,
    three_operations,
    unshared_and_tiled,
)

#: Every experiment, by name, in the chapter's order: ``(section, function)``.
EXPERIMENTS: dict[str, tuple[str, Callable[..., Result]]] = {
    "textbook_example": ("9.1", textbook_example),
    "flipped_kernel_training": ("9.1", flipped_kernel_training),
    "toeplitz_matrix": ("9.1", toeplitz_matrix),
    "receptive_fields": ("9.2", receptive_fields),
    "parameter_sharing": ("9.2", parameter_sharing),
    "equivariance": ("9.2", equivariance),
    "pooling_invariance": ("9.3", pooling_invariance),
    "shifted_test_accuracy": ("9.3", shifted_test_accuracy),
    "strong_prior": ("9.4", strong_prior),
    "output_sizes": ("9.5", output_sizes),
    "stride_as_subsampling": ("9.5", stride_as_subsampling),
    "unshared_and_tiled": ("9.5", unshared_and_tiled),
    "three_operations": ("9.5", three_operations),
    "class_map": ("9.6", class_map),
    "variable_size_inputs": ("9.7", variable_size_inputs),
    "multichannel": ("9.7", multichannel),
    "efficient_algorithms": ("9.8", efficient_algorithms),
    "random_features": ("9.9", random_features),
    "neuroscience": ("9.10", neuroscience),
    "lenet5_baseline": ("9.11", lenet5_baseline),
}


def code_hash() -> str:
    """SHA-256 of this package's source files: the guide records it to prove its origin."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


__all__ = ["EXPERIMENTS", "Result", "code_hash", *[name for name in EXPERIMENTS]]
