"""unit_arithmetic: every sum equals the activation the model computed, for every preset layer."""

import numpy as np
import pytest

import convscope
from convscope import explain, nn
from convscope.explain._trace import trace
from convscope.models import build_model


def image(shape=(1, 28, 28), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def with_statistics(model: nn.Module) -> nn.Module:
    """Non-trivial running statistics, so batch norm is not the identity."""
    rng = np.random.default_rng(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean[...] = rng.normal(0, 0.3, m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2, m.running_var.shape)
            m.weight.data[...] = rng.uniform(0.5, 1.5, m.weight.shape)
    return model


def units(shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    if len(shape) == 4:
        _, c, h, w = shape
        return [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)]
    return [(0, 0, 0), (shape[1] - 1, 0, 0)]


def assert_consistent(unit: dict) -> None:
    assert np.isclose(unit["computed"], unit["value"], rtol=1e-5, atol=1e-5), unit["formula"]
    for step in unit.get("followed_by", []):
        assert np.isclose(step["computed"], step["value"], rtol=1e-5, atol=1e-5), step["formula"]


@pytest.mark.parametrize("preset", ["simple", "lenet5", "bn", "allconv"])
def test_every_layer_of_every_preset(preset):
    convscope.manual_seed(0)
    model = with_statistics(build_model(preset))
    x = image()
    rows = {r["name"]: r for r in nn.summary(model, (1, 28, 28)).rows}
    for call in trace(model, x[None]):
        for channel, row, col in units(call.output.shape):
            unit = explain.unit_arithmetic(model, x, call.name, channel, row, col)
            assert_consistent(unit)
            if call.output.ndim == 4 and 0 < row < call.output.shape[2] - 1:
                # Interior units see exactly the receptive field summary() reports.
                assert tuple(unit["receptive_field"]["size"]) == rows[call.name]["receptive_field"]


def test_conv_terms_by_hand_with_stride_padding_dilation_and_groups():
    convscope.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
    x = image((4, 9, 9))
    unit = explain.unit_arithmetic(nn.Sequential(conv), x, "0", channel=4, row=1, col=0)
    padded = np.pad(x[2:4].astype(np.float64), ((0, 0), (2, 2), (2, 2)))  # group 1: channels 2, 3
    window = padded[:, 2:7:2, 0:5:2]  # rows 2·1 + {0, 2, 4}, cols 0 + {0, 2, 4}
    np.testing.assert_allclose(unit["window"], window)
    np.testing.assert_allclose(unit["products"], window * conv.weight.data[4])
    assert unit["previous"]["channels"] == [2, 3]
    assert np.isclose(unit["sum"], (window * conv.weight.data[4]).sum())
    assert np.isclose(unit["pre_activation"], unit["sum"] + conv.bias.data[4])
    assert_consistent(unit)


@pytest.mark.parametrize("padding", [0, 1, "same"])
def test_conv_with_padding_modes(padding):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 4, stride=2, padding=padding), nn.LeakyReLU(0.1))
    x = image((2, 9, 9))
    for call in trace(model, x[None]):
        for unit in units(call.output.shape):
            assert_consistent(explain.unit_arithmetic(model, x, call.name, *unit))


def test_max_pool_winner_and_padding():
    model = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1))
    x = image((1, 6, 6)) - 0.5
    unit = explain.unit_arithmetic(model, x, "0", 0, 0, 0)
    assert np.isneginf(unit["window"][0]).all() and np.isneginf(unit["window"][:, 0]).all()
    r, c = unit["winner"]
    assert unit["window"][r, c] == unit["value"] == x[0, :2, :2].max()
    assert_consistent(unit)


@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("ceil_mode", [True, False])
def test_avg_pool_divisor(include_pad, ceil_mode):
    model = nn.Sequential(nn.AvgPool2d(3, 2, padding=1, ceil_mode=ceil_mode,
                                       count_include_pad=include_pad))  # fmt: skip
    x = image((1, 6, 6))
    for call in trace(model, x[None]):
        for unit in units(call.output.shape):
            assert_consistent(explain.unit_arithmetic(model, x, call.name, *unit))


