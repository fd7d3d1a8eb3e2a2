"""state_dict / load_state_dict: PyTorch's keys, shapes and messages; weights move both ways."""

import numpy as np
import pytest
import torch
from module_parity import from_torch_state, module_parity, to_torch_state

import convscope
from convscope import nn


def w1_ours():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    )  # fmt: skip


def w1_torch():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(1, 32, 3), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(32, 64, 3), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Dropout(0.5), t.Linear(1600, 10),
    )  # fmt: skip


class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 3 * 3, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 5)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class TorchBNNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        t = torch.nn
        self.features = t.Sequential(
            t.Conv2d(3, 8, 3, padding=1, bias=False), t.BatchNorm2d(8), t.ReLU(),
            t.Conv2d(8, 16, 3, stride=2), t.BatchNorm2d(16), t.ReLU(),
        )  # fmt: skip
        self.classifier = t.Sequential(
            t.Flatten(), t.Linear(16 * 3 * 3, 32), t.BatchNorm1d(32), t.ReLU(), t.Linear(32, 5)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _layout(state):
    return [(k, tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()]


@pytest.mark.parametrize("ours, theirs", [(w1_ours, w1_torch), (BNNet, TorchBNNet)])
def test_keys_shapes_and_dtypes_equal_pytorch(ours, theirs):
    assert _layout(ours().state_dict()) == _layout(theirs().state_dict())


def test_w1_state_dict_keys_and_parameter_count():
    model = w1_ours()
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "8.weight", "8.bias",
    ]  # fmt: skip
    assert model.num_parameters() == 34826 == sum(p.numel() for p in w1_torch().parameters())


def test_bn_net_has_pytorch_buffer_keys():
    keys = list(BNNet().state_dict())
    assert keys[:6] == [
        "features.0.weight", "features.1.weight", "features.1.bias",
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
    ]  # fmt: skip
    assert "classifier.2.num_batches_tracked" in keys


def test_state_dict_values_are_copies():
    model = w1_ours()
    state = model.state_dict()
    state["0.weight"][...] = 7
    assert not np.any(model[0].weight.data == 7)


def test_weights_move_from_torch_to_convscope_and_back():
    torch.manual_seed(0)
    theirs = TorchBNNet()
    with torch.no_grad():  # non-trivial running statistics
        for bn in (theirs.features[1], theirs.classifier[2]):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.num_batches_tracked.fill_(7)
    ours = BNNet()
    ours.load_state_dict(theirs.state_dict())  # torch tensors are accepted directly
    back = from_torch_state(theirs)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, back[key])
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)
    theirs.eval(), ours.eval()
    module_parity(ours, theirs, x, copy_weights=False)
    # ... and the other way: convscope's initial weights loaded into torch.
    convscope.manual_seed(3)
    fresh = BNNet().eval()
    theirs.load_state_dict(to_torch_state(fresh.state_dict()))
    module_parity(fresh, theirs, x, copy_weights=False)


def test_load_copies_in_place_and_casts_to_each_parameters_dtype():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    weight_array = weight.data
    state = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
             for k, v in model.state_dict().items()}  # fmt: skip
    state["0.weight"] = np.full((2, 3), 0.5)
    state["1.num_batches_tracked"] = np.array(4)
    result = model.load_state_dict(state)
    assert result == nn.IncompatibleKeys([], [])
    assert model[0].weight is weight and weight.data is weight_array  # optimizers keep references
    assert weight.dtype == np.float32 and np.all(weight.data == 0.5)
    assert model[1].num_batches_tracked == 4 and model[1].num_batches_tracked.dtype == np.int64


def test_missing_and_unexpected_keys_are_named_like_pytorch():
    model = w1_ours()
    state = model.state_dict()
    del state["0.bias"], state["8.weight"]
    state["9.weight"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "0.bias", "8.weight".\n'
        '\tUnexpected key(s) in state_dict: "9.weight".\n'
        "\tPass strict=False to load only the keys that match."
    )
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)


def test_shape_mismatch_is_named_and_nothing_is_copied():
    model = w1_ours()
    before = model.state_dict()
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["3.weight"] = np.zeros((64, 32, 5, 5), dtype=np.float32)
    message = (
        "size mismatch for 3.weight: copying a param with shape (64, 32, 5, 5) from checkpoint, "
        "the shape in current model is (64, 32, 3, 3)."
    )
    for strict in (True, False):  # a shape mismatch is an error even when not strict
        with pytest.raises(
            nn.StateDictError, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            model.load_state_dict(state, strict=strict)
    np.testing.assert_array_equal(model[0].weight.data, before["0.weight"])


def test_strict_false_loads_the_matching_keys_and_reports_the_rest():
    source, target = w1_ours(), w1_ours()
    state = source.state_dict()
    del state["8.bias"]
    state["extra"] = np.zeros(1)
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["8.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(target[3].weight.data, source[3].weight.data)
    assert not np.array_equal(target[8].bias.data, source[8].bias.data)


def test_load_state_dict_rejects_non_mappings():
    with pytest.raises(TypeError, match="expected a mapping"):
        w1_ours().load_state_dict([("0.weight", np.zeros(1))])
