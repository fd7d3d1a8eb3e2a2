"""AdaptiveAvgPool2d / AdaptiveMaxPool2d layers against torch.nn."""

import numpy as np
import pytest
import torch
from module_parity import module_parity

from convscope import nn


def _x(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("size", [1, 3, (2, None), (None, 1)])
@pytest.mark.parametrize("name", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
def test_adaptive_pooling_layer_matches_torch(name, size):
    ours, theirs = getattr(nn, name)(size), getattr(torch.nn, name)(size)
    out = module_parity(ours, theirs, _x(2, 3, 7, 6))
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and out.dtype == np.float32


def test_global_average_pooling_head_matches_torch():
    ours = nn.Sequential(nn.Conv2d(2, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    assert module_parity(ours, theirs, _x(3, 2, 9, 9)).shape == (3, 4)


def test_adaptive_pooling_layer_errors():
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d expected output_size"):
        nn.AdaptiveAvgPool2d(0)
    with pytest.raises(ValueError, match="return_indices=False"):
        nn.AdaptiveMaxPool2d(1, return_indices=True)
    with pytest.raises(ValueError, match=r"AdaptiveMaxPool2d expected input of shape \(N, C, H"):
        nn.AdaptiveMaxPool2d(1)(_x(3, 4, 4))
