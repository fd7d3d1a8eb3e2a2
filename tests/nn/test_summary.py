"""summary(): shapes and parameter counts checked against torch, receptive fields, arithmetic."""

import numpy as np
import pytest
import torch
from test_state_dict import BNNet, TorchBNNet, w1_ours, w1_torch

import convscope
from convscope import nn


def _torch_leaf_rows(model: torch.nn.Module, input_shape):
    """(name, output shape, parameter count) of every torch leaf module, in execution order."""
    rows, handles = [], []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(
                lambda m, i, o, name=name: rows.append(
                    (name, tuple(o.shape), sum(p.numel() for p in m.parameters()))
                )
            ))  # fmt: skip
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    for h in handles:
        h.remove()
    return rows


@pytest.mark.parametrize(
    "ours, theirs, shape", [(w1_ours, w1_torch, (1, 28, 28)), (BNNet, TorchBNNet, (3, 8, 8))]
)
def test_rows_match_torch_shapes_and_parameter_counts(ours, theirs, shape):
    s = nn.summary(ours(), shape)
    expected = _torch_leaf_rows(theirs(), shape)
    assert [(r["name"], r["output_shape"], r["params"]) for r in s.rows] == expected
    assert s.total_params == sum(p.numel() for p in theirs().parameters())


def test_w1_summary_numbers():
    s = w1_ours().summary((1, 28, 28))
    assert s.total_params == s.trainable_params == 34826 and s.non_trainable_params == 0
    assert [r["type"] for r in s.rows] == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
        "Flatten", "Dropout", "Linear",
    ]  # fmt: skip
    assert [r["output_shape"] for r in s.rows][::3] == [(1, 32, 26, 26), (1, 64, 11, 11), (1, 1600)]
    # Receptive field r_out = r_in + (k − 1)·j_in, jump j_out = j_in·s:
    # conv3 → 3 (1), pool2 → 4 (2), conv3 → 8 (2), pool2 → 10 (4); all after Flatten.
    assert [r["receptive_field"] for r in s.rows] == [
        (3, 3), (3, 3), (4, 4), (8, 8), (8, 8), (10, 10), None, None, None,
    ]  # fmt: skip
    assert [r["jump"] for r in s.rows][:6] == [(1, 1), (1, 1), (2, 2), (2, 2), (2, 2), (4, 4)]
    assert [r["arithmetic"] for r in s.rows] == [
        "28 → (28 + 2·0 − 3)/1 + 1 = 26", None, "26 → (26 + 2·0 − 2)/2 + 1 = 13",
        "13 → (13 + 2·0 − 3)/1 + 1 = 11", None, "11 → ⌊(11 + 2·0 − 2)/2⌋ + 1 = 5",
        None, None, None,
    ]  # fmt: skip
    # One multiply-add per weight per output position.
    assert [r["mult_adds"] for r in s.rows if r["mult_adds"]] == [
        32 * 26 * 26 * 9, 64 * 11 * 11 * 32 * 9, 1600 * 10,
    ]  # fmt: skip
    assert s.mult_adds == 2_440_960
    assert s.param_mb == pytest.approx(34826 * 4 / 1e6)
    activations = 2 * 32 * 26 * 26 + 32 * 13 * 13 + 2 * 64 * 11 * 11 + 64 * 25 + 2 * 1600 + 10
    assert s.activation_mb == pytest.approx(activations * 4 / 1e6)
    assert s.input_mb == pytest.approx(28 * 28 * 4 / 1e6)
    assert s.totals["total_params"] == 34826


