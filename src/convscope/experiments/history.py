"""§9.11 History: LeNet-5 (LeCun et al., 1998), measured on what is available offline.

LeCun et al. report 0.95 % test error for LeNet-5 on the full MNIST (60,000
training, 10,000 test digits, with no distortions). Offline we have the
``mnist-5k`` subset: 4,000 training and 1,000 test digits, so the number measured
here answers a smaller question — what the same architecture reaches with 15×
less training data — and is not a reproduction of the paper's figure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from convscope import nn
from convscope.experiments._common import (
    Result,
    accuracy,
    check_scale,
    fit_quietly,
    images,
    pick,
    seeded,
)
from convscope.models import build_model

PAPER_ERROR = 0.0095  # LeNet-5 on MNIST, LeCun et al. 1998, table in §III.C


@functools.lru_cache(maxsize=2)
def trained_lenet5(scale: str, seed: int = 0) -> tuple[nn.Module, int, int]:
    """The ``lenet5`` preset trained on mnist-5k (cached: §9.6 reuses it).

    Returns:
        ``(model, training images, epochs)``. Callers must not modify the model.
    """
    n, epochs = pick(scale, (None, 12), (600, 2))
    x, y = images("mnist-5k", "train", n, seed)
    seeded(seed)
    model = fit_quietly(build_model("lenet5"), x, y, epochs)
    model.eval()
    return model, len(x), epochs


@dataclass
class LeNetResult(Result):
    train_images: int
    test_images: int
    epochs: int
    parameters: int
    test_error: float
    paper_error: float  # 0.95 % on full MNIST (60k/10k)


def lenet5_baseline(scale: str = "full", seed: int = 0) -> LeNetResult:
    """Train the ``lenet5`` preset on mnist-5k and measure its test error."""
    check_scale(scale, "lenet5_baseline")
    model, n, epochs = trained_lenet5(scale, seed)
    x_test, y_test = images("mnist-5k", "test", None)
    return LeNetResult(
        train_images=n,
        test_images=len(x_test),
        epochs=epochs,
        parameters=model.num_parameters(),
        test_error=1.0 - accuracy(model, x_test, y_test),
        paper_error=PAPER_ERROR,
    )
