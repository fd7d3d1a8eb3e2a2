"""PyTorch → ONNX (torch.onnx.export, dynamo=False) → convscope, and clear import errors."""

import io
import warnings

import numpy as np
import pytest
import torch
from conftest import ort_run, report

import convscope
from convscope.models import build_model
from convscope.onnx import ONNXImportError, load

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

t = torch.nn


def torch_w1():
    return t.Sequential(
        t.Conv2d(1, 32, 3), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(32, 64, 3), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Dropout(0.5), t.Linear(1600, 10),
    )  # fmt: skip


def torch_bn():
    return t.Sequential(
        t.Conv2d(1, 16, 3, padding=1, bias=False), t.BatchNorm2d(16), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(16, 32, 3, padding=1), t.BatchNorm2d(32), t.ReLU(), t.AvgPool2d(2),
        t.Flatten(), t.Linear(32 * 7 * 7, 64), t.BatchNorm1d(64), t.ReLU(), t.Linear(64, 10),
    )  # fmt: skip


_TRAINED = {}


def _trained_torch(make, images, labels, steps=5):
    """``make()`` trained for a few Adam steps on the images (once per session)."""
    if make in _TRAINED:
        return _TRAINED[make]
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    for _ in range(steps):
        opt.zero_grad()
        t.functional.cross_entropy(model(x), y).backward()
        opt.step()
    _TRAINED[make] = model.eval()
    return model


def _torch_export(model, fold=True):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model, torch.zeros(1, 1, 28, 28), buffer, dynamo=False, do_constant_folding=fold,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )  # fmt: skip
    return onnx.load_from_string(buffer.getvalue())


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "unfolded"])
@pytest.mark.parametrize("make", [torch_w1, torch_bn], ids=["W1", "BN"])
def test_pytorch_exports_import_with_the_same_logits(make, fold, test_images):
    images, labels = test_images
    theirs = _trained_torch(make, images, labels)
    proto = _torch_export(theirs, fold)
    ours = load(proto)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images)).numpy()
    for batch in (images[:1], images):
        got = ours(batch).numpy()
        runtime = ort_run(proto, batch)
        np.testing.assert_allclose(got, runtime, atol=1e-5, rtol=0)
        np.testing.assert_allclose(got, expected[: len(batch)], atol=1e-5, rtol=0)
    label = f"PyTorch {make.__name__[6:].upper()} ({'folded' if fold else 'unfolded'})"
    report(
        f"{label} → ONNX → convscope vs onnxruntime",
        np.abs(ours(images).numpy() - ort_run(proto, images)).max(),
    )
    report(f"{label} → ONNX → convscope vs PyTorch", np.abs(ours(images).numpy() - expected).max())


def torch_every_layer():
    """A PyTorch CNN using every layer type the importer reads back from torch's exporter."""
    return t.Sequential(
        t.Conv2d(1, 8, 3, padding=1), t.BatchNorm2d(8), t.LeakyReLU(0.1),
        t.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=2), t.ELU(0.7),
        t.MaxPool2d(3, 2, 1, ceil_mode=True), t.GELU(), t.GroupNorm(2, 8), t.SiLU(),
        t.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
        t.AvgPool2d(2, ceil_mode=True), t.LayerNorm([4, 8, 8]), t.Tanh(),
        t.AvgPool2d(3, 1, 1, count_include_pad=False), t.Sigmoid(), t.Dropout(0.3),
        t.AdaptiveAvgPool2d(1), t.Flatten(), t.Linear(4, 6), t.Softmax(1),
    )  # fmt: skip


def test_pytorch_model_with_every_importable_layer(test_images):
    images, _ = test_images
    torch.manual_seed(0)
    theirs = torch_every_layer()
    with torch.no_grad():  # non-default affine parameters and running statistics
        for module in theirs.modules():
            if isinstance(module, (t.BatchNorm2d, t.GroupNorm, t.LayerNorm)):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.3)
            if isinstance(module, t.BatchNorm2d):
                module.running_mean.normal_(0, 0.3)
                module.running_var.uniform_(0.5, 2)
    theirs.eval()
    proto = _torch_export(theirs, fold=False)
    ours = load(proto)
    assert [type(m).__name__ for m in ours] == [
        type(m).__name__ for m in theirs if not isinstance(m, t.Dropout)
    ]  # GroupNorm's six nodes, Sigmoid·x (SiLU) read back as one layer each
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images)).numpy()
    got = ours(images).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got, ort_run(proto, images), atol=1e-5, rtol=0)
    report("PyTorch every-layer CNN → ONNX → convscope vs PyTorch", np.abs(got - expected).max())


def test_imported_w1_is_the_simple_preset(test_images):
    images, labels = test_images
    ours = load(_torch_export(_trained_torch(torch_w1, images, labels)))
    preset = build_model("simple")
    # Same layers (the exporter drops Dropout), same parameter count, usable by summary.
    assert ours.num_parameters() == preset.num_parameters() == 34826
    rows = ours.summary((1, 28, 28)).rows
    assert [row["type"] for row in rows] == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"
    ]  # fmt: skip


def _graph(nodes, initializers=(), inputs=("x",), shape=(1, 2, 4, 4), opset=17):
    value_infos = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape)) for n in inputs]
    graph = helper.make_graph(
        nodes, "g", value_infos,
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, name) for name, a in initializers],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_unsupported_operator_is_named_with_its_node():
    model = _graph([
        helper.make_node("Relu", ["x"], ["r"], name="act"),
        helper.make_node("Resize", ["r"], ["y"], name="upsample", mode="nearest"),
    ])  # fmt: skip
    with pytest.raises(
        ONNXImportError,
        match="Cannot import Resize node 'upsample': operator "
        "'Resize' is not supported. Supported operators: ",
    ):
        load(model)


def test_branching_graph_is_refused_naming_the_node():
    model = _graph([
        helper.make_node("Relu", ["x"], ["r"], name="act"),
        helper.make_node("Add", ["r", "x"], ["y"], name="residual"),
    ])  # fmt: skip
    with pytest.raises(
        ONNXImportError,
        match=r"Cannot import Add node 'residual': convscope "
        r"imports chains of layers",
    ):
        load(model)


def test_unsupported_attributes_are_named():
    w = np.zeros((2, 2, 3, 3), np.float32)
    model = _graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="c1", pads=[0, 0, 1, 2])],
        [("w", w)],
    )
    with pytest.raises(ONNXImportError, match=r"Conv node 'c1': asymmetric pads"):
        load(model)
    model = _graph([helper.make_node("Softmax", ["x"], ["y"], name="s")], opset=11)
    with pytest.raises(ONNXImportError, match="opset 13 or later; this model uses opset 11"):
        load(model)


def test_computed_weights_are_refused():
    model = _graph(
        [helper.make_node("Conv", ["x", "x"], ["y"], name="self_conv")], shape=(2, 2, 3, 3)
    )
    with pytest.raises(
        ONNXImportError,
        match=r"Conv node 'self_conv': .* this node reads "
        r"\['x', 'x'\]",
    ):
        load(model)


def test_load_reads_files_and_builds_an_eval_model(tmp_path):
    convscope.manual_seed(0)
    model = build_model("simple").eval()
    from convscope.onnx import export

    export(model, np.zeros((1, 1, 28, 28), np.float32), tmp_path / "m.onnx")
    loaded = load(tmp_path / "m.onnx")
    assert not loaded.training
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
