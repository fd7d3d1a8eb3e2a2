"""Data-parallel steps: gradients as the single-threaded step's, fallbacks, determinism."""

import threading

import numpy as np
import pytest

import convscope
from convscope import Tensor, nn
from convscope.train import fit
from convscope.train.parallel import data_parallel, forward_backward, replicate, workers


def small_cnn(dropout=0.0, dtype=np.float32):
    convscope.manual_seed(0)
    layers = [
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(6 * 3 * 3, 5),
    ]  # fmt: skip
    model = nn.Sequential(*layers)
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def batch(n=13, dtype=np.float32):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 1, 14, 14)).astype(dtype)
    return Tensor(x), Tensor(rng.integers(0, 5, n))


def grads_of(model, n_workers, x, y):
    model.zero_grad()
    with data_parallel(n_workers):
        output, loss = forward_backward(model, nn.CrossEntropyLoss(), x, y)
    return output.numpy(), float(loss.item()), [p.grad.copy() for p in model.parameters()]


def grads_in_chunks(model, n_workers, n_chunks, x, y):
    model.zero_grad()
    with data_parallel(n_workers, n_chunks):
        forward_backward(model, nn.CrossEntropyLoss(), x, y)
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("n_workers", [2, 3, 13])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_gradients_equal_the_single_threaded_step(n_workers, dtype, tol):
    model = small_cnn(dtype=dtype)
    x, y = batch(dtype=dtype)
    out1, loss1, grads1 = grads_of(model, 1, x, y)
    out_n, loss_n, grads_n = grads_of(model, n_workers, x, y)
    np.testing.assert_allclose(out_n, out1, rtol=tol, atol=tol)
    assert loss_n == pytest.approx(loss1, rel=tol)
    for a, b in zip(grads_n, grads1, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_gradients_accumulate_onto_existing_ones_like_backward():
    model = small_cnn(dtype=np.float64)
    x, y = batch(dtype=np.float64)
    _, _, once = grads_of(model, 1, x, y)
    with data_parallel(2):
        forward_backward(model, nn.CrossEntropyLoss(), x, y)  # on top of the first
    for p, g in zip(model.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12)


def test_replicas_share_arrays_but_not_tensors():
    model = small_cnn()
    replica, pairs = replicate(model)
    assert len(pairs) == len(list(model.parameters()))
    for p, twin in pairs:
        assert twin is not p and twin.data is p.data
    assert [q is twin for (_, twin), q in zip(pairs, replica.parameters(), strict=True)]


def test_seeded_dropout_runs_are_reproducible():
    x, y = batch()
    runs = []
    for _ in range(2):
        model = small_cnn(dropout=0.5)
        convscope.manual_seed(7)
        runs.append(grads_of(model, 2, x, y)[2])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def bn_model(dtype=np.float64):
    convscope.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
        nn.Linear(432, 6), nn.BatchNorm1d(6), nn.Linear(6, 5),
    )  # fmt: skip
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean = m.running_mean.astype(dtype)
            m.running_var = m.running_var.astype(dtype)
    return model


def running_stats(model):
    return [
        (m.running_mean.copy(), m.running_var.copy(), int(m.num_batches_tracked))
        for m in model.modules()
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
    ]


