"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM: at the next step boundary, never mid-write.

Inside :func:`stop_on_signals`, the first SIGINT/SIGTERM only *asks* the trainer to stop
(:meth:`Trainer.request_interrupt`): the loop finishes the optimizer step it is in and
raises :class:`~convscope.train.loop.TrainingInterrupted`, leaving a consistent state to
checkpoint. A second signal while that happens raises ``KeyboardInterrupt`` at once (all
files are written atomically, so even then nothing is left half-written). The previous
handlers are restored on exit. Outside the main thread, where Python cannot install
signal handlers, it does nothing.

>>> class Recorder:
...     def request_interrupt(self, signum): self.signum = signum
>>> import signal, os
>>> trainer = Recorder()
>>> with stop_on_signals(trainer):
...     os.kill(os.getpid(), signal.SIGTERM)
>>> trainer.signum == signal.SIGTERM
True
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(trainer: Any, signals: Sequence[int] = SIGNALS) -> Iterator[None]:
    """While active, ``signals`` call ``trainer.request_interrupt(signum)`` instead of killing.

    Args:
        trainer: anything with ``request_interrupt(signum)`` (a :class:`Trainer`).
        signals: the signals to catch (default SIGINT and SIGTERM).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:  # asked twice: stop now
            raise KeyboardInterrupt
        received.append(signum)
        trainer.request_interrupt(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
