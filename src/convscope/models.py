"""Ready-made CNNs by name, sized for the input they will see (28×28 grayscale by default).

>>> model = build_model("simple")
>>> model.num_parameters()
34826
>>> build_model("bn", input_shape=(1, 8, 8))[10]        # sized for 8×8 digits
Linear(in_features=256, out_features=128, bias=True)

``simple`` is the two-convolution network used as the project's benchmark (W1),
``lenet5`` is LeCun et al.'s 1998 LeNet-5 in its modern form (ReLU, max pooling),
``bn`` adds batch normalisation and a wider classifier for higher accuracy,
``allconv`` has no fully connected layer at all: strided convolutions and global
average pooling (:class:`~convscope.nn.AdaptiveAvgPool2d`) over per-class maps.
Each preset's first fully connected layer takes as many features as its
convolutional part produces for ``input_shape`` (found by running it once on a zero
image), so presets work on any image size their pooling allows.
A model can also come from a Python file defining ``build_model(num_classes,
in_channels)`` or a module-level ``model`` (see :func:`load_model_file`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from convscope import nn
from convscope.tensor import no_grad

InputShape = tuple[int, int, int]


def flattened_size(features: nn.Module, input_shape: InputShape) -> int:
    """Number of values ``features`` outputs for one image of ``input_shape`` (C, H, W).

    Raises:
        ValueError: the image is too small for the layers (the message says which).
    """
    with no_grad():
        out = features(np.zeros((1, *input_shape), dtype=np.float32))
    return int(np.prod(out.shape[1:]))


def simple(num_classes: int = 10, input_shape: InputShape = (1, 28, 28)) -> nn.Sequential:
    """W1: conv(32)–pool–conv(64)–pool–dropout–linear. 34,826 parameters for 28×28×1 input."""
    features = [
        nn.Conv2d(input_shape[0], 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    ]
    n = flattened_size(nn.Sequential(*features), input_shape)
    return nn.Sequential(*features, nn.Dropout(0.5), nn.Linear(n, num_classes))


def lenet5(num_classes: int = 10, input_shape: InputShape = (1, 28, 28)) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998): conv(6, 5×5)–pool–conv(16, 5×5)–pool–120–84–classes.

    The original took 32×32 inputs; padding 2 on the first convolution gives 28×28
    digits the same geometry. ReLU and max pooling replace the original's scaled
    tanh and trainable sub-sampling, as in most modern re-implementations.
    """
    features = [
        nn.Conv2d(input_shape[0], 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    ]
    return nn.Sequential(
        *features,
        nn.Linear(flattened_size(nn.Sequential(*features), input_shape), 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def bn(num_classes: int = 10, input_shape: InputShape = (1, 28, 28)) -> nn.Sequential:
    """Batch-normalised CNN: two conv–BN–ReLU blocks each followed by pooling, then a classifier.

    Batch normalisation (Ioffe & Szegedy, 2015) lets it train fast at Adam's default
    rate; it aims at ≥ 0.92 test accuracy on Fashion-MNIST.
    """
    features = [
        nn.Conv2d(input_shape[0], 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    ]
    return nn.Sequential(
        *features,
        nn.Dropout(0.25),
        nn.Linear(flattened_size(nn.Sequential(*features), input_shape), 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(128, num_classes),
    )


def allconv(num_classes: int = 10, input_shape: InputShape = (1, 28, 28)) -> nn.Sequential:
    """All-convolutional net: strided convolutions instead of pooling, global average pooling
    instead of a fully connected head (Springenberg et al., 2015; Lin et al., 2013).

    Four 3×3 conv–BN–ReLU blocks (the second and fourth with stride 2, halving the size);
    a 1×1 convolution then gives one feature map per class, and global average pooling
    turns each map into that class's logit, whatever the image size. No Linear layer:
    every weight is a filter. (Flatten only drops the two 1×1 axes.) 44,874 parameters
    for 10 classes.
    """
    c = input_shape[0]
    blocks: list[nn.Module] = []
    for c_in, c_out, stride in ((c, 32, 1), (32, 32, 2), (32, 48, 1), (48, 48, 2)):
        blocks += [
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
        ]
    return nn.Sequential(
        *blocks,
        nn.Conv2d(48, num_classes, 1),  # class-score maps
        nn.AdaptiveAvgPool2d(1),  # (N, classes, 1, 1): each map's mean is its class logit
        nn.Flatten(),  # (N, classes)
    )


PRESETS: dict[str, Callable[..., nn.Module]] = {
    "simple": simple,
    "lenet5": lenet5,
    "bn": bn,
    "allconv": allconv,
}


def build_model(
    name_or_path: str, num_classes: int = 10, input_shape: InputShape = (1, 28, 28)
) -> nn.Module:
    """Build a preset by name (``simple``, ``lenet5``, ``bn``, ``allconv``) or a model file.

    Args:
        name_or_path: preset name, path to a ``.py`` model file, or an ``.onnx`` model
            (built by :func:`convscope.onnx.load`; ``num_classes``/``input_shape`` are
            the graph's own).
        num_classes: outputs of the last layer.
        input_shape: (C, H, W) of the images the model will see.

    Raises:
        ValueError: unknown preset name (and not a ``.py`` path), or a preset that
            cannot take images of ``input_shape`` (too small for its pooling).
    """
    input_shape = tuple(int(n) for n in input_shape)
    if name_or_path in PRESETS:
        try:
            return PRESETS[name_or_path](num_classes=num_classes, input_shape=input_shape)
        except ValueError as error:
            raise ValueError(
                f"Model preset {name_or_path!r} cannot take images of shape {input_shape} "
                f"(C, H, W): {error} Try the 'bn' preset (padded convolutions) or a model file."
            ) from error
    if name_or_path.endswith(".py"):
        return load_model_file(name_or_path, num_classes=num_classes, in_channels=input_shape[0])
    if name_or_path.endswith(".onnx"):  # a model trained elsewhere; its weights come along
        from convscope.onnx import load

        return load(name_or_path)
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
