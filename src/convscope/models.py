"""Ready-made CNNs for 28×28 grayscale images (MNIST, Fashion-MNIST), by name.

>>> model = build_model("simple")
>>> model.num_parameters()
34826

``simple`` is the two-convolution network used as the project's benchmark (W1),
``lenet5`` is LeCun et al.'s 1998 LeNet-5 in its modern form (ReLU, max pooling),
``bn`` adds batch normalisation and a wider classifier for higher accuracy.
A model can also come from a Python file defining ``build_model(num_classes,
in_channels)`` or a module-level ``model`` (see :func:`load_model_file`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from convscope import nn


def simple(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """W1: conv(32)–pool–conv(64)–pool–dropout–linear. 34,826 parameters for 28×28×1 input."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(64 * 5 * 5, num_classes),
    )


def lenet5(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998): conv(6, 5×5)–pool–conv(16, 5×5)–pool–120–84–classes.

    The original took 32×32 inputs; padding 2 on the first convolution gives 28×28
    digits the same geometry. ReLU and max pooling replace the original's scaled
    tanh and trainable sub-sampling, as in most modern re-implementations.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def bn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """Batch-normalised CNN: two conv–BN–ReLU blocks each followed by pooling, then a classifier.

    Batch normalisation (Ioffe & Szegedy, 2015) lets it train fast at Adam's default
    rate; it aims at ≥ 0.92 test accuracy on Fashion-MNIST.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(64 * 7 * 7, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(128, num_classes),
    )


PRESETS: dict[str, Callable[..., nn.Module]] = {"simple": simple, "lenet5": lenet5, "bn": bn}


def build_model(name_or_path: str, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Build a preset by name (``simple``, ``lenet5``, ``bn``) or load a model file.

    Raises:
        ValueError: unknown preset name (and not an existing ``.py`` file).
    """
    if name_or_path in PRESETS:
        return PRESETS[name_or_path](num_classes=num_classes, in_channels=in_channels)
    if name_or_path.endswith(".py"):
        return load_model_file(name_or_path, num_classes=num_classes, in_channels=in_channels)
    raise ValueError(
        f"Unknown model {name_or_path!r}: expected one of {sorted(PRESETS)} or a path to a "
        "Python file (ending in .py) defining build_model(num_classes, in_channels) or `model`."
    )


def load_model_file(path: str | Path, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Build the model a Python file defines.

    The file defines either ``build_model(num_classes, in_channels) -> nn.Module``
    or a module-level ``model``. It is executed as ordinary Python: load only files
    you trust.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file defines neither, or they do not give an ``nn.Module``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {str(path)!r} does not exist.")
    spec = importlib.util.spec_from_file_location(f"convscope_user_model_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "build_model"):
        model = module.build_model(num_classes=num_classes, in_channels=in_channels)
    elif hasattr(module, "model"):
        model = module.model
    else:
        raise ValueError(
            f"Model file {str(path)!r} must define build_model(num_classes, in_channels) "
            "or a module-level `model`; it defines neither."
        )
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"Model file {str(path)!r} produced {type(model).__name__}; "
            "expected a convscope.nn.Module."
        )
    return model