def test_table_text_and_markdown():
    s = w1_ours().summary((1, 28, 28))
    text = str(s)
    assert repr(s) == text
    lines = text.splitlines()
    assert lines[0] == "Sequential on input (1, 1, 28, 28)"
    assert lines[2].split() == ["Layer", "(type)", "Output", "shape", "Param", "#", "Mult-adds",
                                "RF", "Jump", "Size", "arithmetic"]  # fmt: skip
    first_row = "0 (Conv2d)     (1, 32, 26, 26)      320    194,688    3     1  "
    assert first_row + "28 → (28 + 2·0 − 3)/1 + 1 = 26" in lines
    assert "Total params: 34,826" in lines and "Mult-adds (per sample): 2,440,960" in lines
    md = s.to_markdown().splitlines()
    assert md[0].startswith("| Layer (type) | Output shape | Param #")
    md_row = "| 0 (Conv2d) | (1, 32, 26, 26) | 320 | 194,688 | 3 | 1 | "
    assert md[2] == md_row + "28 → (28 + 2·0 − 3)/1 + 1 = 26 |"
    assert "- Total params: 34,826" in md


def test_padding_dilation_ceil_and_strided_same_arithmetic():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 4, padding="same", dilation=2),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.Conv2d(4, 4, 3, stride=2, padding="same"),
        nn.AvgPool2d((2, 3)),
    )
    s = model.summary((3, 27, 30))
    conv, pool, strided, avg = s.rows
    assert conv["arithmetic"] == (
        "H: 27 → same: (27 + 2·3 − 2·(4−1) − 1)/1 + 1 = 27; "
        "W: 30 → same: (30 + 2·3 − 2·(4−1) − 1)/1 + 1 = 30"
    )
    assert conv["receptive_field"] == (7, 7)  # 1 + (4 − 1)·2
    assert pool["arithmetic"] == (
        "H: 27 → (27 + 2·1 − 3)/2 + 1 = 14; W: 30 → ⌈(30 + 2·1 − 3)/2⌉ + 1 = 16"
    )
    assert pool["output_shape"] == (1, 4, 14, 16)
    assert strided["arithmetic"] == (
        "H: 14 → same: (14 + 0 + 1 − 3)/2 + 1 = 7; W: 16 → same: (16 + 0 + 1 − 3)/2 + 1 = 8"
    )
    assert avg["receptive_field"] == (13 + 4, 13 + 2 * 4) and avg["jump"] == (8, 12)
    # The pooled sizes equal torch's for the torch-expressible layers.
    y = torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)(torch.zeros(1, 4, 27, 30))
    assert tuple(y.shape) == pool["output_shape"]


def test_ceil_mode_window_dropped_in_padding_is_explained():
    # torch: with ceil_mode a last window starting in the right padding is dropped.
    s = nn.Sequential(nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)).summary((1, 4, 4))
    expected = torch.nn.MaxPool2d(2, 2, 1, ceil_mode=True)(torch.zeros(1, 1, 4, 4)).shape
    assert s.rows[0]["output_shape"] == tuple(expected)
    assert s.rows[0]["arithmetic"] == "4 → (4 + 2·1 − 2)/2 + 1 = 3"


def test_custom_forward_with_functional_calls_and_frozen_parameters():
    from convscope.nn import functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 5)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(2 * 4 * 4, 3)

        def forward(self, x):
            x = self.pool(F.relu(self.conv(x)))  # relu is not a module: the chain goes on
            return self.fc(x.flatten(1))

    net = Net()
    net.conv.requires_grad_(False)
    s = net.summary((1, 12, 12))
    assert [r["name"] for r in s.rows] == ["conv", "pool", "fc"]
    assert s.rows[1]["receptive_field"] == (6, 6)
    assert s.trainable_params == 99 and s.non_trainable_params == 52
    assert s.rows[0]["trainable_params"] == 0 and s.rows[0]["params"] == 52


def test_summary_leaves_the_model_untouched():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout())
    model[1].running_mean[...] = 0.5
    before = model.state_dict()
    convscope.manual_seed(0)
    state = convscope.get_rng_state()
    model.summary((1, 6, 6))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(m.training for m in model.modules())
    assert convscope.get_rng_state() == state
    assert not any(m._forward_hooks for m in model.modules())


