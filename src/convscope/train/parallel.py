"""Data-parallel training steps: micro-batches of one batch on a small thread pool.

NumPy releases the GIL inside ufuncs and BLAS calls, so two Python threads each
running the forward and backward pass of half a batch keep two cores busy with
the elementwise work too — which 2-thread BLAS alone does not do (its second
thread only helps inside matrix products, and spin-waits in between). One step:

1. the batch is split into micro-batches along axis 0 (two per thread by default);
2. worker threads run the model's forward pass on the micro-batches, each through a
   *replica* of the model whose parameters share the model's arrays but are
   separate tensors (so the threads' gradients never race on one ``.grad``);
3. the calling thread joins the outputs and computes the loss on the whole batch,
   exactly as the single-threaded step does, and back-propagates it to the joined
   output;
4. the workers back-propagate each micro-batch's slice of that gradient through its graph;
5. the replicas' gradients are summed into the model's parameters.

Gradients equal the single-threaded step's up to the order of float summation
(the weight gradients sum over the batch in two parts). BLAS runs one thread per
worker while workers are enabled (threadpoolctl). Dropout in each micro-batch draws
from its own generator, derived from :func:`convscope.random.generator`'s state by
the calling thread, so seeded runs are reproducible (the masks differ from a
1-worker run; the shuffling does not).
Grad mode is per thread, and workers start with it enabled.

Models whose forward pass depends on the whole batch — BatchNorm in training mode
— are split into one micro-batch per worker, all running at once: their BatchNorm
layers share per-channel sums through a
:class:`~convscope.nn.functional.batch_group.BatchGroup` (PyTorch's SyncBatchNorm, for
threads), so statistics, outputs and gradients are those of the whole batch, and the
running statistics are updated once. With one worker such steps are not split.

>>> import numpy as np
>>> from convscope import Tensor, nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> loss_fn = nn.CrossEntropyLoss()
>>> x, y = Tensor(np.ones((8, 1, 2, 2), np.float32)), Tensor(np.arange(8) % 2)
>>> with data_parallel(2):
...     output, loss = forward_backward(model, loss_fn, x, y)
>>> output.shape, model[1].weight.grad.shape
((8, 2), (2, 4))
"""

from __future__ import annotations

import contextlib
import copy
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from convscope.nn import Module, Parameter
from convscope.nn.functional.batch_group import (
    BatchGroup,
    BatchGroupAborted,
    batch_group_member,
)
from convscope.nn.functional.linear import thread_generator
from convscope.random import generator
from convscope.tensor import Tensor

_state = threading.local()  # .workers / .chunks: threads and micro-batches (default 1, 1)
_warned: set[int] = set()
_streams: dict[str, Any] = {}  # the global generator the dropout streams derive from, steps


def workers() -> int:
    """Worker threads per training step in the calling thread (1: the plain step)."""
    return getattr(_state, "workers", 1)


def chunks() -> int:
    """Micro-batches per training step in the calling thread."""
    return getattr(_state, "chunks", 1)


