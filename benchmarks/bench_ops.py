"""Forward+backward time of convscope's ops next to PyTorch's, at the W1 and ``bn`` shapes.

Run: ``python benchmarks/bench_ops.py [--repeats 20] [--warmup 3] [--threads N]``

Both libraries run in the same process with the same number of threads (see
``common.py``); each repetition times ours and PyTorch's back to back and the table
shows medians after warm-up. The upstream gradient is a fixed random array shaped
like the output, stored channels last for ops that follow a conv2d (as in the
networks). As in a real network, the first convolution's input (the images) needs
no gradient. Convolutions also report achieved GFLOP/s (``2·rows·K·O`` per product:
forward, weight gradient and, when needed, input gradient).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import import_torch, machine, ratio, set_threads, time_pair  # noqa: E402


@dataclass
class Case:
    """One op at one shape: how to run it in each library."""

    op: str
    shape: str
    preset: str
    make: object  # () -> (ours, theirs | None)
    flops: float = 0.0  # per forward+backward, for GFLOP/s (0: not a GEMM op)
    result: dict = field(default_factory=dict)


def _channels_last(rng, shape):
    n, c, h, w = shape
    return rng.standard_normal((n, h, w, c), dtype=np.float32).transpose(0, 3, 1, 2)


def op_pair(ours_fn, theirs_fn, arrays, grads, out_shape, channels_last_grad=False, seed=0):
    """(ours, theirs) running ``fn(*inputs).backward(g)`` with the given inputs in each library.

    Args:
        arrays: input arrays (integer arrays are passed as targets).
        grads: which inputs require a gradient.
        out_shape: the output's shape, for the upstream gradient (None: a scalar loss).
    """
    from convscope import Tensor

    torch = import_torch()
    rng = np.random.default_rng(seed + 1)
    if out_shape is None:
        g = None
    elif channels_last_grad:
        g = _channels_last(rng, out_shape)
    else:
        g = rng.standard_normal(out_shape, dtype=np.float32)
    ours_in = [Tensor(a, requires_grad=r) for a, r in zip(arrays, grads, strict=True)]

    def ours():
        for t in ours_in:
            t.grad = None
        out = ours_fn(*ours_in)
        out.backward(g)

    theirs = None
    if torch is not None:
        theirs_in = [
            torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(r)
            for a, r in zip(arrays, grads, strict=True)
        ]
        g_t = None if g is None else torch.from_numpy(np.ascontiguousarray(g))

        def theirs():
            for t in theirs_in:
                t.grad = None
            out = theirs_fn(*theirs_in)
            out.backward(g_t)

    return ours, theirs


def conv_case(preset, n, c_in, c_out, size, padding, bias, input_grad, seed=0):
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    x = (
        rng.standard_normal((n, c_in, size, size), dtype=np.float32)
        if c_in == 1
        else _channels_last(rng, (n, c_in, size, size))
    )
    w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
    arrays, grads = [x, w], [input_grad, True]
    if bias:
        arrays.append(np.zeros(c_out, np.float32))
        grads.append(True)
    out = size + 2 * padding - 2
    rows, k = n * out * out, 9 * c_in
    flops = 2 * rows * k * c_out * (3 if input_grad else 2)

    def make():
        torch = import_torch()
        return op_pair(
            lambda *t: F.conv2d(*t, padding=padding),
            None if torch is None else lambda *t: torch.nn.functional.conv2d(*t, padding=padding),
            arrays,
            grads,
            (n, c_out, out, out),
            channels_last_grad=True,
        )

    label = f"N={n}, {c_in}->{c_out}, {size}x{size}" + (f", pad {padding}" if padding else "")
    label += "" if input_grad else " (no input grad)"
    return Case("conv2d 3x3", label, preset, make, flops)


def pool_case(preset, kind, shape, seed=0):
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    x = _channels_last(rng, shape)
    n, c, h, w = shape

    def make():
        torch = import_torch()
        ours = F.max_pool2d if kind == "max" else F.avg_pool2d
        theirs = None
        if torch is not None:
            theirs = (
                torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
            )
        return op_pair(
            lambda t: ours(t, 2),
            None if theirs is None else lambda t: theirs(t, 2),
            [x],
            [True],
            (n, c, h // 2, w // 2),
            channels_last_grad=True,
        )

    return Case(f"{kind}_pool2d 2x2", str(shape), preset, make)


def relu_case(preset, shape, seed=0):
    from convscope.nn import functional as F

    x = _channels_last(np.random.default_rng(seed), shape)

    def make():
        torch = import_torch()
        return op_pair(
            F.relu,
            None if torch is None else torch.relu,
            [x],
            [True],
            shape,
            channels_last_grad=True,
        )

    return Case("relu", str(shape), preset, make)


def linear_case(preset, n, fan_in, fan_out, seed=0):
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    arrays = [
        rng.standard_normal((n, fan_in), dtype=np.float32),
        (rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(np.float32),
        np.zeros(fan_out, np.float32),
    ]

    def make():
        torch = import_torch()
        return op_pair(
            F.linear,
            None if torch is None else torch.nn.functional.linear,
            arrays,
            [True, True, True],
            (n, fan_out),
        )

    return Case("linear", f"N={n}, {fan_in}->{fan_out}", preset, make, 3 * 2 * n * fan_in * fan_out)


def batch_norm_case(preset, shape, seed=0):
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    c = shape[1]
    x = _channels_last(rng, shape) if len(shape) == 4 else rng.standard_normal(shape, np.float32)
    weight, bias = np.ones(c, np.float32), np.zeros(c, np.float32)

    def make():
        torch = import_torch()
        means = [np.zeros(c, np.float32), np.zeros(c, np.float32)]
        variances = [np.ones(c, np.float32), np.ones(c, np.float32)]
        theirs = None
        if torch is not None:
            t_mean, t_var = torch.from_numpy(means[1]), torch.from_numpy(variances[1])

            def theirs(t, w, b):
                return torch.nn.functional.batch_norm(t, t_mean, t_var, w, b, training=True)

        return op_pair(
            lambda t, w, b: F.batch_norm(t, means[0], variances[0], w, b, training=True),
            theirs,
            [x, weight, bias],
            [True, True, True],
            shape,
            channels_last_grad=len(shape) == 4,
        )

    return Case("batch_norm", str(shape), preset, make)


def cross_entropy_case(preset, n, classes, seed=0):
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, classes), dtype=np.float32)
    target = rng.integers(0, classes, n).astype(np.int64)

    def make():
        torch = import_torch()
        return op_pair(
            F.cross_entropy,
            None if torch is None else torch.nn.functional.cross_entropy,
            [logits, target],
            [True, False],
            None,
        )

    return Case("cross_entropy", f"N={n}, {classes} classes", preset, make)


def cases() -> list[Case]:
    """The ops of W1 (``simple``) and ``bn`` at their shapes for a batch of 128."""
    return [
        conv_case("W1", 128, 1, 32, 28, 0, True, False),
        relu_case("W1", (128, 32, 26, 26)),
        pool_case("W1", "max", (128, 32, 26, 26)),
        conv_case("W1", 128, 32, 64, 13, 0, True, True),
        pool_case("W1", "max", (128, 64, 11, 11)),
        linear_case("W1", 128, 1600, 10),
        cross_entropy_case("W1", 128, 10),
        pool_case("-", "avg", (128, 32, 26, 26)),
        conv_case("bn", 128, 1, 32, 28, 1, False, False),
        batch_norm_case("bn", (128, 32, 28, 28)),
        pool_case("bn", "max", (128, 32, 28, 28)),
        conv_case("bn", 128, 32, 64, 14, 1, False, True),
        batch_norm_case("bn", (128, 64, 14, 14)),
        linear_case("bn", 128, 3136, 128),
        batch_norm_case("bn", (128, 128)),
    ]


def run(repeats: int, warmup: int) -> list[Case]:
    """Time every case; fills ``case.result`` with ms (ours, theirs), ratio and GFLOP/s."""
    results = []
    for case in cases():
        ours, theirs = case.make()
        ours_s, theirs_s = time_pair(ours, theirs, repeats, warmup)
        case.result = {
            "convscope_ms": ours_s * 1e3,
            "torch_ms": None if theirs_s is None else theirs_s * 1e3,
            "ratio": ratio(ours_s, theirs_s),
        }
        if case.flops:
            case.result["convscope_gflops"] = case.flops / ours_s / 1e9
            if theirs_s:
                case.result["torch_gflops"] = case.flops / theirs_s / 1e9
        results.append(case)
    return results


def table(results: list[Case]) -> list[str]:
    """The op table as text lines."""

    def fmt(value, spec):
        return format(value, spec) if value is not None else "-".rjust(len(format(0.0, spec)))

    header = (
        f"{'preset':<7}{'op':<16}{'shape':<38}{'convscope ms':>13}{'torch ms':>10}"
        f"{'ratio':>8}{'GFLOP/s ours/torch':>20}"
    )
    lines = [header, "-" * len(header)]
    for case in results:
        r = case.result
        gflops = ""
        if case.flops:
            gflops = f"{r['convscope_gflops']:.1f}/" + (
                f"{r['torch_gflops']:.1f}" if "torch_gflops" in r else "-"
            )
        lines.append(
            f"{case.preset:<7}{case.op:<16}{case.shape:<38}{fmt(r['convscope_ms'], '13.2f')}"
            f"{fmt(r['torch_ms'], '10.2f')}{fmt(r['ratio'], '7.2f')}x{gflops:>20}"
        )
    return lines


def main(argv: list[str] | None = None) -> list[Case]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per op (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    args = parser.parse_args(argv)
    limiter = set_threads(args.threads)
    info = machine()
    results = run(args.repeats, args.warmup)
    print(
        f"forward+backward, median of {args.repeats} runs after {args.warmup} warm-up; "
        f"{args.threads} thread(s); {info['cpu']}, BLAS {info['blas'].get('kernel')}, "
        f"load average {info['load_average']:.2f}"
    )
    print("\n".join(table(results)))
    if limiter is not None:
        limiter.restore_original_limits()
    return results


if __name__ == "__main__":
    main()
