"""Sequential and ModuleList: indexing, naming, registration."""

from collections import OrderedDict

import numpy as np
import pytest

from convscope import nn


def test_sequential_indexing_len_iteration_and_names():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert list(seq) == [a, b, c]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert [n for n, _ in head.named_children()] == ["1", "2"]  # names kept, as in PyTorch
    with pytest.raises(IndexError, match="Sequential index 3 is out of range for length 3"):
        seq[3]
    with pytest.raises(TypeError, match="indices must be integers or slices"):
        seq["0"]


def test_sequential_append_setitem_and_forward():
    seq = nn.Sequential(nn.Linear(2, 3))
    assert seq.append(nn.ReLU()) is seq
    assert list(seq.state_dict()) == ["0.weight", "0.bias"] and len(seq) == 2
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    x = np.ones((4, 2), dtype=np.float32)
    np.testing.assert_allclose(seq(x).data, np.tanh(seq[0](x).data), rtol=1e-6)


def test_sequential_from_ordered_dict():
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["conv.weight", "conv.bias"]
    assert seq.conv is seq[0]


def test_empty_sequential_is_identity():
    x = np.ones(3, dtype=np.float32)
    assert nn.Sequential()(x) is x


def test_module_list_registers_its_modules():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    tower = Tower()
    assert len(tower.blocks) == 3 and tower.num_parameters() == 18
    assert list(tower.state_dict())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    tower.blocks.extend([nn.Linear(2, 2)])
    tower.blocks[0] = nn.Linear(2, 2, bias=False)
    assert "blocks.0.bias" not in tower.state_dict() and "blocks.3.bias" in tower.state_dict()
    assert isinstance(tower.blocks[1:], nn.ModuleList) and len(tower.blocks[1:]) == 3
    assert tower(np.ones((1, 2), dtype=np.float32)).shape == (1, 2)
    with pytest.raises(TypeError, match="ModuleList expected Module instances"):
        nn.ModuleList([np.zeros(2)])
