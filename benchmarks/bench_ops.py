"""Forward+backward time of convscope's conv2d and max_pool2d next to PyTorch's.

Run: ``python benchmarks/bench_ops.py [--repeats 20] [--warmup 3] [--threads N]``

Both libraries run in the same process with the same number of threads
(PyTorch's intra-op threads = NumPy's BLAS threads, read with threadpoolctl when
it is installed, else 2). Each repetition times ours and PyTorch's back to back,
so background load hits both alike; the table shows medians after warm-up.
The upstream gradient is a fixed random array shaped like the output. As in a
real network, the first convolution's input (the images) needs no gradient.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np


def blas_threads() -> int | None:
    """NumPy's BLAS thread count, or None when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def limit_blas_threads(threads: int):
    """Context (or None) limiting NumPy's BLAS to ``threads`` threads via threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def time_pair(
    ours: Callable[[], None], theirs: Callable[[], None], repeats: int, warmup: int
) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``theirs``, timed alternately."""
    for _ in range(warmup):
        ours()
        theirs()
    times_ours, times_theirs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        times_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs()
        times_theirs.append(time.perf_counter() - start)
    return statistics.median(times_ours), statistics.median(times_theirs)


def conv_case(n, c_in, c_out, size, input_grad, seed=0):
    """Callables running one forward+backward of a 3x3 conv2d in convscope and PyTorch."""
    import torch

    from convscope import Tensor
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
    b = np.zeros(c_out, dtype=np.float32)
    grad = rng.standard_normal((n, c_out, size - 2, size - 2), dtype=np.float32)

    ours_x = Tensor(x, requires_grad=input_grad)
    ours_w, ours_b = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
    torch_x = torch.tensor(x, requires_grad=input_grad)
    torch_w, torch_b = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch_grad = torch.tensor(grad)

    def ours():
        ours_x.grad = ours_w.grad = ours_b.grad = None
        F.conv2d(ours_x, ours_w, ours_b).backward(grad)

    def theirs():
        torch_x.grad = torch_w.grad = torch_b.grad = None
        torch.nn.functional.conv2d(torch_x, torch_w, torch_b).backward(torch_grad)

    return ours, theirs


def pool_case(n, c, size, seed=0):
    """Callables running one forward+backward of a 2x2 max_pool2d in convscope and PyTorch."""
    import torch

    from convscope import Tensor
    from convscope.nn import functional as F

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    grad = rng.standard_normal((n, c, size // 2, size // 2), dtype=np.float32)
    ours_x = Tensor(x, requires_grad=True)
    torch_x, torch_grad = torch.tensor(x, requires_grad=True), torch.tensor(grad)

    def ours():
        ours_x.grad = None
        F.max_pool2d(ours_x, 2).backward(grad)

    def theirs():
        torch_x.grad = None
        torch.nn.functional.max_pool2d(torch_x, 2).backward(torch_grad)

    return ours, theirs


CASES = [
    (
        "conv2d 3x3",
        "N=128, 1->32, 28x28 (input needs no grad)",
        lambda: conv_case(128, 1, 32, 28, False),
    ),
    ("conv2d 3x3", "N=128, 32->64, 13x13", lambda: conv_case(128, 32, 64, 13, True)),
    ("max_pool2d 2x2", "(128, 32, 26, 26)", lambda: pool_case(128, 32, 26)),
]


def main(argv: list[str] | None = None) -> list[tuple[str, str, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per op (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for both libraries (default: NumPy's BLAS thread count, else 2)",
    )
    args = parser.parse_args(argv)

    import torch

    threads = args.threads or blas_threads() or 2
    limits = limit_blas_threads(threads)
    torch.set_num_threads(threads)

    rows = []
    for op, shape, make in CASES:
        ours, theirs = make()
        ours_s, theirs_s = time_pair(ours, theirs, args.repeats, args.warmup)
        rows.append((op, shape, ours_s, theirs_s))

    print(
        f"forward+backward, median of {args.repeats} runs after {args.warmup} warm-up; "
        f"{threads} threads (numpy {np.__version__}, torch {torch.__version__}), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    header = f"{'op':<16}{'shape':<44}{'convscope ms':>13}{'torch ms':>10}{'ours/torch':>12}"
    print(header)
    print("-" * len(header))
    for op, shape, ours_s, theirs_s in rows:
        print(
            f"{op:<16}{shape:<44}{ours_s * 1e3:>13.2f}{theirs_s * 1e3:>10.2f}"
            f"{ours_s / theirs_s:>11.2f}x"
        )
    if limits is not None:
        limits.restore_original_limits()
    return rows


if __name__ == "__main__":
    main()
