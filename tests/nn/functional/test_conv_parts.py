"""conv2d split over the batch (blas.parts / run_parts): the same convolution, on threads.

In ``make test`` BLAS runs one thread per xdist worker, so the split is never taken by
itself; here BLAS gets two threads, the size threshold is lowered to nothing and the
process counts as exclusive, so every conv2d below runs in two parts — checked against
PyTorch (float64) and against the unsplit op.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from convscope import Tensor, blas
from convscope.nn import functional as F
from oracle import torch_parity

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture
def two_parts(monkeypatch):
    if blas._openblas() is None:
        pytest.skip("threadpoolctl cannot reach NumPy's OpenBLAS")
    calls = []
    real = blas.run_parts

    def spy(work, n_parts):
        calls.append(n_parts)
        return real(work, n_parts)

    monkeypatch.setattr(blas, "SMALL_MNK", 1)
    monkeypatch.setattr(blas, "_exclusive", lambda: True)
    monkeypatch.setattr(blas, "run_parts", spy)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield calls


CASES = [
    # n, c_in, c_out, size, kernel, stride, padding, dilation, groups, bias
    (2, 3, 4, 7, 3, 1, 0, 1, 1, True),
    (3, 2, 4, 8, 3, 2, 1, 1, 1, False),
    (5, 4, 6, 6, 3, 1, "same", 1, 2, True),
    (4, 3, 3, 9, (3, 2), (2, 1), (1, 0), (2, 1), 3, True),
    (7, 1, 8, 5, 1, 1, 0, 1, 1, False),
    (2, 6, 4, 5, 5, 1, 2, 1, 2, False),
]


@pytest.mark.parametrize("case", CASES)
def test_split_convolution_matches_torch(two_parts, case):
    n, c_in, c_out, size, kernel, stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    arrays = [
        rng.standard_normal((n, c_in, size, size)),
        rng.standard_normal((c_out, c_in // groups, *k)),
    ]
    if bias:
        arrays.append(rng.standard_normal(c_out))
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    torch_parity(
        lambda x, w, *b: F.conv2d(x, w, *b, **options),
        lambda x, w, *b: TF.conv2d(x, w, *b, **options),
        *arrays,
        atol=1e-12,
        rtol=1e-12,
    )
    assert two_parts == [2, 2]  # the forward and the backward each ran in two parts


def test_split_equals_unsplit_on_channels_last_float32(two_parts, monkeypatch):
    rng = np.random.default_rng(1)
    nhwc = rng.standard_normal((6, 9, 9, 5)).astype(np.float32)
    weight = rng.standard_normal((7, 5, 3, 3)).astype(np.float32)
    upstream = rng.standard_normal((6, 7, 9, 9)).astype(np.float32)

    def run():
        x = Tensor(nhwc.transpose(0, 3, 1, 2), requires_grad=True)  # a conv2d output's layout
        w = Tensor(weight, requires_grad=True)
        out = F.conv2d(x, w, padding=1)
        out.backward(upstream)
        return out.numpy(), x.grad, w.grad

    split = run()
    assert two_parts == [2, 2]
    monkeypatch.setattr(blas, "SMALL_MNK", 1 << 60)  # nothing is big enough: one part
    whole = run()
    assert two_parts[2:] == [1, 1]
    for a, b in zip(split, whole, strict=True):
        # Output and dx are the same products; dW adds two partial sums (float32 rounding).
        assert np.abs(a - b).max() <= 1e-6 * np.abs(b).max()
    np.testing.assert_array_equal(split[0], whole[0])
    np.testing.assert_array_equal(split[1], whole[1])


def test_no_split_while_another_thread_of_the_process_runs(monkeypatch):
    import threading

    if blas._openblas() is None:
        pytest.skip("threadpoolctl cannot reach NumPy's OpenBLAS")
    monkeypatch.setattr(blas, "SMALL_MNK", 1)
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="someone-else")
    other.start()
    try:
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            assert blas.parts(8, 10**9) == 1
    finally:
        release.set()
        other.join()


def test_input_gradient_only_and_weight_gradient_only(two_parts):
    rng = np.random.default_rng(2)
    x_data = rng.standard_normal((4, 3, 6, 6))
    w_data = rng.standard_normal((5, 3, 3, 3))
    for x_grad, w_grad in ((True, False), (False, True)):
        x, w = Tensor(x_data, requires_grad=x_grad), Tensor(w_data, requires_grad=w_grad)
        tx = torch.tensor(x_data, requires_grad=x_grad)
        tw = torch.tensor(w_data, requires_grad=w_grad)
        F.conv2d(x, w, padding=1).sum().backward()
        TF.conv2d(tx, tw, padding=1).sum().backward()
        for ours, theirs in ((x, tx), (w, tw)):
            if theirs.requires_grad:
                np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
            else:
                assert ours.grad is None
