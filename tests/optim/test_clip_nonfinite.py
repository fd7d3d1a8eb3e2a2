"""clip_grad_norm_ with infinite gradients and error_if_nonfinite=False, as PyTorch: no warning."""

import warnings

import numpy as np
import torch

from convscope import Tensor
from convscope.optim import clip_grad_norm_


def test_infinite_gradient_scales_silently_like_torch():
    grads = [np.array([np.inf, 1.0], np.float32), np.array([2.0, -3.0], np.float32)]
    ours = [Tensor(np.zeros(2, np.float32), requires_grad=True) for _ in grads]
    theirs = [torch.zeros(2, requires_grad=True) for _ in grads]
    for o, t, g in zip(ours, theirs, grads, strict=True):
        o.grad = g.copy()
        t.grad = torch.from_numpy(g.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "invalid value" RuntimeWarning would raise
        total = clip_grad_norm_(ours, 1.0, error_if_nonfinite=False)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=False)
    assert float(total.item()) == float(t_total) == float("inf")
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.grad, t.grad.numpy())  # NaN where torch has NaN
