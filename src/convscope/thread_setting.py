"""A per-thread setting that a ``with`` block changes and then restores.

Worker threads of data-parallel training each need their own dropout generator and
their own BatchNorm group membership, while the calling thread keeps its own:

>>> stream = ThreadSetting(default="global")
>>> with stream.set("mine"):
...     stream.get()
'mine'
>>> stream.get()
'global'
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class ThreadSetting:
    """One value per thread: ``default`` until a :meth:`set` block in that thread."""

    def __init__(self, default: Any = None):
        self._local = threading.local()
        self._default = default

    def get(self) -> Any:
        """The calling thread's value."""
        return getattr(self._local, "value", self._default)

    @contextlib.contextmanager
    def set(self, value: Any) -> Iterator[None]:
        """Within this block the calling thread's value is ``value`` (others unchanged)."""
        previous = self.get()
        self._local.value = value
        try:
            yield
        finally:
            self._local.value = previous