@pytest.mark.parametrize("n_workers", [2, 3])
def test_batch_norm_models_split_with_the_whole_batchs_statistics(n_workers):
    # SyncBatchNorm for threads: outputs, gradients and running statistics equal the
    # single-threaded step on the whole batch (float64, up to summation order).
    x, y = batch(dtype=np.float64)
    single_model, split_model = bn_model(), bn_model()
    out1, loss1, single = grads_of(single_model, 1, x, y)
    out_n, loss_n, split = grads_of(split_model, n_workers, x, y)
    np.testing.assert_allclose(out_n, out1, rtol=1e-12, atol=1e-12)
    assert loss_n == pytest.approx(loss1, rel=1e-12)
    for a, b in zip(split, single, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for (m1, v1, k1), (mn, vn, kn) in zip(
        running_stats(single_model), running_stats(split_model), strict=True
    ):
        np.testing.assert_allclose(mn, m1, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(vn, v1, rtol=1e-12, atol=1e-14)
        assert kn == k1 == 1  # counted once, not once per worker


def test_split_batch_norm_step_matches_torch_on_the_whole_batch():
    torch = pytest.importorskip("torch")
    x, y = batch(dtype=np.float64)
    model = bn_model()
    t_model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(432, 6), torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 5),
    ).double()  # fmt: skip
    t_model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    )
    _, loss, grads = grads_of(model, 2, x, y)
    t_loss = torch.nn.functional.cross_entropy(
        t_model(torch.from_numpy(x.data)), torch.from_numpy(y.data)
    )
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for ours, theirs in zip(grads, t_model.parameters(), strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    t_stats = [
        (m.running_mean.numpy(), m.running_var.numpy())
        for m in t_model
        if "BatchNorm" in type(m).__name__
    ]
    for (mean, var, _), (t_mean, t_var) in zip(running_stats(model), t_stats, strict=True):
        np.testing.assert_allclose(mean, t_mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(var, t_var, rtol=1e-12, atol=1e-14)


def test_batch_norm_models_with_one_worker_and_chunks_are_not_split_and_say_so():
    x, y = batch()
    single_model, chunked_model = bn_model(np.float32), bn_model(np.float32)
    _, _, single = grads_of(single_model, 1, x, y)
    with pytest.warns(UserWarning, match="BatchNorm layers in training mode"):
        chunked = grads_in_chunks(chunked_model, 1, 4, x, y)
    for a, b in zip(chunked, single, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failing_worker_releases_the_others_instead_of_hanging():
    model = bn_model()
    x, y = batch(dtype=np.float64)
    bad = nn.Sequential(*list(model.children())[:3], nn.Flatten(), nn.Linear(5, 5))
    # Every micro-batch fails at the Linear (432 features, not 5) after BatchNorm2d's
    # statistics were shared; the error is the Linear's, not a barrier timeout.
    with pytest.raises(ValueError, match="Linear"):
        grads_of(bad, 2, x, y)


def test_workers_is_per_thread_and_restored():
    seen = []
    with data_parallel(2):
        thread = threading.Thread(target=lambda: seen.append(workers()))
        thread.start()
        thread.join()
        assert workers() == 2
    assert workers() == 1 and seen == [1]


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_worker_counts(n):
    with pytest.raises(
        ValueError, match=r"data_parallel expected a number of workers >= 1; received workers="
    ):
        with data_parallel(n):
            pass


def test_fit_inside_data_parallel_matches_fit_alone():
    x = np.random.default_rng(2).standard_normal((40, 1, 14, 14)).astype(np.float64)
    y = np.random.default_rng(3).integers(0, 5, 40)
    histories = []
    for n in (1, 2):
        model = small_cnn(dtype=np.float64)
        convscope.manual_seed(5)
        with data_parallel(n):
            histories.append(fit(model, (x, y), epochs=2, batch_size=16, verbose=0).history)
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-10)


@pytest.mark.parametrize("n_workers, n_chunks", [(2, 4), (2, 5), (3, 2), (1, 3)])
def test_more_chunks_than_threads_give_the_same_gradients(n_workers, n_chunks):
    model = small_cnn(dtype=np.float64)
    x, y = batch(dtype=np.float64)
    single = grads_in_chunks(model, 1, 1, x, y)
    split = grads_in_chunks(model, n_workers, n_chunks, x, y)
    for a, b in zip(split, single, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_bad_chunk_counts():
    with pytest.raises(ValueError, match=r"number of chunks >= 1; received chunks=0"):
        with data_parallel(2, 0):
            pass
