"""One training step of a preset model (W1 or bn) in convscope next to PyTorch, same process.

Run: ``python benchmarks/bench_step.py [--model simple|bn] [--steps 40] [--threads N]``

Each round times ``--block`` convscope steps then ``--block`` PyTorch steps on the same
fixed batch (batch 128, Adam 1e-3, float32, images in [0, 1]), so background load
hits both alike; medians of the per-step times are reported, with the minor page
faults per step (``getrusage`` ``ru_minflt``) of each framework. This is the quick
probe used to measure one optimisation at a time; ``bench.py`` reports full epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np

BATCH = 128


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def batch(seed: int = 0, n: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """A fixed Fashion-MNIST-like batch: (n, 1, 28, 28) float32 in [0, 1], int64 labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 1, 28, 28)).astype(np.float32) / np.float32(255)
    return x, rng.integers(0, 10, n).astype(np.int64)


def convscope_step(
    model_name: str, x: np.ndarray, y: np.ndarray, workers: int = 1, chunks: int | None = None
):
    """(model, step()) for convscope; the model's weights initialise PyTorch's too."""
    import convscope
    from convscope import nn, optim
    from convscope.models import build_model

    convscope.manual_seed(0)
    model = build_model(model_name)
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = convscope.Tensor(x), convscope.Tensor(y)

    try:
        from convscope.train.parallel import data_parallel, forward_backward
    except ImportError:  # a convscope from before data parallelism (before/after runs)
        import contextlib

        def data_parallel(workers, chunks=None):
            return contextlib.nullcontext()

        def forward_backward(model, loss_fn, x, y):
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            return output, loss

    def step() -> float:
        opt.zero_grad()
        # (older trees' data_parallel takes no chunks argument)
        with data_parallel(workers) if chunks is None else data_parallel(workers, chunks):
            _, loss = forward_backward(model, loss_fn, xt, yt)
        opt.step()
        return float(loss.item())

    return model, step


def torch_step(model_name: str, state: dict, x: np.ndarray, y: np.ndarray):
    """step() for the same architecture in PyTorch, from convscope's initial weights."""
    import torch
    from torch import nn

    if model_name == "simple":
        layers = [
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
        ]  # fmt: skip
    else:
        layers = [
            nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128),
            nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
        ]  # fmt: skip
    model = nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def time_steps(step, count: int) -> tuple[list[float], int, float]:
    """Per-step seconds of ``count`` steps, the minor faults and the CPU seconds they took."""
    times = []
    faults, cpu = minor_faults(), cpu_seconds()
    for _ in range(count):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times, minor_faults() - faults, cpu_seconds() - cpu


def cpu_seconds() -> float:
    """CPU time of the whole process (all threads), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    model_name: str,
    steps: int,
    block: int,
    warmup: int,
    with_torch: bool,
    workers: int = 1,
    chunks: int | None = None,
) -> dict:
    """Median ms/step and faults/step for convscope (and PyTorch), alternating blocks."""
    x, y = batch()
    model, ours = convscope_step(model_name, x, y, workers, chunks)
    theirs = None
    if with_torch:
        state = {k: np.asarray(v) for k, v in model.state_dict().items()}
        theirs = torch_step(model_name, state, x, y)
    for _ in range(warmup):
        ours()
        if theirs:
            theirs()
    result = {"convscope": ([], 0, 0.0), "torch": ([], 0, 0.0)}
    done = 0
    while done < steps:
        n = min(block, steps - done)
        for name, step in (("convscope", ours), ("torch", theirs)):
            if step is None:
                continue
            times, faults, cpu = time_steps(step, n)
            old = result[name]
            result[name] = (old[0] + times, old[1] + faults, old[2] + cpu)
        done += n
    out = {}
    for name, (times, faults, cpu) in result.items():
        if times:
            out[name] = {
                "ms_per_step": 1e3 * statistics.median(times),
                "cpu_ms_per_step": 1e3 * cpu / len(times),
                "faults_per_step": faults / len(times),
            }
    return out


def ablate(args: argparse.Namespace) -> None:
    """Switch off the optimisations the flags name (only for measuring them)."""
    if args.keep_freed_memory:
        from convscope import workspace

        workspace.keep_freed_memory()
    if args.no_pool:
        from convscope import workspace

        workspace.MIN_BYTES = 1 << 62  # every array from malloc
    if args.no_relu_fusion:
        from convscope.nn import functional as F

        relu = F.relu

        def unfused(x):
            out = relu(x)
            if out._op == "relu":
                out._op = "relu (unfused)"  # max_pool2d no longer recognises it
            return out

        F.relu = unfused  # what nn.ReLU calls


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="simple", choices=["simple", "bn"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="convscope data-parallel threads")
    parser.add_argument("--chunks", type=int, default=None, help="micro-batches per batch")
    # Ablations: switch one optimisation off to measure what it buys.
    parser.add_argument("--no-pool", action="store_true", help="workspace pool off")
    parser.add_argument("--no-relu-fusion", action="store_true", help="pool sees no ReLU")
    parser.add_argument(
        "--keep-freed-memory", action="store_true", help="opt-in glibc mallopt first"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    limits = None
    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch
        except ImportError:
            with_torch = False
    if args.threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads, user_api="blas")
        if with_torch:
            torch.set_num_threads(args.threads)
    ablate(args)
    res = measure(
        args.model, args.steps, args.block, args.warmup, with_torch, args.workers, args.chunks
    )
    line = [f"{args.model}:"]
    for name, r in res.items():
        line.append(
            f"{name} {r['ms_per_step']:.1f} ms/step (CPU {r['cpu_ms_per_step']:.1f}), "
            f"{r['faults_per_step']:.0f} faults/step"
        )
    if "torch" in res:
        line.append(f"ratio {res['convscope']['ms_per_step'] / res['torch']['ms_per_step']:.2f}")
    print("; ".join(line))
    if args.json is not None:
        import convscope

        res["engine"] = os.path.dirname(os.path.abspath(convscope.__file__))
        args.json.write_text(json.dumps(res))
    if limits is not None:
        limits.restore_original_limits()
    return res


if __name__ == "__main__":
    main()
