"""capture_outputs: each leaf's output by dotted name, via hooks, model left untouched."""

import numpy as np
import pytest
import torch
from module_parity import to_torch_state
from test_state_dict import BNNet, TorchBNNet, w1_ours

import convscope
from convscope import nn


def test_w1_outputs_by_name_in_execution_order():
    convscope.manual_seed(0)
    model = w1_ours()
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    maps = nn.capture_outputs(model, x)
    assert list(maps) == [str(i) for i in range(9)]
    assert maps["0"].shape == (2, 32, 26, 26) and maps["5"].shape == (2, 64, 5, 5)
    assert all(isinstance(a, np.ndarray) for a in maps.values())
    # The final entry is the model's own (evaluation-mode) output.
    np.testing.assert_array_equal(maps["8"], model.eval()(x).data)
    np.testing.assert_array_equal(maps["1"], np.maximum(maps["0"], 0))


def test_include_keeps_only_the_given_types():
    maps = nn.capture_outputs(w1_ours(), np.zeros((1, 1, 28, 28), np.float32),
                              include=(nn.Conv2d, nn.MaxPool2d))  # fmt: skip
    assert list(maps) == ["0", "2", "3", "5"]
    assert list(nn.capture_outputs(w1_ours(), np.zeros((1, 1, 28, 28), np.float32),
                                   include=nn.ReLU)) == ["1", "4"]  # fmt: skip
    with pytest.raises(TypeError, match="expected include to be a module type or a tuple"):
        nn.capture_outputs(w1_ours(), np.zeros((1, 1, 28, 28)), include=["Conv2d"])


def test_nested_names_and_values_match_torch_hooks():
    ours, theirs = BNNet(), TorchBNNet()
    theirs.load_state_dict(to_torch_state(ours.state_dict()))
    x = np.random.default_rng(1).standard_normal((3, 3, 8, 8)).astype(np.float32)
    maps = nn.capture_outputs(ours, x)
    expected = {}
    for name, module in theirs.named_modules():
        if next(module.children(), None) is None:
            module.register_forward_hook(
                lambda m, i, o, name=name: expected.__setitem__(name, o.detach().numpy())
            )
    with torch.no_grad():
        theirs.eval()(torch.from_numpy(x))
    assert list(maps) == list(expected)
    for name in maps:
        np.testing.assert_allclose(maps[name], expected[name], atol=1e-5, rtol=1e-5)


def test_capture_runs_in_eval_without_graph_and_restores_everything():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    before = model.state_dict()
    x = np.ones((3, 4), dtype=np.float32)
    maps = nn.capture_outputs(model, x)
    np.testing.assert_array_equal(maps["2"], maps["1"])  # dropout off
    assert all(m.training for m in model.modules())
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not any(m._forward_hooks for m in model.modules())


def test_hooks_are_removed_and_modes_restored_on_error():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(5, 2))
    model[0].eval()
    with pytest.raises(ValueError, match=r"Linear\(in_features=5\)"):
        nn.capture_outputs(model, np.ones((1, 4), dtype=np.float32))
    assert not any(m._forward_hooks for m in model.modules())
    assert [m.training for m in model.modules()] == [True, False, True, True]


def test_repeated_module_and_leaf_model():
    relu = nn.ReLU()
    maps = nn.capture_outputs(nn.Sequential(relu, nn.Tanh(), relu), np.ones(2, np.float32))
    assert list(maps) == ["0", "1", "0#2"]
    assert list(nn.capture_outputs(nn.ReLU(), np.ones(2, np.float32))) == ["ReLU"]
