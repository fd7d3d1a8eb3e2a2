"""blas.matmul: np.matmul's result, on one BLAS thread for small products only."""

import threading

import numpy as np
import pytest

from convscope import blas


class RecordingBLAS:
    """Stands in for threadpoolctl's OpenBLAS controller; records thread counts set."""

    def __init__(self, threads):
        self.threads = threads
        self.calls = []

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, n):
        self.calls.append(n)
        self.threads = n


@pytest.fixture
def fake_blas(monkeypatch):
    fake = RecordingBLAS(2)
    monkeypatch.setattr(blas, "_controller", fake)
    return fake


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((3, 4), (4, 2)), ((5,), (5, 3)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 6)),
     ((300, 300), (300, 300))],
)  # fmt: skip
def test_same_result_as_numpy(a_shape, b_shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    np.testing.assert_array_equal(blas.matmul(a, b), np.matmul(a, b))
    out = np.empty(np.matmul(a, b).shape, np.float32)
    assert blas.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))


def test_small_products_run_on_one_thread_and_restore_the_count(fake_blas):
    a, b = np.ones((121, 288), np.float32), np.ones((288, 64), np.float32)  # W1 conv2, batch 1
    blas.matmul(a, b)
    assert fake_blas.calls == [1, 2] and fake_blas.threads == 2


def test_big_products_are_split_by_rows_over_the_blas_threads(fake_blas, monkeypatch):
    parts = []
    real = blas.run_parts
    monkeypatch.setattr(blas, "run_parts", lambda work, n: parts.append(n) or real(work, n))
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1024, 128)).astype(np.float32)
    b = rng.standard_normal((128, 128)).astype(np.float32)  # m·n·k = 2^24: two parts
    np.testing.assert_allclose(blas.matmul(a, b), np.matmul(a, b), rtol=1e-6, atol=1e-5)
    assert parts == [2] and fake_blas.calls == [1, 2] and fake_blas.threads == 2
    out = np.empty((1024, 128), np.float32)
    assert blas.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-6, atol=1e-5)
    half = a[:512]  # m·n·k = 2^23: big, but not enough for two threads
    np.testing.assert_allclose(blas.matmul(half, b), np.matmul(half, b), rtol=1e-6, atol=1e-5)
    assert parts == [2, 2]


def test_stacks_split_by_rows_of_each_product(fake_blas, monkeypatch):
    parts = []
    real = blas.run_parts
    monkeypatch.setattr(blas, "run_parts", lambda work, n: parts.append(n) or real(work, n))
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 128, 32)).astype(np.float32)
    b = rng.standard_normal((64, 32, 64)).astype(np.float32)  # 2^24 over the stack
    np.testing.assert_allclose(blas.matmul(a, b), np.matmul(a, b), rtol=1e-6, atol=1e-5)
    b2 = rng.standard_normal((32, 64)).astype(np.float32)  # broadcast over the stack
    np.testing.assert_allclose(blas.matmul(a, b2), np.matmul(a, b2), rtol=1e-6, atol=1e-5)
    assert parts == [2, 2]
    blas.matmul(a[:8], b[:8])  # 2^21: one thread, no parts
    assert parts == [2, 2] and fake_blas.calls[-2:] == [1, 2]


def test_no_change_while_other_threads_run(fake_blas):
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        blas.matmul(np.ones((4, 4)), np.ones((4, 4)))
    finally:
        release.set()
        other.join()
    assert fake_blas.calls == []


def test_the_count_is_restored_when_the_product_fails(fake_blas):
    with pytest.raises(ValueError):
        blas.matmul(np.ones((3, 4)), np.ones((5, 2)))
    assert fake_blas.calls == [1, 2] and fake_blas.threads == 2


def test_one_thread_already_means_no_change(monkeypatch):
    fake = RecordingBLAS(1)
    monkeypatch.setattr(blas, "_controller", fake)
    blas.matmul(np.ones((4, 4)), np.ones((4, 4)))
    assert fake.calls == []


