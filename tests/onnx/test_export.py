"""convscope → ONNX → onnxruntime, and → convscope again: the same logits, for every layer."""

import numpy as np
import pytest
from conftest import ort_run, report

import convscope
from convscope import nn
from convscope.models import PRESETS
from convscope.onnx import EXPORTERS, ONNXExportError, export, load


def _randomize_statistics(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.modules():
        if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            layer.running_mean[...] = rng.normal(0, 0.5, layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 2, layer.num_features)
    return model


def _round_trips(model, x, path, label):
    """Export with a dynamic batch; check onnxruntime and the re-imported model at 1 and 64."""
    export(model, x[:1], path)
    imported = load(path)
    worst = [0.0, 0.0]
    for batch in (x[:1], x):
        expected = model(batch).numpy()
        runtime = ort_run(str(path), batch)
        back = imported(batch).numpy()
        assert runtime.shape == expected.shape == back.shape
        np.testing.assert_allclose(runtime, expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(back, runtime, atol=1e-5, rtol=0)
        worst = [max(worst[0], np.abs(runtime - expected).max()),
                 max(worst[1], np.abs(back - expected).max())]  # fmt: skip
    report(f"{label}: convscope → ONNX → onnxruntime", worst[0])
    report(f"{label}: convscope → ONNX → convscope", worst[1])
    return imported


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_on_real_images(name, trained_presets, test_images, tmp_path):
    images, _ = test_images
    model = trained_presets[name]
    imported = _round_trips(model, images, tmp_path / f"{name}.onnx", name)
    assert imported.num_parameters() == model.num_parameters()
    ours = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    theirs = [v for k, v in imported.state_dict().items() if not k.endswith("num_batches_tracked")]
    for mine, back in zip(ours.values(), theirs, strict=True):
        np.testing.assert_array_equal(mine, back)  # every weight and statistic, bit for bit


def every_layer_model():
    """One model using every layer the exporter supports (the test below checks that)."""
    convscope.manual_seed(0)
    front = [
        nn.Conv2d(1, 8, 3, stride=2, padding="same"),  # TF 'same' at stride 2: asymmetric pads
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.ZeroPad2d((1, 0, 2, 1)),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4),
        nn.LeakyReLU(0.1),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.GroupNorm(2, 8),
        nn.ELU(0.5),
        nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1),
        nn.GELU(),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),  # padding counted, overhang not
        nn.SiLU(),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.Dropout2d(0.2),
    ]
    feature_shape = nn.Sequential(*front)(np.zeros((1, 1, 28, 28), np.float32)).shape[1:]
    return nn.Sequential(
        *front,
        nn.LayerNorm(feature_shape),
        nn.Tanh(),
        nn.AdaptiveAvgPool2d(4),
        nn.Conv2d(6, 12, 1),
        nn.Sigmoid(),
        nn.AdaptiveMaxPool2d(2),
        nn.AvgPool2d(2, padding="same"),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Identity(),
        nn.Linear(12, 16),
        nn.BatchNorm1d(16),
        nn.Softmax(dim=1),
        nn.Linear(16, 10),
        nn.LogSoftmax(dim=1),
    )


def test_model_with_every_supported_layer_round_trips(test_images, tmp_path):
    images, labels = test_images
    model = _randomize_statistics(every_layer_model()).eval()
    assert {type(m) for m in model.modules()} - {nn.Sequential} == set(EXPORTERS)
    for layer in model.modules():  # non-trivial affine parameters
        if isinstance(layer, (nn.GroupNorm, nn.LayerNorm)):
            layer.weight.data[...] = np.random.default_rng(1).uniform(0.5, 1.5, layer.weight.shape)
            layer.bias.data[...] = np.random.default_rng(2).normal(0, 0.2, layer.bias.shape)
    imported = _round_trips(model, images, tmp_path / "every.onnx", "every layer")
    # Layer for layer the same model back; dropout is the identity in inference graphs,
    # and adaptive max pooling over equal windows is written (and read) as a MaxPool.
    inference = {
        nn.Dropout: nn.Identity,
        nn.Dropout2d: nn.Identity,
        nn.AdaptiveMaxPool2d: nn.MaxPool2d,
    }
    assert [type(m) for m in imported] == [inference.get(type(m), type(m)) for m in model]
    assert repr(imported[7]) == repr(model[7])  # GroupNorm(2, 8, ...)
    pool = imported[11]  # Pad + AveragePool read back as one AvgPool2d
    assert (pool.padding, pool.ceil_mode, pool.count_include_pad) == ((1, 1), True, True)


