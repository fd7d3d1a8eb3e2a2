"""batch_norm on every memory layout its input and upstream gradient can arrive in.

batch_norm works on the matrix the input's memory already is (channels-last conv
outputs are not copied). The oracle is PyTorch on contiguous copies of the same
values, forward, gradients and running statistics, for each pairing of input and
gradient layouts, in training and evaluation, with and without γ/β.
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from convscope import Tensor
from convscope.nn import functional as F


def stored(a, layout):
    """``a``'s values stored in ``layout`` (same shape, same values)."""
    if layout == "standard":
        return np.ascontiguousarray(a)
    if layout == "channels-last":
        order = (0, *range(2, a.ndim), 1)
        back = np.argsort(order)
        return np.ascontiguousarray(a.transpose(order)).transpose(back)
    if layout == "strided":  # every other element of a wider last axis
        wide = np.concatenate([a, np.zeros_like(a)], axis=-1)
        return wide[..., : a.shape[-1]]
    if layout == "negative":
        return np.flip(np.flip(a, 0).copy(), 0)
    raise AssertionError(layout)


LAYOUTS = ["standard", "channels-last", "strided", "negative"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 3, 5, 4), (4, 5, 7), (8, 3)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_every_input_and_gradient_layout_matches_torch(dtype, shape, training, affine):
    rng = np.random.default_rng(0)
    c = shape[1]
    values = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
    upstream = rng.standard_normal(shape).astype(dtype)
    weight = rng.uniform(0.5, 2, c).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    start_mean, start_var = (
        rng.standard_normal(c).astype(dtype),
        rng.uniform(0.5, 2, c).astype(dtype),
    )

    t_x = torch.tensor(values, requires_grad=True)
    t_params = [torch.tensor(v, requires_grad=True) for v in (weight, bias)] if affine else []
    t_mean, t_var = torch.tensor(start_mean), torch.tensor(start_var)
    expected = TF.batch_norm(t_x, t_mean, t_var, *t_params, training=training)
    expected.backward(torch.tensor(upstream))
    tol = 2e-6 if dtype == np.float32 else 1e-12

    input_layouts = LAYOUTS if len(shape) > 2 else ["standard", "strided", "negative"]
    for x_layout, g_layout in itertools.product(input_layouts, input_layouts):
        where = f"input {x_layout}, gradient {g_layout}"
        x = Tensor(stored(values, x_layout), requires_grad=True)
        params = [Tensor(v.copy(), requires_grad=True) for v in (weight, bias)] if affine else []
        mean, var = start_mean.copy(), start_var.copy()
        out = F.batch_norm(x, mean, var, *params, training=training)
        assert out.dtype == dtype and out.shape == shape
        np.testing.assert_allclose(
            out.data, expected.detach().numpy(), rtol=tol, atol=tol, err_msg=where
        )
        out.backward(stored(upstream, g_layout))
        np.testing.assert_allclose(x.grad, t_x.grad.numpy(), rtol=tol, atol=tol, err_msg=where)
        assert x.grad.shape == shape
        for mine, theirs in zip(params, t_params, strict=True):
            np.testing.assert_allclose(
                mine.grad, theirs.grad.numpy(), rtol=tol, atol=tol, err_msg=where
            )
        np.testing.assert_allclose(mean, t_mean.numpy(), rtol=tol, atol=tol, err_msg=where)
        np.testing.assert_allclose(var, t_var.numpy(), rtol=tol, atol=tol, err_msg=where)


def test_channels_last_input_gives_channels_last_output_without_a_copy_of_the_input():
    values = np.random.default_rng(1).standard_normal((4, 3, 5, 5)).astype(np.float32)
    x = Tensor(stored(values, "channels-last"), requires_grad=True)
    out = F.batch_norm(x, None, None, training=True)
    assert out.data.transpose(0, 2, 3, 1).flags.c_contiguous  # ReLU and pooling read it in order
    out.backward(stored(np.ones_like(values), "channels-last"))
    assert x.grad.transpose(0, 2, 3, 1).flags.c_contiguous  # conv2d's backward wants this layout


def test_input_changed_in_place_after_forward_does_not_change_the_gradient():
    # The backward reads only its own centred copy and γ (saves=γ), like the output's
    # values never being read back: so changing the input afterwards is allowed.
    rng = np.random.default_rng(2)
    values = rng.standard_normal((5, 2, 3)).astype(np.float64)
    upstream = rng.standard_normal((5, 2, 3))
    reference = Tensor(values.copy(), requires_grad=True)
    F.batch_norm(reference, None, None, training=True).backward(upstream)
    x = Tensor(values.copy(), requires_grad=True)
    out = F.batch_norm(x, None, None, training=True)
    x.data[...] = 0
    out.backward(upstream)
    np.testing.assert_array_equal(x.grad, reference.grad)


def test_changing_gamma_between_forward_and_backward_raises_as_torch():
    # The backward reads γ: an optimizer step in between must be detected.
    rng = np.random.default_rng(3)
    values = rng.standard_normal((4, 2, 3)).astype(np.float32)
    messages = []
    for lib in ("convscope", "torch"):
        if lib == "convscope":
            from convscope import no_grad

            x, w = (
                Tensor(values, requires_grad=True),
                Tensor(np.ones(2, np.float32), requires_grad=True),
            )
            out = F.batch_norm(x, None, None, w, None, training=True)
        else:
            from torch import no_grad

            x, w = torch.tensor(values, requires_grad=True), torch.ones(2, requires_grad=True)
            out = TF.batch_norm(x, None, None, w, None, training=True)
        with no_grad():
            w *= 2.0
        with pytest.raises(RuntimeError) as caught:
            out.sum().backward()
        messages.append(str(caught.value))
    assert all("modified by an inplace operation" in m for m in messages), messages
    assert "batch_norm" in messages[0]
