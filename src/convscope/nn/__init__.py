"""Neural-network building blocks with PyTorch's names: ``Module``, layers, ``init``, ``summary``.

>>> import numpy as np
>>> import convscope
>>> from convscope import nn
>>> convscope.manual_seed(0)
>>> model = nn.Sequential(
...     nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
... )
>>> model.num_parameters()
34826
>>> model(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
(8, 10)
>>> list(model.state_dict())[:3]
['0.weight', '0.bias', '3.weight']
"""

from convscope.nn import functional, init
from convscope.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from convscope.nn.capture import capture_outputs
from convscope.nn.container import Identity, ModuleDict, ModuleList, Sequential
from convscope.nn.conv import Conv2d, ConvTranspose2d
from convscope.nn.dropout import Dropout, Dropout2d
from convscope.nn.flatten import Flatten
from convscope.nn.hooks import RemovableHandle
from convscope.nn.linear import Linear
from convscope.nn.local import LocallyConnected2d, TiledConv2d
from convscope.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from convscope.nn.module import Module
from convscope.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from convscope.nn.padding import ZeroPad2d
from convscope.nn.parameter import Parameter
from convscope.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from convscope.nn.state import IncompatibleKeys, StateDictError
from convscope.nn.summary import Summary, summary

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "ELU",
    "Flatten",
    "GELU",
    "GroupNorm",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LocallyConnected2d",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "StateDictError",
    "Summary",
    "Tanh",
    "ZeroPad2d",
    "TiledConv2d",
    "capture_outputs",
    "functional",
    "init",
    "summary",
]
