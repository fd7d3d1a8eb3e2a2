"""Shared fixtures of the ONNX tests: real test images and briefly trained presets."""

import numpy as np
import pytest

import convscope
from convscope import nn, optim
from convscope.data import load_dataset
from convscope.models import PRESETS, build_model
from onnx_helpers import ort_run  # noqa: F401  (used by the tests here)

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def test_images():
    """64 real Fashion-MNIST test images (the 5,000 MNIST digits where it is not installed)."""
    for name in ("fashion-mnist", "mnist-5k"):
        try:
            data = load_dataset(name, "test")
        except Exception:  # noqa: BLE001 - not available on this machine: try the next one
            continue
        return data.images[:64].astype(np.float32) / 255, data.labels[:64]
    pytest.skip("no real test images: run `make test` (installs Fashion-MNIST or mnist-5k)")


def train_briefly(model, images, labels, steps=8):
    """A few Adam steps, so weights and BatchNorm statistics are no longer their defaults."""
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="session")
def trained_presets(test_images):
    images, labels = test_images
    models = {}
    for name in PRESETS:
        convscope.manual_seed(0)
        models[name] = train_briefly(build_model(name), images, labels)
    return models


def report(label, diff):
    """Print the round trip's max abs logit difference (the closing note's figures)."""
    print(f"\n[onnx round trip] {label}: max |Δlogit| = {diff:.3g}")