@contextlib.contextmanager
def data_parallel(n: int = 2, chunks: int | None = None) -> Iterator[None]:
    """Within this block, training steps in this thread split each batch over ``n`` threads.

    Args:
        n: worker threads; 1 turns data parallelism off.
        chunks: micro-batches per batch (default ``2·n``). More chunks than threads
            balance the load when a core is busy with other work: a thread that
            runs slower simply takes fewer chunks (W1, 2 threads, on a loaded machine:
            4 chunks took 60–97 ms per step where 2 took 72–110). With ``n == 1`` and ``chunks > 1``
            the micro-batches run one after another in the calling thread: smaller,
            cache-sized working sets.

    Raises:
        ValueError: ``n`` or ``chunks`` is not a positive int.
    """
    for name, value in (("workers", n), ("chunks", 1 if chunks is None else chunks)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(
                f"data_parallel expected a number of {name} >= 1; received {name}={value!r}."
            )
    if chunks is None:
        chunks = 2 * n if n > 1 else 1
    with _blas_limited() if n > 1 else contextlib.nullcontext():
        previous = workers(), globals()["chunks"]()
        _state.workers, _state.chunks = int(n), int(chunks)
        try:
            yield
        finally:
            _state.workers, _state.chunks = previous


_limit_lock = threading.Lock()
_limit: dict[str, Any] = {"threads_inside": 0, "limiter": None}


@contextlib.contextmanager
def _blas_limited() -> Iterator[None]:
    """BLAS at one thread while any thread is inside a ``data_parallel(n > 1)`` block.

    The limit is process-wide: the first thread in sets it, the last one out restores
    BLAS's own count (threads may enter and leave in any order). threadpoolctl lets
    only its controlling thread (the first to set a limit, usually the main one)
    change OpenBLAS's count: entered from another thread, the limit may not take
    effect (results are the same; the workers' BLAS calls then compete for cores).
    """
    with _limit_lock:
        if _limit["threads_inside"] == 0:
            _limit["limiter"] = _one_blas_thread()
        _limit["threads_inside"] += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit["threads_inside"] -= 1
            if _limit["threads_inside"] == 0 and _limit["limiter"] is not None:
                _limit["limiter"].restore_original_limits()
                _limit["limiter"] = None


def _one_blas_thread():
    """Limit BLAS to one thread per worker (threadpoolctl), or None if not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        warnings.warn(
            "threadpoolctl is not installed: BLAS keeps its own thread count under "
            "data_parallel, and its threads compete with the workers (pip install threadpoolctl).",
            stacklevel=4,
        )
        return None
    return threadpool_limits(limits=1, user_api="blas")


def _pool(n: int) -> ThreadPoolExecutor:
    """The calling thread's own pool of ``n`` workers.

    Per thread: two threads each in ``data_parallel`` must not queue their micro-batches
    in one pool, where one BatchGroup's members could wait behind another's forever.
    """
    pools = _state.__dict__.setdefault("pools", {})
    if n not in pools:
        pools[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="convscope-dp")
    return pools[n]


def _run_all(work: Callable[[int], Any], n: int) -> list[Any]:
    """``[work(0), …, work(n - 1)]`` on the workers, after every one has finished.

    The first error raised is re-raised — preferring a micro-batch's own error to the
    BatchGroupAborted its partners then raise.
    """
    if workers() <= 1:
        return [work(k) for k in range(n)]
    futures = [_pool(workers()).submit(work, k) for k in range(n)]
    wait(futures)
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, BatchGroupAborted)), errors[0])
    return [f.result() for f in futures]


def _micro_batch_generators(n: int, step: tuple[int, ...] | None) -> list[np.random.Generator]:
    """``n`` generators for this step's micro-batches, derived without advancing the global one.

    They are spawned from the global generator's current state and the step's key:
    ``step`` when the caller names the step (the trainer passes ``(epoch, batch)``, so
    a resumed run draws the same masks), else a counter of steps (reset when
    :func:`convscope.manual_seed` installs a new generator). Seeded runs are
    reproducible, and the global stream — the loader's shuffling — is the same as in
    a single-threaded run.
    """
    g = generator()
    if _streams.get("owner") is not g:
        _streams.update(owner=g, count=0)
    _streams["count"] += 1
    key = (_streams["count"],) if step is None else (0, *(int(k) for k in step))
    state = g.bit_generator.state.get("state")
    entropy = [int(v) for v in state.values()] if isinstance(state, dict) else [int(state or 0)]
    sequence = np.random.SeedSequence(entropy, spawn_key=key)
    return [np.random.default_rng(child) for child in sequence.spawn(n)]


def _batch_dependent(model: Module) -> bool:
    """True if some layer's output depends on the whole batch: BatchNorm using batch
    statistics (in training, or always when it keeps no running statistics)."""
    for m in model.modules():
        buffers = getattr(m, "_buffers", {})
        if "running_mean" in buffers and (m.training or buffers["running_mean"] is None):
            return True
    return False


@contextlib.contextmanager
def _abort_on_error(group: BatchGroup | None) -> Iterator[None]:
    """Release the other members of ``group`` if this one fails (they would wait forever)."""
    try:
        yield
    except BaseException:
        if group is not None:
            group.abort()
        raise


def replicate(model: Module) -> tuple[Module, list[tuple[Parameter, Parameter]]]:
    """A copy of ``model`` whose parameters are new tensors sharing the model's arrays.

    Returns:
        The replica and its ``(model parameter, replica parameter)`` pairs.
    """
    pairs: list[tuple[Parameter, Parameter]] = []

    def copy_module(module: Module) -> Module:
        clone = copy.copy(module)  # attributes shared: config, buffers, hooks
        params = {}
        for name, p in module._parameters.items():
            if p is None:
                params[name] = None
                continue
            twin = Parameter(p.data, requires_grad=p.requires_grad)  # same array, no copy
            params[name] = twin
            pairs.append((p, twin))
        object.__setattr__(clone, "_parameters", params)
        children = {k: None if c is None else copy_module(c) for k, c in module._modules.items()}
        object.__setattr__(clone, "_modules", children)
        return clone

    return copy_module(model), pairs


def forward_backward(
    model: Module,
    loss_fn: Callable[[Any, Any], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    step: tuple[int, ...] | None = None,
) -> tuple[Tensor, Tensor]:
    """One training step's forward and backward pass: ``(output, loss)``; grads accumulate.

    With one worker (the default) this is ``output = model(x); loss = loss_fn(output, y);
    loss.backward()``. Inside :func:`data_parallel` the batch is split over the workers
    as the module docstring describes.

    Args:
        model: the network (in training mode).
        loss_fn: ``loss_fn(output, target)`` returning a scalar Tensor.
        x: the input batch, split along axis 0.
        y: the targets (not split: the loss sees the whole batch).
        step: non-negative ints naming this step, e.g. ``(epoch, batch)``: the
            micro-batches' dropout streams derive from it, so the same step draws the
            same masks after a resume. None: numbered by a counter.

    Returns:
        The model's output for the whole batch and the loss.
    """
    n = min(chunks(), len(x.data))  # micro-batches
    if x.requires_grad:  # the input's own gradient would need joining too: not split
        n = 1
    group = None
    if n > 1 and _batch_dependent(model):
        # BatchNorm needs the whole batch's statistics: one micro-batch per worker, all
        # running at once, sharing their sums through a BatchGroup (SyncBatchNorm).
        n = min(workers(), len(x.data))
        if n == 1 and id(model) not in _warned:
            _warned.add(id(model))
            warnings.warn(
                f"{type(model).__name__} has BatchNorm layers in training mode: their batch "
                "statistics need every micro-batch at once, so with one worker its steps "
                "are not split.",
                stacklevel=2,
            )
        group = BatchGroup(n) if n > 1 else None
    if n == 1:
        output = model(x)
        loss = loss_fn(output, y)
        loss.backward()
        return output, loss

    bounds = np.linspace(0, len(x.data), n + 1).astype(int)
    parts = [x.data[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    replicas = [replicate(model) for _ in range(n)]
    streams = _micro_batch_generators(n, step)  # one dropout stream per micro-batch

    def forward(k: int) -> Tensor:
        member = None if group is None else group.member(k)
        with thread_generator(streams[k]), batch_group_member(member), _abort_on_error(group):
            return replicas[k][0](Tensor(parts[k]))

    outputs = _run_all(forward, n)
    joined = Tensor(np.concatenate([o.data for o in outputs]), requires_grad=True)
    loss = loss_fn(joined, y)  # on the whole batch, as the single-threaded step
    loss.backward()
    grad = joined.grad

    def backward(k: int) -> None:
        if outputs[k].requires_grad:
            with _abort_on_error(group):
                outputs[k].backward(grad[bounds[k] : bounds[k + 1]])

    _run_all(backward, n)
    for k in range(n):
        for p, twin in replicas[k][1]:
            if twin.grad is None:
                continue
            p.grad = twin.grad if p.grad is None else p.grad + twin.grad
    return Tensor(joined.data), loss
