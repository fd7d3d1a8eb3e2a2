"""Transposed convolution, adaptive pooling, dropout2d and window geometry edges (mutation
survivors of nn/functional/): PyTorch's results for 1-pixel outputs, per-axis dilation and
NaN windows, dropout2d's default p and p=1, and the errors' function and argument names."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.nn import functional as F
from convscope.nn.functional.geometry import WindowGeometry
from convscope.random import manual_seed

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("in_hw", "kernel", "kwargs"),
    [
        ((1, 1), (1, 1), {}),  # a 1x1 output
        ((2, 1), (1, 1), {"stride": 2}),  # width 1
        ((3, 3), (2, 2), {"dilation": (2, 1)}),
        ((3, 3), (2, 2), {"dilation": (1, 2), "stride": (1, 2), "output_padding": (0, 1)}),
        ((2, 3), (3, 2), {"dilation": (1, 3), "padding": (1, 2)}),
    ],
)
def test_conv_transpose_shapes_and_gradients_like_torch(in_hw, kernel, kwargs):
    x = RNG.standard_normal((2, 3, *in_hw))
    w = RNG.standard_normal((3, 2, *kernel))
    b = RNG.standard_normal(2)
    ours = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv_transpose2d(*ours, **kwargs)
    tout = torch.nn.functional.conv_transpose2d(*theirs, **kwargs)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose_backward_for_the_weight_only_like_torch():
    x, w = RNG.standard_normal((1, 2, 3, 3)), RNG.standard_normal((2, 1, 2, 2))
    tw, ttw = Tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.conv_transpose2d(Tensor(x), tw).sum().backward()
    torch.nn.functional.conv_transpose2d(torch.tensor(x), ttw).sum().backward()
    np.testing.assert_allclose(tw.grad, ttw.grad.numpy(), rtol=1e-10)
    assert F.conv_transpose2d(Tensor(x), tw).grad_fn == "conv_transpose2d"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, "Invalid value for argument `stride`. Expected an int >= 1"),
        ({"dilation": 0}, "Invalid value for argument `dilation`. Expected an int >= 1"),
        ({"padding": -1}, "Invalid value for argument `padding`. Expected an int >= 0"),
        (
            {"output_padding": -1},
            "Invalid value for argument `output_padding`. Expected an int >= 0",
        ),
    ],
)
def test_conv_transpose_argument_errors_name_the_argument(kwargs, message):
    x, w = Tensor(np.ones((1, 2, 3, 3), np.float32)), Tensor(np.ones((2, 1, 2, 2), np.float32))
    with pytest.raises(ValueError) as info:
        F.conv_transpose2d(x, w, **kwargs)
    assert str(info.value).startswith(message)


def test_conv_transpose_input_errors_name_the_tensor():
    x, w = Tensor(np.ones((1, 2, 3, 3), np.float32)), Tensor(np.ones((2, 1, 2, 2), np.float32))
    cases = [
        (lambda: F.conv_transpose2d(x, Tensor(np.ones((2, 3), np.float32))), ValueError,
         "conv_transpose2d expected a 4-D weight of shape (in_channels, out_channels / groups, "
         "KH, KW); received weight of shape (2, 3)."),
        (lambda: F.conv_transpose2d(Tensor(np.ones((2, 3), np.float32)), w), ValueError,
         "conv_transpose2d expected a 4-D input of shape (N, C, H, W); received input of shape"),
        (lambda: F.conv_transpose2d(x, w, Tensor(np.ones(1))), TypeError,
         "conv_transpose2d expected bias of the input's dtype float32; received float64."),
        (lambda: F.conv_transpose2d(x, Tensor(np.ones((2, 1, 2, 2)))), TypeError,
         "conv_transpose2d expected weight of the input's dtype float32; received float64."),
        (lambda: F.conv_transpose2d(Tensor(np.ones((1, 2, 3, 3), np.int64)), w), TypeError,
         "conv_transpose2d expected a floating-point input; received dtype int64."),
        (lambda: F.conv_transpose2d(x, Tensor(np.ones((2, 1, 2, 2), np.int64))), TypeError,
         "conv_transpose2d expected a floating-point weight; received dtype int64."),
    ]  # fmt: skip
    for call, kind, message in cases:
        with pytest.raises(kind) as info:
            call()
        assert str(info.value).startswith(message), str(info.value)


# ------------------------------------------------------------------ adaptive pooling


def test_adaptive_max_pool_gradient_goes_to_the_nan_like_torch():
    x = RNG.standard_normal((1, 2, 5, 4))
    x[0, 0, 1, 2] = np.nan
    x[0, 1, 4, 0] = np.nan
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.adaptive_max_pool2d(t, (2, 3))
    tout = torch.nn.functional.adaptive_max_pool2d(tt, (2, 3))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    assert t.grad.dtype == np.float64


@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pooling_errors_name_the_function(name):
    fn = getattr(F, name)
    with pytest.raises(ValueError) as info:
        fn(Tensor(np.ones((1, 1, 0, 3), np.float32)), 2)
    assert (
        str(info.value)
        == f"{name} expected a non-empty image; received input of shape (1, 1, 0, 3)."
    )
    with pytest.raises(ValueError) as info:
        fn(Tensor(np.ones((1, 1, 3, 3), np.float32)), 0)
    assert str(info.value).startswith(f"{name} expected output_size to be a positive integer")
    assert fn(Tensor(np.ones((1, 1, 3, 3), np.float32), requires_grad=True), 2).grad_fn == name


# ------------------------------------------------------------------ dropout2d


def test_dropout2d_default_p_is_torchs_half_and_p_one_drops_everything():
    manual_seed(0)
    out = F.dropout2d(Tensor(np.ones((100, 100, 2, 2), np.float32))).data
    per_channel = out[:, :, 0, 0]
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert (out == per_channel[:, :, None, None]).all()  # whole channels
    assert abs((per_channel == 0).mean() - 0.5) < 0.02  # 10 000 channels: 4 standard deviations
    x = np.ones((2, 3, 2, 2), np.float32)
    np.testing.assert_array_equal(
        F.dropout2d(Tensor(x), p=1.0).data,
        torch.nn.functional.dropout2d(torch.tensor(x), p=1.0).numpy(),
    )
    with pytest.raises(
        ValueError, match=r"^dropout2d expected a probability p in \[0, 1\]; received p=2\.$"
    ):
        F.dropout2d(Tensor(x), p=2)


# ------------------------------------------------------------------ geometry


def test_window_geometry_names_its_arguments_and_uses_dilation():
    for kwargs, name in (({"stride": 0}, "stride"), ({"dilation": 0}, "dilation")):
        with pytest.raises(ValueError) as info:
            WindowGeometry(kernel=2, **kwargs)
        assert str(info.value).startswith(f"Invalid value for argument `{name}`.")
    geometry = WindowGeometry(kernel=3, dilation=(2, 1))
    expected = torch.nn.functional.conv2d(
        torch.zeros(1, 1, 9, 9), torch.zeros(1, 1, 3, 3), dilation=(2, 1)
    )
    assert geometry.output_size((9, 9)) == tuple(expected.shape[2:]) == (5, 7)


def test_dropout2d_p_zero_is_the_identity_like_torch():
    x = RNG.standard_normal((2, 3, 2, 2))
    np.testing.assert_array_equal(
        F.dropout2d(Tensor(x), p=0.0).data,
        torch.nn.functional.dropout2d(torch.tensor(x), p=0.0).numpy(),
    )


def test_dropout2d_of_one_image_drops_whole_channels():
    manual_seed(1)
    out = F.dropout2d(Tensor(np.ones((400, 3, 2), np.float32)), p=0.5).data  # (C, H, W)
    assert out.shape == (400, 3, 2)
    assert (out == out[:, :1, :1]).all()  # each channel all kept (2.0) or all dropped (0.0)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert F.dropout2d(Tensor(np.ones((1, 2, 2, 2)), requires_grad=True)).grad_fn == "dropout2d"


@pytest.mark.parametrize("p", [True, "a", -0.1, 1.1])
def test_dropout2d_rejects_bad_probabilities(p):
    with pytest.raises(ValueError) as info:
        F.dropout2d(Tensor(np.ones((1, 2, 2, 2), np.float32)), p=p)
    assert str(info.value) == f"dropout2d expected a probability p in [0, 1]; received p={p!r}."


def test_dropout2d_shape_error():
    with pytest.raises(ValueError) as info:
        F.dropout2d(Tensor(np.ones((2, 3), np.float32)))
    assert str(info.value) == (
        "dropout2d expected input of shape (N, C, H, W) or (C, H, W); received (2, 3)."
    )


def test_window_geometry_same_padding_accounts_for_dilation_like_torch():
    geometry = WindowGeometry(kernel=3, dilation=(2, 1), padding="same")
    expected = torch.nn.functional.conv2d(
        torch.zeros(1, 1, 9, 8), torch.zeros(1, 1, 3, 3), dilation=(2, 1), padding="same"
    )
    assert geometry.output_size((9, 8)) == tuple(expected.shape[2:]) == (9, 8)
