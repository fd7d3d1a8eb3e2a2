"""Peak memory of backward on a deep conv net, measured with tracemalloc (NumPy reports
its buffers to it). The bound is in units of one activation of the net."""

import gc
import tracemalloc

import numpy as np

import convscope
from convscope import Tensor, nn


def _deep_conv_net(depth=8, channels=8):
    layers = []
    for _ in range(depth):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


def _backward_peak(model, x):
    """(memory held by the graph before backward, extra peak during backward, after)."""
    loss = model(x).sum()  # no intermediate tensor is held outside the graph
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    loss.backward()
    del loss
    after, peak = tracemalloc.get_traced_memory()
    return before, peak - before, after


def test_backward_releases_each_node_as_it_goes_and_bounds_its_extra_peak():
    convscope.manual_seed(0)
    model = _deep_conv_net()
    x = Tensor(np.random.default_rng(0).standard_normal((16, 8, 32, 32)).astype(np.float32))
    activation = x.data.nbytes  # every layer's output has this size (0.5 MB)
    tracemalloc.start()
    try:
        _backward_peak(model, x)  # warm-up: lets any reusable workspace reach its size
        model.zero_grad()
        held_before, extra_peak, held_after = _backward_peak(model, x)
    finally:
        tracemalloc.stop()
    # Backward needs, beyond the graph, the gradient flowing in, the one flowing out and
    # the op's own temporaries: measured 2.2 activations (3.2 while the pass kept every
    # visited node alive until it returned).
    assert extra_peak <= 2.6 * activation, extra_peak / activation
    assert held_after <= held_before + activation  # the pass leaves nothing of its own behind
