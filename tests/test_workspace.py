"""The buffer pool: reuse only when nothing refers to a buffer, layouts, limits, mallopt."""

import threading

import numpy as np
import pytest

from convscope import workspace


@pytest.fixture(autouse=True)
def empty_pool():
    workspace.clear()
    yield
    workspace.clear()


def test_a_freed_buffer_is_reused():
    a = workspace.empty((256, 1024), np.float32)
    address = a.ctypes.data
    del a
    assert workspace.empty((256, 1024), np.float32).ctypes.data == address


def test_a_buffer_is_never_handed_out_while_a_view_of_it_lives():
    a = workspace.empty((256, 1024), np.float32)
    a[:] = 7
    view = a.T[::2]  # a view of a view: still keeps the buffer alive
    del a
    b = workspace.empty((256, 1024), np.float32)
    b[:] = 0
    assert not np.shares_memory(b, view)
    assert np.all(view == 7)


def test_small_arrays_bypass_the_pool():
    before = workspace.pooled_bytes()
    a = workspace.empty((10, 10), np.float64)
    assert a.shape == (10, 10) and a.dtype == np.float64
    assert workspace.pooled_bytes() == before


def test_a_smaller_request_reuses_a_buffer_of_its_size_class():
    a = workspace.empty((128, 1000), np.float32)
    address = a.ctypes.data
    del a
    b = workspace.empty((127, 1000), np.float32)  # rounds up to the same class
    assert b.ctypes.data == address and b.shape == (127, 1000)


def test_zeros_are_zero_even_in_a_dirty_buffer():
    a = workspace.empty((512, 512), np.float32)
    a[:] = 5
    del a
    assert not workspace.zeros((512, 512), np.float32).any()


@pytest.mark.parametrize("axes", [(0, 1, 2, 3), (0, 3, 1, 2), (3, 2, 1, 0)])
def test_empty_like_keeps_the_layout(axes):
    stored = np.zeros((8, 40, 30, 32), dtype=np.float32)
    a = stored.transpose(axes)
    b = workspace.empty_like(a, np.float64)
    assert b.shape == a.shape and b.dtype == np.float64
    assert np.argsort(b.strides).tolist() == np.argsort(a.strides).tolist()


def test_clear_releases_free_buffers_only():
    before = workspace.pooled_bytes()  # buffers other live arrays still hold
    kept = workspace.empty((512, 512), np.float32)
    freed = workspace.empty((512, 512), np.float32)
    del freed
    assert workspace.pooled_bytes() == before + 2 * kept.nbytes
    workspace.clear()
    assert workspace.pooled_bytes() == before + kept.nbytes
    kept[:] = 1  # still valid


def test_threads_never_share_a_buffer():
    results = {}

    def work(k):
        arrays = [workspace.empty((256, 1024), np.float32) for _ in range(20)]
        for a in arrays:
            a.fill(k)
        results[k] = arrays

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arrays = [a for k in results for a in results[k]]
    addresses = {a.ctypes.data for a in arrays}
    assert len(addresses) == len(arrays)
    assert all(np.all(a == k) for k in results for a in results[k])


def test_keep_freed_memory_reports_whether_glibc_took_it():
    # It changes the process for good; the settings are harmless for the test run.
    assert workspace.keep_freed_memory() in (True, False)
