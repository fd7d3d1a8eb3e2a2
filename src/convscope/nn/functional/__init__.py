"""Functional ops on batched NCHW tensors, named and shaped as ``torch.nn.functional``.

Each op computes its output with vectorized NumPy and defines its backward pass
beside it (see :meth:`convscope.Tensor.from_op`).

>>> import numpy as np
>>> from convscope import Tensor
>>> from convscope.nn import functional as F
>>> F.relu(Tensor([-1.0, 2.0]))
Tensor([0., 2.])
"""

from convscope.nn.functional.activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from convscope.nn.functional.adaptive_pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    adaptive_output_size,
)
from convscope.nn.functional.channel_dropout import dropout2d
from convscope.nn.functional.conv import conv2d, pad
from convscope.nn.functional.conv_transpose import conv_transpose2d
from convscope.nn.functional.linear import dropout, flatten, linear
from convscope.nn.functional.local import locally_connected2d, tiled_conv2d
from convscope.nn.functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from convscope.nn.functional.normalization import batch_norm, group_norm, layer_norm
from convscope.nn.functional.pooling import avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "adaptive_output_size",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "flatten",
    "gelu",
    "group_norm",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "locally_connected2d",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "tanh",
    "tiled_conv2d",
]
