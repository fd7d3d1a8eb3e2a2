"""Peak memory of backward on a deep conv net (tracemalloc), in units of one activation.

Run: ``python benchmarks/bench_backward_memory.py [--no-pool]``; against an older tree:
``PYTHONPATH=<checkout>/src python benchmarks/bench_backward_memory.py``.

The net and the measurement are those of ``tests/test_backward_memory.py`` (8 × Conv2d(8,
8, 3, padding=1) + ReLU on a 16×8×32×32 float32 batch; one activation = 0.5 MB): after
one warm-up pass, the memory the graph holds before ``backward()``, the extra peak
during it, and their sum. ``--no-pool`` sends every array to ``malloc`` instead of the
workspace pool, whose reused buffers tracemalloc counts as held, not as new.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np

import convscope
from convscope import Tensor, nn


def deep_conv_net(depth: int = 8, channels: int = 8) -> nn.Sequential:
    layers = []
    for _ in range(depth):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


def backward_peak(model, x) -> tuple[int, int]:
    """(bytes the graph holds before backward, extra peak bytes during backward)."""
    loss = model(x).sum()
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    loss.backward()
    _, peak = tracemalloc.get_traced_memory()
    return before, peak - before


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pool", action="store_true", help="workspace pool off")
    args = parser.parse_args(argv)
    if args.no_pool:
        from convscope import workspace

        workspace.MIN_BYTES = 1 << 62
    convscope.manual_seed(0)
    model = deep_conv_net()
    x = Tensor(np.random.default_rng(0).standard_normal((16, 8, 32, 32)).astype(np.float32))
    activation = x.data.nbytes
    tracemalloc.start()
    try:
        backward_peak(model, x)  # warm-up
        model.zero_grad()
        held, extra = backward_peak(model, x)
    finally:
        tracemalloc.stop()
    result = {"held": held / activation, "extra": extra / activation}
    print(
        f"engine {convscope.__file__}: held before backward {result['held']:.1f}, extra peak "
        f"{result['extra']:.2f}, total {result['held'] + result['extra']:.1f} activations"
    )
    return result


if __name__ == "__main__":
    main()