# (input shape, kernel, stride, padding, ceil_mode): PyTorch's pooling corner cases.
POOL_CASES = [
    ((2, 3, 9, 7), 2, None, 0, True),
    ((2, 3, 9, 9), 3, 2, 1, True),
    ((1, 2, 10, 11), (3, 2), (2, 3), (1, 1), True),
    ((1, 1, 5, 5), 4, 3, 2, True),  # last window starts in the padding band
    ((1, 1, 4, 4), 2, 2, 1, True),  # a window that would start in the right pad is dropped
    ((2, 2, 9, 9), 3, 2, "same", False),
    ((2, 2, 8, 8), 3, 3, "same", False),
]


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_corner_cases_round_trip(case, count_include_pad, tmp_path):
    shape, kernel, stride, padding, ceil_mode = case
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for layer in (
        nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode),
        nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad),
    ):
        path = tmp_path / "pool.onnx"
        export(layer, x, path)
        np.testing.assert_allclose(ort_run(str(path), x), layer(x).numpy(), atol=1e-6)
        np.testing.assert_allclose(load(path)(x).numpy(), layer(x).numpy(), atol=1e-6)


def test_unequal_adaptive_average_windows_export_exactly(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 2, 7, 9)).astype(np.float32)
    layer = nn.AdaptiveAvgPool2d((3, 4))
    export(layer, x[:1], tmp_path / "adaptive.onnx")
    np.testing.assert_allclose(
        ort_run(str(tmp_path / "adaptive.onnx"), x), layer(x).numpy(), atol=1e-6
    )


def test_fixed_batch_export(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    proto = export(
        model, np.zeros((5, 4), np.float32), tmp_path / "fixed.onnx", dynamic_batch=False
    )
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 5
    assert proto.opset_import[0].version >= 17


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


def test_layers_that_cannot_be_exported_are_named(tmp_path):
    x = np.zeros((1, 1, 8, 8), np.float32)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), Doubler()))
    with pytest.raises(ONNXExportError, match=r"Cannot export layer '1\.1' \(Doubler\)"):
        export(model, x)
    with pytest.raises(ONNXExportError, match="track_running_stats=False"):
        export(nn.BatchNorm2d(1, track_running_stats=False), x)
    with pytest.raises(ONNXExportError, match=r"windows have unequal sizes \(3x3 outputs"):
        export(nn.AdaptiveMaxPool2d(3), x)
    with pytest.raises(ONNXExportError, match="start_dim=0"):
        export(nn.Flatten(0), x)
    assert not (tmp_path / "x.onnx").exists()


# Conv2d settings: TF 'same' at strides 1-3 with odd/even kernels, dilation, groups.
CONV_CASES = [
    {"kernel_size": 3, "stride": 2, "padding": "same"},
    {"kernel_size": 4, "stride": 3, "padding": "same"},
    {"kernel_size": (2, 5), "stride": (1, 2), "padding": "same", "dilation": 2},
    {"kernel_size": 3, "padding": (2, 1), "dilation": (2, 1), "groups": 4},
    {"kernel_size": 1, "stride": 2, "bias": False},
    {"kernel_size": 5, "padding": "valid", "groups": 2},
]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=str)
def test_conv_settings_round_trip_inside_nested_sequentials(kwargs, tmp_path):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Sequential(nn.Conv2d(4, 8, **kwargs), nn.ReLU()), nn.Flatten())
    x = np.random.default_rng(0).standard_normal((3, 4, 11, 10)).astype(np.float32)
    export(model, x[:1], tmp_path / "conv.onnx")
    np.testing.assert_allclose(ort_run(tmp_path / "conv.onnx", x), model(x).numpy(), atol=1e-5)
    back = load(tmp_path / "conv.onnx")
    np.testing.assert_array_equal(back(x).numpy(), model(x).numpy())
    assert back[0].padding == model[0][0].padding or kwargs.get("padding") == "valid"
