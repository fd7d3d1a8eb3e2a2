"""ThreadSetting: one value per thread, set by a with-block and restored after it."""

import threading

import pytest

from convscope.thread_setting import ThreadSetting


def test_each_thread_sees_its_own_value():
    setting = ThreadSetting(default=0)
    ready, release = threading.Barrier(3), threading.Event()
    seen = {}

    def worker(k):
        with setting.set(k):
            ready.wait()  # every thread is inside its block at once
            release.wait()
            seen[k] = setting.get()
        seen[f"after {k}"] = setting.get()

    threads = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    ready.wait()
    assert setting.get() == 0  # the main thread's value is untouched
    release.set()
    for t in threads:
        t.join()
    assert seen == {1: 1, 2: 2, "after 1": 0, "after 2": 0}


def test_nested_blocks_restore_in_order_even_after_an_error():
    setting = ThreadSetting()
    with setting.set("outer"):
        with pytest.raises(RuntimeError):
            with setting.set("inner"):
                assert setting.get() == "inner"
                raise RuntimeError
        assert setting.get() == "outer"
    assert setting.get() is None
