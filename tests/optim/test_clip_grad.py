"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""

import math

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import clip_grad_norm_, clip_grad_value_


def _pair(dtype, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s).astype(dtype) * scale for s in [(3, 4), (5,), (2, 2, 3)]]
    grads.insert(1, None)  # a parameter without gradient is ignored
    ours = [
        Tensor(np.zeros(s), requires_grad=True, dtype=dtype)
        for s in [(3, 4), (1,), (5,), (2, 2, 3)]
    ]
    theirs = [torch.zeros(p.shape, dtype=torch.from_numpy(p.data).dtype) for p in ours]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = None if g is None else g.copy()
        q.grad = None if g is None else torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6], ids=["clips", "no-op"])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    ours, theirs = _pair(dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert isinstance(total, Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.item(), expected.item(), rtol=tol)
    for p, q in zip(ours, theirs, strict=True):
        if q.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=tol, atol=tol)


def test_clip_grad_norm_result_has_max_norm():
    ours, _ = _pair(np.float64, scale=100.0)
    clip_grad_norm_(ours, 2.0)
    flat = np.concatenate([p.grad.ravel() for p in ours if p.grad is not None])
    assert np.linalg.norm(flat) == pytest.approx(2.0, rel=1e-6)


def test_clip_grad_norm_accepts_a_single_tensor_and_a_generator():
    w = Tensor(np.zeros(2), requires_grad=True)
    w.grad = np.array([3.0, 4.0])
    assert clip_grad_norm_(w, 10.0).item() == 5.0
    assert clip_grad_norm_((p for p in [w]), 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.grad, [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_without_grads_returns_zero():
    assert clip_grad_norm_([Tensor(np.zeros(2), requires_grad=True)], 1.0).item() == 0.0
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_error_if_nonfinite():
    w = Tensor(np.zeros(2), requires_grad=True)
    w.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype):
    ours, theirs = _pair(dtype, scale=2.0)
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs, strict=True):
        if q.grad is not None:
            assert p.grad.dtype == dtype
            np.testing.assert_array_equal(p.grad, q.grad.numpy())


def test_clip_grad_value_rejects_negative():
    with pytest.raises(
        ValueError, match=r"clip_grad_value_ expected clip_value >= 0; received -1\.0"
    ):
        clip_grad_value_([], -1)