def test_shared_module_gets_one_row_per_call():
    relu = nn.ReLU()
    s = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 4), relu).summary((4,))
    assert [r["name"] for r in s.rows] == ["0", "1", "2", "1#2"]


def test_summary_input_errors():
    with pytest.raises(ValueError, match=r"without the batch axis, e.g. \(1, 28, 28\)"):
        nn.summary(w1_ours(), 28)
    with pytest.raises(TypeError, match="summary expected a Module"):
        nn.summary(object(), (1, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=1\) expected input") as info:
        w1_ours().summary((3, 28, 28))
    assert "zero batch of shape (1, 3, 28, 28)" in "".join(getattr(info.value, "__notes__", []))


def test_a_users_own_layer_gets_its_size_arithmetic_row():
    from convscope.nn import functional as F
    from convscope.nn.functional.geometry import WindowGeometry

    class StridedSum(nn.Module):
        """A layer summary has never heard of: 3×3 windows, stride 2, padding 1, summed."""

        def forward(self, x):
            return F.avg_pool2d(x, 3, 2, 1) * 9.0

        def window_geometry(self):
            return WindowGeometry(3, stride=2, padding=1)

        def mult_adds(self, output):
            return output.size * 9  # hand count: 9 additions per output value

    class Pointwise(nn.Module):  # keeps the defaults: no window, no mult-adds
        def forward(self, x):
            return x * 2.0

    s = nn.Sequential(StridedSum(), Pointwise(), StridedSum()).summary((2, 9, 9))
    # 9 → ⌊(9 + 2 − 3)/2⌋ + 1 = 5 → ⌊(5 + 2 − 3)/2⌋ + 1 = 3; RF 1 → 3 → 3 → 3 + 2·2 = 7
    assert [r["output_shape"] for r in s.rows] == [(1, 2, 5, 5), (1, 2, 5, 5), (1, 2, 3, 3)]
    assert s.rows[0]["arithmetic"] == "9 → (9 + 2·1 − 3)/2 + 1 = 5"
    assert s.rows[2]["arithmetic"] == "5 → (5 + 2·1 − 3)/2 + 1 = 3"
    assert s.rows[1]["arithmetic"] is None and s.rows[1]["mult_adds"] == 0
    assert [r["receptive_field"] for r in s.rows] == [(3, 3), (3, 3), (7, 7)]
    assert [r["jump"] for r in s.rows] == [(2, 2), (2, 2), (4, 4)]
    assert [r["mult_adds"] for r in s.rows] == [2 * 25 * 9, 0, 2 * 9 * 9]
    assert s.mult_adds == 2 * 25 * 9 + 2 * 9 * 9


def test_module_size_defaults_and_built_in_overrides():
    plain = nn.ReLU()
    assert plain.window_geometry() is None and plain.mult_adds(convscope.zeros(3)) == 0
    assert not plain.receptive_field_is_global()
    g = nn.Conv2d(2, 4, (3, 5), stride=2, padding="same", dilation=(1, 2)).window_geometry()
    assert (g.kernel, g.stride, g.dilation, g.padding, g.ceil_mode) == (
        (3, 5), (2, 2), (1, 2), "same", False
    )  # fmt: skip
    g = nn.MaxPool2d(2, ceil_mode=True).window_geometry()
    assert (g.kernel, g.stride, g.padding, g.ceil_mode) == ((2, 2), (2, 2), (0, 0), True)
    assert nn.AvgPool2d(3, 1, 1).window_geometry().padding == (1, 1)
    assert nn.Flatten().receptive_field_is_global() and nn.Linear(2, 3).receptive_field_is_global()
    # Conv2d(4→6, 3×3, groups=2) on a 5×5 output: 6·25 outputs × (4/2)·9 taps each.
    assert nn.Conv2d(4, 6, 3, groups=2).mult_adds(convscope.zeros(1, 6, 5, 5)) == 6 * 25 * 2 * 9
    assert nn.Linear(7, 3).mult_adds(convscope.zeros(2, 3)) == 2 * 3 * 7