def test_without_openblas_products_run_unchanged(monkeypatch):
    monkeypatch.setattr(blas, "_controller", False)
    np.testing.assert_array_equal(blas.matmul(np.eye(3), np.ones((3, 2))), np.ones((3, 2)))


def test_the_real_controller_is_numpys_openblas(monkeypatch):
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy.linalg")  # SciPy loads an OpenBLAS of its own
    monkeypatch.setattr(blas, "_controller", None)  # look it up afresh (cached once found)
    controller = blas._openblas()
    assert controller is not None and controller.internal_api == "openblas"
    assert "numpy" in controller.filepath
    before = controller.get_num_threads()
    blas.matmul(np.ones((8, 8), np.float32), np.ones((8, 8), np.float32))
    assert controller.get_num_threads() == before


@pytest.mark.parametrize(
    ("items", "n_parts", "expected"),
    [(7, 2, [(0, 3), (3, 7)]), (1, 1, [(0, 1)]), (6, 3, [(0, 2), (2, 4), (4, 6)]),
     (128, 1, [(0, 128)])],
)  # fmt: skip
def test_split_covers_every_item_once(items, n_parts, expected):
    assert blas.split(items, n_parts) == expected


def test_parts_follow_blas_threads_and_size(fake_blas, monkeypatch):
    monkeypatch.setattr(blas, "_exclusive", lambda: True)
    assert blas.parts(8, 2 * blas.SMALL_MNK) == 2  # one SMALL_MNK of work per thread at least
    assert blas.parts(8, 2 * blas.SMALL_MNK - 1) == 1
    assert blas.parts(1, 10**12) == 1  # one image cannot be split
    fake_blas.threads = 4
    assert blas.parts(3, 10**12) == 3  # never more parts than items
    fake_blas.threads = 1
    assert blas.parts(8, 10**12) == 1
    monkeypatch.setattr(blas, "_exclusive", lambda: False)
    fake_blas.threads = 2
    assert blas.parts(8, 10**12) == 1
    assert fake_blas.calls == []  # asking never changes the thread count


def test_run_parts_runs_each_part_once_on_its_own_thread(fake_blas, monkeypatch):
    monkeypatch.setattr(blas, "_exclusive", lambda: True)
    seen = {}

    def work(k):
        seen[k] = (threading.current_thread().name, fake_blas.threads)
        return k * 10

    assert blas.run_parts(work, 2) == [0, 10]
    assert seen[0][0] == threading.current_thread().name
    assert seen[1][0].startswith(blas.POOL_PREFIX)
    assert seen[0][1] == seen[1][1] == 1  # BLAS at one thread while the parts run
    assert fake_blas.calls == [1, 2] and fake_blas.threads == 2


def test_run_parts_waits_for_every_part_before_raising(fake_blas, monkeypatch):
    monkeypatch.setattr(blas, "_exclusive", lambda: True)
    finished = []

    def work(k):
        if k == 0:
            raise ValueError("part 0 failed")
        threading.Event().wait(0.05)
        finished.append(k)
        return k

    with pytest.raises(ValueError, match="part 0 failed"):
        blas.run_parts(work, 2)
    assert finished == [1] and fake_blas.threads == 2


def test_run_parts_inline_when_blas_cannot_be_switched(monkeypatch):
    monkeypatch.setattr(blas, "_controller", False)
    names = []
    assert blas.run_parts(lambda k: names.append(threading.current_thread().name) or k, 3) == [
        0,
        1,
        2,
    ]
    assert set(names) == {threading.current_thread().name}


def test_tqdms_monitor_thread_does_not_count_as_a_blas_user(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    from tqdm._monitor import TMonitor

    monitor = TMonitor(tqdm.tqdm, 1000)  # starts its thread; it only refreshes bars
    stranger = threading.Thread(target=lambda: None, name="someone-else")
    me = threading.current_thread()
    try:
        for threads, exclusive in (([me, monitor], True), ([me, monitor, stranger], False)):
            monkeypatch.setattr(threading, "enumerate", lambda threads=threads: threads)
            monkeypatch.setattr(threading, "active_count", lambda threads=threads: len(threads))
            assert blas._exclusive() is exclusive
    finally:
        monitor.exit()
