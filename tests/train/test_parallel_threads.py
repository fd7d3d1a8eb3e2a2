"""data_parallel from several threads, failing micro-batches, and batch-statistics corner cases."""

import threading
import tracemalloc

import numpy as np
import pytest

import convscope
from convscope import Tensor, nn
from convscope.nn import functional as F
from convscope.nn.functional import batch_group
from convscope.random import generator
from convscope.train import fit
from convscope.train.parallel import data_parallel, forward_backward

threadpoolctl = pytest.importorskip("threadpoolctl")


def bn_cnn(dropout2d=0.0, track=True, seed=0):
    convscope.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, track_running_stats=track), nn.ReLU(),
        nn.Dropout2d(dropout2d), nn.Flatten(), nn.Linear(4 * 6 * 6, 3),
    )  # fmt: skip


def data(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, n)


def test_dropout2d_in_workers_is_reproducible_and_leaves_the_global_stream_alone():
    x, y = data(24)
    finals = []
    for _ in range(3):
        model = bn_cnn(dropout2d=0.5)
        convscope.manual_seed(3)
        with data_parallel(2):
            fit(model, (x, y), epochs=2, batch_size=8, verbose=0)
        finals.append([p.data.copy() for p in model.parameters()])
    for run in finals[1:]:
        for a, b in zip(run, finals[0], strict=True):
            np.testing.assert_array_equal(a, b)
    model = bn_cnn(dropout2d=0.5)
    convscope.manual_seed(4)
    state = generator().bit_generator.state
    with data_parallel(2):
        forward_backward(model, nn.CrossEntropyLoss(), Tensor(x), Tensor(y))
    assert generator().bit_generator.state == state  # masks came from the workers' streams


def test_two_threads_each_in_data_parallel_with_batch_norm_do_not_wait_for_each_other(
    monkeypatch,
):
    real = batch_group.BatchGroup.__init__
    monkeypatch.setattr(
        batch_group.BatchGroup,
        "__init__",
        lambda self, parties, timeout=5.0: real(self, parties, timeout),
    )
    x, y = data()
    errors, start = [], threading.Barrier(2, timeout=30)

    def train(seed):
        try:
            model = bn_cnn(seed=seed)
            for _ in range(30):
                start.wait()  # both threads queue their micro-batches at the same moment
                with data_parallel(2):
                    forward_backward(model, nn.CrossEntropyLoss(), Tensor(x), Tensor(y))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=train, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and errors == []


def test_blas_stays_limited_until_the_last_thread_leaves(monkeypatch):
    # The limit is process-wide: the first thread in sets it, the last one out restores
    # it. (A fake limiter: threadpoolctl ignores thread-count changes from threads other
    # than its controlling one, so the real one could not show the order.)
    from convscope.train import parallel

    events = []

    class Limiter:
        def restore_original_limits(self):
            events.append("restored")

    monkeypatch.setattr(parallel, "_one_blas_thread", lambda: events.append("limited") or Limiter())
    a_in, b_in, a_out = (threading.Event() for _ in range(3))

    def a():
        with data_parallel(2):
            a_in.set()
            b_in.wait()
        a_out.set()

    def b():
        a_in.wait()
        with data_parallel(2):
            b_in.set()
            a_out.wait()
            events.append("B still inside after A left")

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert events == ["limited", "B still inside after A left", "restored"]


class FailsOnFour(nn.Module):
    def forward(self, x):
        if x.shape[0] == 4:
            raise ValueError("this micro-batch has 4 images")
        return x


def test_a_micro_batchs_own_error_reaches_the_caller_not_the_groups():
    model = bn_cnn()
    model = nn.Sequential(FailsOnFour(), *model)
    x, y = data(7)  # micro-batches of 3 and 4 images over 2 workers: the second fails,
    # and the first, waiting for it at BatchNorm, is released with BatchGroupAborted
    with pytest.raises(ValueError, match="4 images"):
        with data_parallel(2):
            forward_backward(model, nn.CrossEntropyLoss(), Tensor(x), Tensor(y))


def test_batch_norm_without_running_statistics_in_eval_mode_uses_the_whole_batch():
    x, y = data()
    grads = []
    for n in (1, 2):
        model = bn_cnn(track=False)
        model.eval()  # still batch statistics: there are no running ones
        model.zero_grad()
        with data_parallel(n):
            forward_backward(model, nn.CrossEntropyLoss(), Tensor(x), Tensor(y))
        grads.append([p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_batch_norm_keeps_no_copy_of_a_strided_input():
    rng = np.random.default_rng(5)
    wide = rng.standard_normal((64, 8, 16, 32)).astype(np.float32)
    x = Tensor(wide[..., ::2], requires_grad=True)  # strided: neither layout, copied inside
    nbytes = x.data.size * 4
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        out = F.batch_norm(x, None, None, training=True)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == x.shape
    assert held - before <= 2.2 * nbytes  # the output and the centred values, no third copy
