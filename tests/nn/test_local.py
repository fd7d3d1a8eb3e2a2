"""LocallyConnected2d and TiledConv2d: plain-loop references, gradcheck, PyTorch conv limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.oracle import check_grad, torch_parity

import convscope
from convscope import Tensor, nn
from convscope.nn import functional as F

RNG = np.random.default_rng(0)


def loop_local(x, w, b, stride, pad):
    """out[n,o,y,x] = b[o,y,x] + Σ w[y,x,o,c,i,j] · xpad[n,c,y·s+i,x·s+j], by loops."""
    n, c, h, wd = x.shape
    oh, ow, o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), dtype=np.float64)
    xp[:, :, pad : pad + h, pad : pad + wd] = x
    out = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for y in range(oh):
                for xx in range(ow):
                    total = 0.0 if b is None else b[oi, y, xx]
                    for ci in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += (
                                    w[y, xx, oi, ci, i, j]
                                    * xp[ni, ci, y * stride + i, xx * stride + j]
                                )
                    out[ni, oi, y, xx] = total
    return out


def loop_tiled(x, w, b, stride, pad):
    """Tiled convolution by loops: location (y, x) uses kernel (y % TH, x % TW)."""
    th, tw, o, c, kh, kw = w.shape
    h, wd = x.shape[2:]
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    local = np.empty((oh, ow, o, c, kh, kw))
    for y in range(oh):
        for xx in range(ow):
            local[y, xx] = w[y % th, xx % tw]
    out = loop_local(x, local, None, stride, pad)
    return out if b is None else out + b[None, :, None, None]


@pytest.mark.parametrize("stride,pad,bias", [(1, 0, True), (2, 1, False), (1, 1, True)])
def test_locally_connected_matches_loops(stride, pad, bias):
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
    oh, ow = (7 + 2 * pad - 3) // stride + 1, (6 + 2 * pad - 2) // stride + 1
    w = RNG.standard_normal((oh, ow, 4, 3, 3, 2)).astype(np.float32)
    b = RNG.standard_normal((4, oh, ow)).astype(np.float32) if bias else None
    out = F.locally_connected2d(x, w, b, stride=stride, padding=pad)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), loop_local(x, w, b, stride, pad), atol=1e-4)


@pytest.mark.parametrize("tile,stride,pad", [((2, 2), 1, 0), ((3, 1), 2, 1), ((1, 2), 1, 1)])
def test_tiled_matches_loops(tile, stride, pad):
    x = RNG.standard_normal((2, 2, 7, 8)).astype(np.float32)
    w = RNG.standard_normal((*tile, 3, 2, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)
    out = F.tiled_conv2d(x, w, b, stride=stride, padding=pad)
    np.testing.assert_allclose(out.numpy(), loop_tiled(x, w, b, stride, pad), atol=1e-4)


def test_locally_connected_gradcheck():
    x = RNG.standard_normal((2, 2, 5, 4))
    w = RNG.standard_normal((3, 5, 3, 2, 3, 2))  # 3x5 locations
    b = RNG.standard_normal((3, 3, 5))
    check_grad(lambda a, k, c: F.locally_connected2d(a, k, c, stride=(2, 1), padding=1), x, w, b)


def test_tiled_gradcheck():
    x = RNG.standard_normal((2, 2, 6, 5))
    w = RNG.standard_normal((2, 3, 2, 2, 2, 2))
    b = RNG.standard_normal(2)
    check_grad(lambda a, k, c: F.tiled_conv2d(a, k, c, padding="same"), x, w, b)


def test_shared_kernels_equal_torch_conv2d():
    """A locally connected layer whose kernels are all equal, and a 1×1 tiling, are a conv."""
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    k = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    torch_parity(
        lambda a, kk, bb: F.tiled_conv2d(a, kk.reshape(1, 1, 4, 3, 3, 3), bb, stride=2, padding=1),
        lambda a, kk, bb: torch.nn.functional.conv2d(a, kk, bb, stride=2, padding=1),
        x,
        k,
        b,
    )
    same = np.broadcast_to(k, (6, 6, *k.shape)).copy()
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(k)).numpy()
    np.testing.assert_allclose(F.locally_connected2d(x, same).numpy(), expected, atol=1e-4)


def test_parameter_counts_and_shapes():
    convscope.manual_seed(0)
    local = nn.LocallyConnected2d(3, 8, 3, input_size=(10, 12), stride=2, padding=1)
    assert local.weight.shape == (5, 6, 8, 3, 3, 3) and local.bias.shape == (8, 5, 6)
    assert local.num_parameters() == 5 * 6 * 8 * (3 * 9 + 1)
    tiled = nn.TiledConv2d(3, 8, 3, tile_size=(2, 3))
    assert tiled.num_parameters() == 2 * 3 * 8 * 27 + 8
    assert tiled(np.zeros((1, 3, 10, 12), np.float32)).shape == (1, 8, 8, 10)
    assert local(np.zeros((4, 3, 10, 12), np.float32)).shape == (4, 8, 5, 6)
    assert repr(tiled) == "TiledConv2d(3, 8, kernel_size=(3, 3), tile_size=(2, 3), stride=(1, 1))"


def test_layers_train_their_parameters():
    convscope.manual_seed(1)
    for layer in (nn.LocallyConnected2d(1, 2, 3, input_size=5), nn.TiledConv2d(1, 2, 3)):
        layer(Tensor(RNG.standard_normal((2, 1, 5, 5)).astype(np.float32))).sum().backward()
        assert all(p.grad is not None and np.any(p.grad) for p in layer.parameters())


def test_errors_say_what_was_expected():
    local = nn.LocallyConnected2d(1, 2, 3, input_size=(8, 8))
    with pytest.raises(ValueError, match=r"input_size=\(8, 8\)\) expected input of shape"):
        local(np.zeros((1, 1, 9, 9), np.float32))
    with pytest.raises(ValueError, match="expected input of shape \\(N, 1, H, W\\)"):
        nn.TiledConv2d(1, 2, 3)(np.zeros((1, 2, 9, 9), np.float32))
    with pytest.raises(ValueError, match="weight for a 6x6 output"):
        F.locally_connected2d(
            np.zeros((1, 1, 8, 8), np.float32), np.zeros((5, 5, 1, 1, 3, 3), np.float32)
        )
    with pytest.raises(ValueError, match="6-D weight"):
        F.tiled_conv2d(np.zeros((1, 1, 8, 8), np.float32), np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid value for argument `tile_size`"):
        nn.TiledConv2d(1, 2, 3, tile_size=0)
