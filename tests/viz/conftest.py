"""Shared data for the convscope.viz tests: small seeded arrays and a PNG reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
PIL_Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def history() -> dict[str, list[float]]:
    return {
        "loss": [1.2, 0.8, 0.6, 0.5],
        "val_loss": [1.3, 0.9, 0.85, 0.9],
        "accuracy": [0.55, 0.7, 0.8, 0.85],
        "val_accuracy": [0.5, 0.68, 0.74, 0.73],
        "lr": [0.01, 0.01, 0.005, 0.005],
        "seconds": [2.0, 2.1, 2.0, 1.9],
    }


@pytest.fixture
def outputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What capture_outputs returns for a batch of 2: two spatial layers, two vectors."""
    return {
        "conv1": rng.normal(size=(2, 6, 12, 12)).astype(np.float32),
        "pool1": rng.random((2, 6, 6, 6)).astype(np.float32),
        "flatten": rng.random((2, 216)).astype(np.float32),
        "fc": rng.normal(size=(2, 10)).astype(np.float32),
    }


@pytest.fixture
def read_png():
    """A function reading a PNG's pixels as an (H, W, 3) array, checking it is a PNG."""

    def read(path: Path) -> np.ndarray:
        with PIL_Image.open(path) as image:
            assert image.format == "PNG"
            return np.asarray(image.convert("RGB"))

    return read