@pytest.mark.parametrize("between", [[], [nn.Dropout(0.5)], [nn.ReLU(), nn.Dropout(0.2)]])
def test_linear_contributions_and_their_sources(between):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), *between, nn.Linear(2 * 4 * 4, 3))
    x = image((1, 6, 6)) - 0.3
    outputs = nn.capture_outputs(model, x[None])
    conv_out = outputs[str(1 + len(between))].reshape(2, 4, 4)  # the Linear's input, as maps
    unit = explain.unit_arithmetic(model, x, str(2 + len(between)), channel=1)
    assert unit["source_layer"] == "0"
    products = [c["product"] for c in unit["contributions"]]
    assert products == sorted(products, key=abs, reverse=True)
    assert len(products) == explain.unit_arithmetic.__globals__["TOP_CONTRIBUTIONS"]
    for c in unit["contributions"]:
        assert np.isclose(conv_out[tuple(c["source"])], c["input"])
        assert np.isclose(c["weight"], model[-1].weight.data[1, c["index"]])
    assert np.isclose(sum(products) + unit["rest"] + unit["bias"], unit["value"], atol=1e-5)
    assert_consistent(unit)


@pytest.mark.parametrize("final", [nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Sigmoid(), nn.Tanh(),
                                   nn.ELU()])  # fmt: skip
def test_output_layers_and_activations(final):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 4), final)
    x = image((1, 6, 6))
    for feature in range(4):
        unit = explain.unit_arithmetic(model, x, "2", feature)
        assert_consistent(unit)
        assert unit["previous"]["layer"] == "1"


@pytest.mark.parametrize("pool", [nn.AdaptiveAvgPool2d((2, 3)), nn.AdaptiveMaxPool2d(3)])
def test_adaptive_pooling_windows(pool):
    convscope.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), pool, nn.Flatten(), nn.Linear(2 * pool_cells(pool), 2)
    )
    x = image((1, 9, 7))
    for call in trace(model, x[None]):
        for unit in units(call.output.shape):
            assert_consistent(explain.unit_arithmetic(model, x, call.name, *unit))
    # Adaptive windows over 7 rows into 2: rows 0..3 and 3..6 (as PyTorch), so the second
    # row of units sees conv rows 3..6, i.e. input rows 3..8.
    if isinstance(pool, nn.AdaptiveAvgPool2d):
        unit = explain.unit_arithmetic(model, x, "1", 1, 1, 0)
        assert unit["previous"]["box"] == [3, 0, 7, 2]
        assert unit["receptive_field"]["box"] == [3, 0, 9, 4]


def pool_cells(pool) -> int:
    size = pool.output_size
    return size * size if isinstance(size, int) else size[0] * size[1]


@pytest.mark.parametrize("layer", [nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
                                   nn.Identity(), nn.Dropout2d(0.3)])  # fmt: skip
def test_newer_elementwise_layers(layer):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), layer)
    x = image((1, 6, 6)) - 0.5
    for unit in units((1, 2, 4, 4)):
        assert_consistent(explain.unit_arithmetic(model, x, "1", *unit))


def test_unsupported_layers_and_units_outside_are_named():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    model = nn.Sequential(nn.Conv2d(1, 2, 3), Square())
    x = image((1, 6, 6))
    with pytest.raises(
        ValueError, match="does not know the arithmetic of Square layers; supported"
    ):
        explain.unit_arithmetic(model, x, "1", 0, 0, 0)
    with pytest.raises(
        ValueError, match=r"inside layer '0'.s output of shape \(2, 4, 4\); received"
    ):
        explain.unit_arithmetic(model, x, "0", 2, 0, 0)
    with pytest.raises(ValueError, match=r"received \(channel, row, col\) = \(0, 4, 0\)"):
        explain.unit_arithmetic(model, x, "0", 0, 4, 0)
