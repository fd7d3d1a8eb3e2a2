"""The layers added for PyTorch users against torch.nn on the same weights."""

import numpy as np
import pytest
import torch
from module_parity import module_parity, to_torch_state

import convscope
from convscope import nn

t = torch.nn


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _randomize(module):
    """Non-trivial parameters (GroupNorm/LayerNorm start at 1 and 0)."""
    rng = np.random.default_rng(1)
    for param in module.parameters():
        param.data[...] = rng.standard_normal(param.shape)
    return module


LAYERS = [
    (lambda m: m.ConvTranspose2d(3, 4, 3), (2, 3, 5, 6)),
    (lambda m: m.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2), (2, 4, 5, 5)),
    (lambda m: m.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, bias=False),
     (1, 2, 4, 4)),
    (lambda m: m.ConvTranspose2d(2, 2, (3, 2), stride=(1, 2), dilation=2), (1, 2, 4, 4)),
    (lambda m: m.GroupNorm(2, 6), (2, 6, 4, 4)),
    (lambda m: m.GroupNorm(3, 3, affine=False), (2, 3, 5)),
    (lambda m: m.LayerNorm(5), (3, 4, 5)),
    (lambda m: m.LayerNorm((2, 3, 3)), (2, 2, 3, 3)),
    (lambda m: m.LayerNorm(4, elementwise_affine=False), (2, 4)),
    (lambda m: m.LayerNorm(4, bias=False), (2, 4)),
    (lambda m: m.GELU(), (3, 7)),
    (lambda m: m.GELU(approximate="tanh"), (3, 7)),
    (lambda m: m.SiLU(), (3, 7)),
    (lambda m: m.Identity(), (3, 7)),
    (lambda m: m.Dropout2d(0.5).eval(), (2, 3, 4, 4)),
]  # fmt: skip


@pytest.mark.parametrize("make, shape", LAYERS)
def test_layer_matches_torch(make, shape):
    convscope.manual_seed(0)
    ours, theirs = _randomize(make(nn)), make(t)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, mine), (_, torch_value) in zip(
        ours.state_dict().items(), theirs.state_dict().items()
    ):
        assert mine.shape == tuple(torch_value.shape), name
    module_parity(ours, theirs, _x(*shape))


def test_conv_transpose_initialisation_matches_torch_bounds():
    convscope.manual_seed(0)
    layer = nn.ConvTranspose2d(8, 4, 3)
    bound = 1 / np.sqrt(4 * 9)  # PyTorch's fan_in is weight.size(1) · kH · kW
    assert np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound


def test_conv_transpose_inverts_conv_shapes():
    conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1)
    assert up(conv(_x(2, 1, 28, 28))).shape == (2, 1, 28, 28)


def test_dropout2d_layer_trains_and_evaluates():
    convscope.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    y = layer(np.ones((4, 16, 2, 2), dtype=np.float32)).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    assert np.all(y.min(axis=(2, 3)) == y.max(axis=(2, 3)))
    assert repr(layer) == repr(t.Dropout2d(0.5))


def test_module_dict_registers_like_torch():
    convscope.manual_seed(0)
    ours = nn.ModuleDict({"stem": nn.Conv2d(1, 2, 3), "head": nn.Linear(2, 3)})
    ours["act"] = nn.ReLU()
    theirs = t.ModuleDict({"stem": t.Conv2d(1, 2, 3), "head": t.Linear(2, 3), "act": t.ReLU()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(to_torch_state(ours.state_dict()))
    assert repr(ours) == repr(theirs)
    assert list(ours) == ["stem", "head", "act"] and "head" in ours and len(ours) == 3
    assert ours.pop("act").__class__ is nn.ReLU and list(ours.keys()) == ["stem", "head"]
    with pytest.raises(KeyError, match=r"ModuleDict has no module 'tail'; it has \['stem'"):
        ours["tail"]
    with pytest.raises(TypeError, match="ModuleDict expected Module instances"):
        ours["x"] = 3


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: nn.L1Loss(), lambda: t.L1Loss()),
        (lambda: nn.SmoothL1Loss(beta=0.5), lambda: t.SmoothL1Loss(beta=0.5)),
        (lambda: nn.HuberLoss(delta=0.5, reduction="sum"),
         lambda: t.HuberLoss(delta=0.5, reduction="sum")),
        (lambda: nn.BCELoss(weight=np.array([1.0, 2.0, 0.5], np.float32)),
         lambda: t.BCELoss(weight=torch.tensor([1.0, 2.0, 0.5]))),
    ],
)  # fmt: skip
def test_losses_match_torch(ours, theirs):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    target = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    a, b = convscope.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mine, expected = ours()(a, target), theirs()(b, torch.tensor(target))
    np.testing.assert_allclose(mine.item(), expected.item(), rtol=1e-5)
    mine.backward()
    expected.backward()
    np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert list(ours().state_dict()) == list(theirs().state_dict())


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="GroupNorm expected num_channels to be divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(num_channels=6\) expected input of shape"):
        nn.GroupNorm(2, 6)(_x(1, 4, 2, 2))
    with pytest.raises(ValueError, match="ConvTranspose2d expected output_padding smaller"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="GELU expected approximate to be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="Dropout2d expected p to be a probability"):
        nn.Dropout2d(1.5)


def test_summary_counts_new_layers():
    # mult-adds by hand: each of 4·7·7 input values writes 2·3·3 products.
    up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    out = up(_x(1, 4, 7, 7))
    assert out.shape == (1, 2, 14, 14) and up.mult_adds(out) == 4 * 7 * 7 * 2 * 3 * 3
    assert nn.AdaptiveAvgPool2d(1).receptive_field_is_global()
    assert nn.AdaptiveMaxPool2d((1, 1)).receptive_field_is_global()
    assert not nn.AdaptiveAvgPool2d(2).receptive_field_is_global()
