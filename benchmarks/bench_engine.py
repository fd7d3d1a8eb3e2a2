"""The engine's own cost: per-op overhead of a graph of tiny ops, next to PyTorch's,
and the float32 precision of BatchNorm on conv2d's channels-last output.

Run: ``python benchmarks/bench_engine.py [--ops 300] [--repeats 30] [--warmup 5]``

**Per op.** A chain of ``--ops`` elementwise ops (mul, add, exp, sub, div in turn) on an
8-element float32 vector that requires grad, then ``backward()``: at this size the
arithmetic is nothing and the time is the engine's bookkeeping (graph recording,
version counters, the backward loop). Reported in µs per op, forward+backward, with
PyTorch's time for the same graph and the ratio. To measure what version counters
cost, run it on a tree without them (``PYTHONPATH=<old checkout>/src``) and compare.

**Precision.** BatchNorm2d in training over Conv2d(3, 32) on a 128×3×32×32 batch (the
issue's case), at mean 0 and shifted to mean 50, against PyTorch in float64 on the
same float32 values: the max absolute output error of convscope (fed conv2d's
channels-last view, as a network does) and of PyTorch's float32 kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import import_torch, machine, ratio, set_threads, time_pair  # noqa: E402

import convscope  # noqa: E402
from convscope import Tensor  # noqa: E402
from convscope.nn import functional as F  # noqa: E402


def _chain(x, ops: int, exp):
    """``ops`` tiny elementwise ops in a row, then a sum: the same code for both libraries."""
    y = x
    for k in range(ops):
        step = k % 5
        if step == 0:
            y = y * 1.0001
        elif step == 1:
            y = y + 0.5
        elif step == 2:
            y = exp(y * 0.01)
        elif step == 3:
            y = y - 0.25
        else:
            y = y / 1.5
    return y.sum()


def per_op(ops: int, repeats: int, warmup: int) -> dict:
    torch = import_torch()
    data = np.linspace(-1, 1, 8, dtype=np.float32)

    def ours():
        x = Tensor(data, requires_grad=True)
        _chain(x, ops, Tensor.exp).backward()

    theirs = None
    if torch is not None:

        def theirs():
            x = torch.tensor(data, requires_grad=True)
            _chain(x, ops, torch.exp).backward()

    t_ours, t_theirs = time_pair(ours, theirs, repeats, warmup)
    return {
        "ops": ops,
        "ours_us_per_op": 1e6 * t_ours / ops,
        "torch_us_per_op": None if t_theirs is None else 1e6 * t_theirs / ops,
        "ratio": ratio(t_ours, t_theirs),
    }


def batch_norm_precision() -> dict:
    torch = import_torch()
    if torch is None:
        return {}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 3, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((32, 3, 3, 3)) / 5).astype(np.float32)
    with convscope.no_grad():
        y = F.conv2d(Tensor(x), Tensor(w), padding=1).data  # (128, 32, 32, 32) channels-last view
    result = {}
    for shift in (0.0, 50.0):
        # Shifted, the batch keeps conv2d's channels-last layout.
        a = np.ascontiguousarray((y + np.float32(shift)).transpose(0, 2, 3, 1)).transpose(
            0, 3, 1, 2
        )
        truth = torch.nn.functional.batch_norm(
            torch.from_numpy(a.astype(np.float64)), None, None, training=True
        ).numpy()
        ours = F.batch_norm(Tensor(a), None, None, training=True).data
        theirs = torch.nn.functional.batch_norm(
            torch.from_numpy(np.ascontiguousarray(a)), None, None, training=True
        ).numpy()
        result[f"mean {shift:g}"] = {
            "convscope_channels_last": float(np.abs(ours - truth).max()),
            "torch_float32_nchw": float(np.abs(theirs - truth).max()),
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    report = {
        "machine": machine(),
        "engine": convscope.__file__,
        "per_op": per_op(args.ops, args.repeats, args.warmup),
        "batch_norm_max_abs_error": batch_norm_precision(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    m, p = report["machine"], report["per_op"]
    print(f"{m['cpu']} · numpy {m['numpy']} · torch {m['torch']} · load {m['load_average']:.2f}")
    print(f"engine: {report['engine']}")
    line = f"tiny-op graph, {p['ops']} ops, forward+backward: {p['ours_us_per_op']:.2f} µs/op"
    if p["torch_us_per_op"] is not None:
        line += f" (PyTorch {p['torch_us_per_op']:.2f} µs/op, ratio {p['ratio']:.2f})"
    print(line)
    for case, errors in report["batch_norm_max_abs_error"].items():
        print(
            f"BatchNorm2d float32 vs float64 truth, {case}: convscope "
            f"{errors['convscope_channels_last']:.1e}, PyTorch {errors['torch_float32_nchw']:.1e}"
        )


if __name__ == "__main__":
    main()
