"""Threads that hold parts of one batch and normalise it with the whole batch's statistics.

Data-parallel training (``train/parallel.py``) splits a batch over worker threads.
Batch normalisation must still use the statistics of the *whole* batch, or the step
would change (smaller batches, noisier statistics). PyTorch's ``SyncBatchNorm`` does
this across processes with an all-reduce; :class:`BatchGroup` is the same for threads:
each member adds its per-channel partial sums, waits until every member has, and all
continue with the same totals, summed in rank order (so the result does not depend
on which thread came first).

Every member must make the same sequence of :meth:`BatchGroupMember.all_reduce`
calls — true when all run the same model on their part of the batch, BatchNorm
layers in the same order, forward and then backward. A member that fails calls
:meth:`BatchGroup.abort`, and the others get a :class:`BatchGroupAborted` (a
``RuntimeError``) instead of waiting.

>>> import threading
>>> group = BatchGroup(2)
>>> totals = {}
>>> def member(rank):
...     totals[rank] = group.member(rank).all_reduce(np.array([rank + 1.0, 10.0]))
>>> threads = [threading.Thread(target=member, args=(r,)) for r in range(2)]
>>> for t in threads: t.start()
>>> for t in threads: t.join()
>>> totals[0], totals[1]
(array([ 3., 20.]), array([ 3., 20.]))
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from convscope.thread_setting import ThreadSetting

_membership = ThreadSetting(None)  # this thread's BatchGroupMember, or None


class BatchGroupAborted(RuntimeError):
    """A member gave up waiting: another member failed (its own error says why) or timed out."""


class BatchGroup:
    """``parties`` threads sharing batch statistics (one member per thread).

    Args:
        parties: number of member threads (at least 1).
        timeout: seconds a member waits for the others before giving up.
    """

    def __init__(self, parties: int, timeout: float = 600.0):
        if isinstance(parties, bool) or not isinstance(parties, (int, np.integer)) or parties < 1:
            raise ValueError(f"BatchGroup expected parties >= 1; received parties={parties!r}.")
        self.parties = int(parties)
        self._timeout = timeout
        self._cond = threading.Condition()
        self._slots: list[np.ndarray | None] = [None] * self.parties
        self._arrived = 0
        self._rounds = 0  # all-reduces completed
        self._total: np.ndarray | None = None  # the last completed round's sum
        self._failed = False

    def member(self, rank: int) -> BatchGroupMember:
        """The member of rank ``rank`` (0 ≤ rank < parties)."""
        if not 0 <= rank < self.parties:
            raise ValueError(
                f"BatchGroup expected a rank in [0, {self.parties - 1}]; received {rank!r}."
            )
        return BatchGroupMember(self, rank)

    def abort(self) -> None:
        """Release every member waiting in an unfinished round with an error (one failed)."""
        with self._cond:
            self._failed = True
            self._cond.notify_all()

    def _all_reduce(self, rank: int, partial: np.ndarray) -> np.ndarray:
        with self._cond:
            if not self._failed:
                self._slots[rank] = np.asarray(partial, dtype=np.float64)
                self._arrived += 1
                this_round = self._rounds
                if self._arrived == self.parties:  # the last to arrive adds up, in rank order
                    total = self._slots[0].copy()
                    for part in self._slots[1:]:
                        total += part
                    self._total, self._arrived = total, 0
                    self._rounds += 1
                    self._cond.notify_all()
                else:
                    self._cond.wait_for(
                        lambda: self._rounds != this_round or self._failed, self._timeout
                    )
                # A round that completed stands even if a member fails afterwards.
                if self._rounds != this_round:
                    return self._total.copy()
            self._failed = True  # failed, or timed out waiting: nobody waits any longer
            self._cond.notify_all()
        raise BatchGroupAborted(
            "batch_norm: another thread of this batch failed or timed out before sharing "
            "its statistics (see its error)."
        )


class BatchGroupMember:
    """One thread's handle on a :class:`BatchGroup`: its rank and the all-reduce."""

    def __init__(self, group: BatchGroup, rank: int):
        self.group = group
        self.rank = rank

    def all_reduce(self, partial: np.ndarray) -> np.ndarray:
        """The sum over all members of their ``partial`` arrays (same shape), float64."""
        return self.group._all_reduce(self.rank, partial)

    @property
    def updates_running_statistics(self) -> bool:
        """Running statistics are shared by the replicas: rank 0 alone updates them."""
        return self.rank == 0


def batch_group_member(member: BatchGroupMember | None) -> contextlib.AbstractContextManager[None]:
    """Within this block, BatchNorm layers in this thread normalise as ``member``."""
    return _membership.set(member)


def current_batch_group_member() -> BatchGroupMember | None:
    """The calling thread's :class:`BatchGroupMember`, or None (the batch is all here)."""
    return _membership.get()
