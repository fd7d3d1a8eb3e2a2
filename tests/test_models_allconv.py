"""The all-convolutional preset: shape, no Linear head, learns on a small real subset, exports."""

import numpy as np
import pytest

import convscope
from convscope import nn
from convscope.data import load_dataset
from convscope.models import build_model
from convscope.train import evaluate, fit


def _subset():
    for name in ("fashion-mnist", "mnist-5k"):
        try:
            train, test = load_dataset(name, "train"), load_dataset(name, "test")
        except Exception:  # noqa: BLE001 - not on this machine: try the next one
            continue
        return (train.images[:1024], train.labels[:1024]), (test.images[:500], test.labels[:500])
    pytest.skip("no real dataset installed: run `make test`")


def test_allconv_has_no_fully_connected_layer_and_takes_any_size():
    model = build_model("allconv", num_classes=7, input_shape=(3, 32, 32))
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert isinstance(model[-2], nn.AdaptiveAvgPool2d) and model[-2].output_size == 1
    assert model(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 7)
    assert model(np.zeros((2, 3, 20, 44), np.float32)).shape == (2, 7)  # GAP: any size
    assert build_model("allconv").num_parameters() == 44874
    rows = build_model("allconv").summary((1, 28, 28)).rows
    assert [row["type"] for row in rows[-3:]] == ["Conv2d", "AdaptiveAvgPool2d", "Flatten"]
    assert nn.AdaptiveAvgPool2d(1).receptive_field_is_global()  # the table shows "all"


def test_allconv_learns_on_a_small_real_subset():
    convscope.manual_seed(0)
    (x, y), test = _subset()
    model = build_model("allconv")
    before = evaluate(model, test)["accuracy"]
    optimizer = convscope.optim.Adam(model.parameters(), lr=2e-3)
    history = fit(model, (x, y), epochs=3, batch_size=64, optimizer=optimizer, verbose=0)
    after = evaluate(model, test)["accuracy"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after > 0.5 and after > before + 0.3, (before, after)  # chance is 0.1
