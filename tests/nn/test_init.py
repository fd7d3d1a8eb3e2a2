"""nn.init: PyTorch's formulas, in place, reproducible from convscope's generator."""

import math

import numpy as np
import pytest
import torch

import convscope
from convscope import Tensor, nn
from convscope.nn import Parameter, init

SHAPES = [(64, 32, 3, 3), (10, 1600), (32, 1, 5, 5), (7, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fan_in_and_fan_out_equal_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fan_in_and_fan_out(np.empty(shape)) == expected
    assert init._calculate_fan_in_and_fan_out(Tensor(np.empty(shape))) == expected


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match=r"at least 2 dimensions; received shape \(5,\)"):
        init.fan_in_and_fan_out(np.empty(5))


@pytest.mark.parametrize(
    "args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
             ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu",)]
)  # fmt: skip
def test_calculate_gain_equals_torch(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="received nonlinearity='swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="numeric negative slope"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("layer", [lambda: nn.Conv2d(32, 64, 3), lambda: nn.Linear(1600, 10)])
def test_default_init_bounds_equal_torch_formula(layer):
    convscope.manual_seed(0)
    m = layer()
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(m.weight.shape))
    # torch: kaiming_uniform_(a=√5): bound = √3 · gain / √fan_in, gain = √(2 / (1 + a²)).
    bound = math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)
    assert bound == pytest.approx(1 / math.sqrt(fan_in))
    for p in (m.weight, m.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound  # draws fill the interval
        # U(−b, b) has variance b²/3.
        assert p.data.var() == pytest.approx(bound**2 / 3, rel=0.1 if p.size > 1000 else 0.4)
    torch_layer = (torch.nn.Conv2d(32, 64, 3) if isinstance(m, nn.Conv2d)
                   else torch.nn.Linear(1600, 10))  # fmt: skip
    assert torch_layer.weight.abs().max().item() <= bound


@pytest.mark.parametrize(
    "fn, kwargs, std",
    [
        (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 288)),
        (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 576)),
        (init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 288)),
        (init.xavier_uniform_, {}, math.sqrt(2 / (288 + 576))),
        (init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / (288 + 576))),
        (init.normal_, {"std": 0.02}, 0.02),
        (init.uniform_, {"a": -1, "b": 1}, math.sqrt(1 / 3)),
    ],
)
def test_init_statistics(fn, kwargs, std):
    convscope.manual_seed(0)
    p = Parameter(np.zeros((64, 32, 3, 3), dtype=np.float32))
    array = p.data
    assert fn(p, **kwargs) is p
    assert p.data is array and p.dtype == np.float32  # filled in place
    assert abs(array.mean()) < 0.05 * std
    assert array.std() == pytest.approx(std, rel=0.03)
    # torch draws a tensor of the same shape with the same law.
    t = torch.empty(64, 32, 3, 3)
    getattr(torch.nn.init, fn.__name__)(t, **kwargs)
    assert t.std().item() == pytest.approx(std, rel=0.03)


def test_uniform_bounds_and_constants():
    a = np.empty(1000, dtype=np.float64)
    init.uniform_(a, 2.0, 3.0)
    assert a.min() >= 2.0 and a.max() < 3.0
    assert np.all(init.zeros_(a) == 0) and np.all(init.ones_(a) == 1)
    assert np.all(init.constant_(Tensor(np.empty(3)), 0.25).data == 0.25)


def test_init_is_reproducible_with_manual_seed():
    def draw():
        convscope.manual_seed(42)
        return init.kaiming_uniform_(np.empty((4, 4), dtype=np.float32)).copy()

    np.testing.assert_array_equal(draw(), draw())


def test_init_rejects_integer_arrays():
    with pytest.raises(TypeError, match="floating-point Parameter, Tensor or NumPy array"):
        init.normal_(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="mode expected 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(np.zeros((2, 2)), mode="fan")


def test_empty_tensors_are_left_alone():
    assert init.kaiming_uniform_(np.empty((0, 3))).shape == (0, 3)
