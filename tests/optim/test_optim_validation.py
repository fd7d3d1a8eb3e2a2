"""Hyper-parameter and params validation: the exact error texts."""

import numpy as np
import pytest

from convscope import Tensor
from convscope.optim import SGD, Adagrad, Adam, AdamW, RMSprop


def _w():
    return Tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Adam([_w()], lr=-1), "Adam expected lr >= 0; received lr=-1."),
        (lambda: SGD([_w()], lr=-0.5), "SGD expected lr >= 0; received lr=-0.5."),
        (lambda: SGD([_w()], momentum=-0.1), "SGD expected momentum >= 0; received momentum=-0.1."),
        (
            lambda: SGD([_w()], weight_decay=-1e-4),
            "SGD expected weight_decay >= 0; received weight_decay=-0.0001.",
        ),
        (
            lambda: SGD([_w()], nesterov=True),
            "SGD expected momentum > 0 and dampening = 0 with nesterov=True; "
            "received momentum=0.0, dampening=0.0.",
        ),
        (
            lambda: SGD([_w()], momentum=0.9, dampening=0.1, nesterov=True),
            "SGD expected momentum > 0 and dampening = 0 with nesterov=True; "
            "received momentum=0.9, dampening=0.1.",
        ),
        (
            lambda: Adam([_w()], betas=(1.0, 0.999)),
            "Adam expected 0 <= betas[0] < 1; received betas[0]=1.0.",
        ),
        (
            lambda: Adam([_w()], betas=(0.9, -0.1)),
            "Adam expected 0 <= betas[1] < 1; received betas[1]=-0.1.",
        ),
        (
            lambda: Adam([_w()], betas=0.9),
            "Adam expected betas to be a pair (beta1, beta2); received betas=0.9.",
        ),
        (lambda: Adam([_w()], eps=-1e-8), "Adam expected eps >= 0; received eps=-1e-08."),
        (
            lambda: AdamW([_w()], weight_decay=-0.01),
            "AdamW expected weight_decay >= 0; received weight_decay=-0.01.",
        ),
        (lambda: AdamW([_w()], lr=float("nan")), "AdamW expected lr >= 0; received lr=nan."),
        (lambda: RMSprop([_w()], alpha=-0.5), "RMSprop expected alpha >= 0; received alpha=-0.5."),
        (
            lambda: RMSprop([_w()], momentum=-1),
            "RMSprop expected momentum >= 0; received momentum=-1.",
        ),
        (
            lambda: Adagrad([_w()], lr_decay=-1),
            "Adagrad expected lr_decay >= 0; received lr_decay=-1.",
        ),
        (
            lambda: Adagrad([_w()], initial_accumulator_value=-1),
            "Adagrad expected initial_accumulator_value >= 0; "
            "received initial_accumulator_value=-1.",
        ),
        (
            lambda: SGD([{"params": [_w()]}, {"params": [_w()], "lr": -2}]),
            "SGD expected lr >= 0; received lr=-2.",
        ),
        (lambda: SGD([]), "SGD got an empty parameter list; pass model.parameters()."),
        (lambda: SGD([_w(), _w()] * 2), "SGD received a parameter more than once"),
        (
            lambda: SGD([_w() * 2]),
            "SGD can't optimize a non-leaf Tensor (position 0, computed by 'mul')",
        ),
        (
            lambda: SGD([{"lr": 0.1}]),
            "SGD expected a 'params' key in the param group; received keys ['lr'].",
        ),
    ],
    ids=lambda v: None if callable(v) else v.split(";")[0][:40],
)
def test_value_errors(build, message):
    with pytest.raises(ValueError) as info:
        build()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda: SGD([_w()], lr="0.1"),
            "SGD expected lr to be a number; received lr='0.1' of type str.",
        ),
        (
            lambda: SGD(_w()),
            "SGD expected an iterable of Tensors or of dicts as params; received a single "
            "Tensor. Wrap it in a list: SGD([w], ...).",
        ),
        (
            lambda: SGD({_w()}),
            "SGD expected params in an ordered collection (list or tuple); received a set",
        ),
        (
            lambda: SGD([_w(), np.ones(2)]),
            "SGD expected params to be Tensors; received ndarray at position 1.",
        ),
        (
            lambda: Adam([Tensor(np.arange(3))]),
            "Adam can only optimize floating-point tensors; received dtype int64 at position 0.",
        ),
    ],
    ids=["number", "single-tensor", "set", "non-tensor", "int-dtype"],
)
def test_type_errors(build, message):
    with pytest.raises(TypeError) as info:
        build()
    assert message in str(info.value)


def test_same_parameter_in_two_groups():
    w = _w()
    with pytest.raises(ValueError, match="more than once"):
        Adam([{"params": [w]}, {"params": [w], "lr": 0.1}])


def test_parameters_that_do_not_require_grad_are_accepted_and_skipped():
    """As torch: frozen parameters may be passed (model.parameters()); they never get a grad."""
    frozen = Tensor(np.ones(2))
    opt = SGD([frozen, _w()], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(frozen.data, np.ones(2))
