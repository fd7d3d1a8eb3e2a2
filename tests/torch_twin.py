"""The torch.nn model with the same layers as a convscope Sequential (for cross-framework tests)."""

from __future__ import annotations

import torch

from convscope import nn

t = torch.nn


def torch_twin(model: nn.Module) -> torch.nn.Module:
    """A freshly initialised ``torch.nn`` twin of ``model``: same layers, same state_dict keys."""
    if isinstance(model, nn.Sequential):
        return t.Sequential(*(torch_twin(layer) for layer in model))
    if isinstance(model, nn.Conv2d):
        return t.Conv2d(
            model.in_channels, model.out_channels, model.kernel_size, model.stride,
            model.padding, model.dilation, model.groups, bias=model.bias is not None,
        )  # fmt: skip
    if isinstance(model, (nn.BatchNorm1d, nn.BatchNorm2d)):
        cls = t.BatchNorm2d if isinstance(model, nn.BatchNorm2d) else t.BatchNorm1d
        return cls(model.num_features, model.eps, model.momentum, model.affine)
    if isinstance(model, nn.Linear):
        return t.Linear(model.in_features, model.out_features, bias=model.bias is not None)
    if isinstance(model, nn.MaxPool2d):
        return t.MaxPool2d(
            model.kernel_size, model.stride, model.padding, ceil_mode=model.ceil_mode
        )
    if isinstance(model, nn.AvgPool2d):
        return t.AvgPool2d(
            model.kernel_size, model.stride, model.padding, model.ceil_mode, model.count_include_pad
        )
    if isinstance(model, nn.AdaptiveAvgPool2d):
        return t.AdaptiveAvgPool2d(model.output_size)
    if isinstance(model, nn.Flatten):
        return t.Flatten(model.start_dim, model.end_dim)
    if isinstance(model, nn.Dropout):
        return t.Dropout(model.p)
    if isinstance(model, nn.Dropout2d):
        return t.Dropout2d(model.p)
    simple = {nn.ReLU: t.ReLU, nn.Tanh: t.Tanh, nn.Sigmoid: t.Sigmoid, nn.GELU: t.GELU,
              nn.SiLU: t.SiLU, nn.Identity: t.Identity}  # fmt: skip
    if type(model) in simple:
        return simple[type(model)]()
    raise NotImplementedError(f"torch_twin has no rule for {type(model).__name__}")
