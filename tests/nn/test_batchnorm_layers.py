"""BatchNorm1d/2d against torch over several training steps, then in evaluation."""

import numpy as np
import pytest
import torch
from module_parity import from_torch_state, module_parity

from convscope import nn

CASES = [
    ("BatchNorm2d", (4, 3, 5, 5), {}),
    ("BatchNorm2d", (4, 3, 5, 5), {"momentum": None}),
    ("BatchNorm2d", (4, 3, 5, 5), {"affine": False, "momentum": 0.3}),
    ("BatchNorm2d", (4, 3, 5, 5), {"bias": False, "eps": 1e-3}),
    ("BatchNorm2d", (4, 3, 5, 5), {"track_running_stats": False}),
    ("BatchNorm1d", (6, 3), {}),
    ("BatchNorm1d", (6, 3, 4), {"momentum": None}),
    ("BatchNorm1d", (6, 3), {"track_running_stats": False, "affine": False}),
]


@pytest.mark.parametrize("name, shape, kwargs", CASES)
def test_batchnorm_train_steps_then_eval_match_torch(name, shape, kwargs):
    ours, theirs = getattr(nn, name)(3, **kwargs), getattr(torch.nn, name)(3, **kwargs)
    rng = np.random.default_rng(0)
    if ours.weight is not None:  # non-trivial affine parameters, shared by both
        ours.weight.data[...] = rng.uniform(0.5, 2.0, 3)
    if ours.bias is not None:
        ours.bias.data[...] = rng.normal(size=3)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    for step in range(4):
        x = (rng.normal(size=shape) * (step + 1) + step).astype(np.float32)
        module_parity(ours, theirs, x, seed=step, copy_weights=False)
        state, expected = ours.state_dict(), from_torch_state(theirs)
        assert list(state) == list(expected)
        for key in state:
            np.testing.assert_allclose(state[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 4
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape).astype(np.float32)
    before = ours.state_dict()
    module_parity(ours, theirs, x, copy_weights=False)
    after = ours.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # eval changes no statistic


def test_train_and_eval_differ_and_eval_is_per_sample():
    bn = nn.BatchNorm2d(2)
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 2, 4, 4)).astype(np.float32)
    train_out = bn(x).data
    assert abs(train_out.mean()) < 1e-5  # normalised with the batch's own statistics
    bn.eval()
    eval_out = bn(x).data
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_allclose(bn(x[:1]).data, eval_out[:1])  # no dependence on the batch


def test_num_batches_tracked_is_updated_in_place_and_not_in_eval():
    bn = nn.BatchNorm1d(2)
    counter = bn.num_batches_tracked
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    bn(x), bn(x)
    assert bn.num_batches_tracked is counter and counter == 2 and counter.dtype == np.int64
    bn.eval()(x)
    assert counter == 2


def test_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None)
    batches = [np.array([[1.0], [3.0]]), np.array([[5.0], [9.0]]), np.array([[0.0], [2.0]])]
    for b in batches:
        bn(b.astype(np.float32))
    means = [b.mean() for b in batches]
    np.testing.assert_allclose(bn.running_mean, [np.mean(means)], rtol=1e-6)


def test_reset_running_stats():
    bn = nn.BatchNorm2d(2)
    bn(np.random.default_rng(0).normal(size=(2, 2, 3, 3)).astype(np.float32))
    bn.reset_running_stats()
    assert np.all(bn.running_mean == 0) and np.all(bn.running_var == 1)
    assert bn.num_batches_tracked == 0


def test_batchnorm_float64():
    ours, theirs = nn.BatchNorm2d(3, dtype=np.float64), torch.nn.BatchNorm2d(3).double()
    assert ours.running_var.dtype == np.float64 and ours.weight.dtype == np.float64
    x = np.random.default_rng(0).normal(size=(4, 3, 2, 2))
    module_parity(ours, theirs, x)
