"""Every layer against torch.nn on the same weights: outputs, input and parameter gradients."""

import numpy as np
import pytest
import torch
from module_parity import module_parity

import convscope
from convscope import Tensor, nn
from oracle import torch_parity

t = torch.nn


def _x(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


CONV_CASES = [
    ((1, 4, 3), {}),
    ((3, 6, (3, 5)), {"stride": 2, "padding": 1}),
    ((3, 6, 3), {"padding": (2, 0), "stride": (1, 2)}),
    ((3, 4, 3), {"padding": "same"}),
    ((3, 4, 4), {"padding": "same", "dilation": 2}),
    ((3, 4, 3), {"padding": "valid", "bias": False}),
    ((3, 4, 3), {"dilation": 2}),
    ((3, 6, 3), {"groups": 3, "padding": 1}),
]


@pytest.mark.parametrize("args, kwargs", CONV_CASES)
def test_conv2d_matches_torch(args, kwargs):
    convscope.manual_seed(0)
    x = _x(2, args[0], 9, 10)
    module_parity(nn.Conv2d(*args, **kwargs), t.Conv2d(*args, **kwargs), x)


@pytest.mark.parametrize(
    "ours, theirs, shape",
    [
        (lambda: nn.MaxPool2d(2), lambda: t.MaxPool2d(2), (2, 3, 8, 8)),
        (lambda: nn.MaxPool2d(3, 2, 1), lambda: t.MaxPool2d(3, 2, 1), (2, 3, 9, 9)),
        (lambda: nn.MaxPool2d((2, 3), stride=1), lambda: t.MaxPool2d((2, 3), stride=1),
         (1, 2, 5, 6)),
        (lambda: nn.MaxPool2d(2, ceil_mode=True), lambda: t.MaxPool2d(2, ceil_mode=True),
         (2, 2, 7, 7)),
        (lambda: nn.AvgPool2d(2), lambda: t.AvgPool2d(2), (2, 3, 8, 8)),
        (lambda: nn.AvgPool2d(3, 2, 1), lambda: t.AvgPool2d(3, 2, 1), (2, 3, 9, 9)),
        (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
         lambda: t.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
        (lambda: nn.AvgPool2d(2, ceil_mode=True), lambda: t.AvgPool2d(2, ceil_mode=True),
         (1, 2, 7, 7)),
        (lambda: nn.Linear(5, 3), lambda: t.Linear(5, 3), (4, 5)),
        (lambda: nn.Linear(5, 3, bias=False), lambda: t.Linear(5, 3, bias=False), (2, 4, 5)),
        (lambda: nn.Flatten(), lambda: t.Flatten(), (2, 3, 4, 5)),
        (lambda: nn.Flatten(0, 2), lambda: t.Flatten(0, 2), (2, 3, 4, 5)),
        (lambda: nn.ReLU(), lambda: t.ReLU(), (3, 7)),
        (lambda: nn.LeakyReLU(0.2), lambda: t.LeakyReLU(0.2), (3, 7)),
        (lambda: nn.ELU(0.5), lambda: t.ELU(0.5), (3, 7)),
        (lambda: nn.Tanh(), lambda: t.Tanh(), (3, 7)),
        (lambda: nn.Sigmoid(), lambda: t.Sigmoid(), (3, 7)),
        (lambda: nn.Softmax(dim=1), lambda: t.Softmax(dim=1), (3, 7)),
        (lambda: nn.LogSoftmax(dim=-1), lambda: t.LogSoftmax(dim=-1), (2, 3, 7)),
        (lambda: nn.Dropout(0.5).eval(), lambda: t.Dropout(0.5).eval(), (3, 7)),
    ],
)  # fmt: skip
def test_layer_matches_torch(ours, theirs, shape):
    convscope.manual_seed(0)
    module_parity(ours(), theirs(), _x(*shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_w1_model_matches_torch(dtype):
    from test_state_dict import w1_ours, w1_torch

    convscope.manual_seed(0)
    ours, theirs = (
        w1_ours().eval().to(dtype),
        w1_torch().eval().to(getattr(torch, str(np.dtype(dtype)))),
    )
    module_parity(ours, theirs, _x(3, 1, 28, 28, dtype=dtype))


def test_float64_layers_match_torch_double():
    convscope.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float64), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 2, dtype=np.float64))  # fmt: skip
    theirs = t.Sequential(t.Conv2d(2, 3, 3), t.Flatten(), t.Linear(48, 2)).double()
    assert all(p.dtype == np.float64 for p in ours.parameters())
    module_parity(ours, theirs, _x(2, 2, 6, 6, dtype=np.float64))


# ------------------------------------------------------------------- dtype and input handling


def test_float64_numpy_batch_runs_through_a_float32_model():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 2))
    x = Tensor(_x(2, 1, 5, 5, dtype=np.float64), requires_grad=True)
    out = model(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float64  # the cast is differentiable and casts back
    assert model(_x(2, 1, 5, 5, dtype=np.float64)).dtype == np.float32  # plain NumPy too


def test_parameterless_layers_keep_the_input_dtype_and_accept_numpy():
    assert nn.ReLU()(_x(3, dtype=np.float64)).dtype == np.float64
    assert nn.MaxPool2d(2)(_x(1, 1, 4, 4, dtype=np.float64)).dtype == np.float64


def test_integer_input_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"Conv2d expected floating-point input; received dtype "
                                        r"uint8\. Convert \(and scale\) it first"):  # fmt: skip
        nn.Conv2d(1, 2, 3)(np.zeros((1, 1, 5, 5), dtype=np.uint8))


# ------------------------------------------------------------------- Dropout


def test_dropout_train_zeroes_and_rescales_eval_is_identity():
    convscope.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = Tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert set(np.unique(y.data)) == {0.0, np.float32(1 / 0.75)}
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # same mask on the way back
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)


def test_dropout_draws_from_convscope_generator():
    def run():
        convscope.manual_seed(5)
        return nn.Dropout(0.5)(np.ones(50, dtype=np.float32)).data

    np.testing.assert_array_equal(run(), run())


# ------------------------------------------------------------------- losses


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.CrossEntropyLoss(), t.CrossEntropyLoss()),
        (nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1),
         t.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)),
        (nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5, 1.0], dtype=np.float32),
                             ignore_index=1),
         t.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.0]), ignore_index=1)),
        (nn.NLLLoss(reduction="none"), t.NLLLoss(reduction="none")),
    ],
)  # fmt: skip
def test_class_losses_match_torch(ours, theirs):
    logits = _x(6, 4)
    target = np.array([0, 1, 3, 2, 1, 0])
    if isinstance(ours, nn.NLLLoss):
        logits = np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    torch_parity(ours, theirs, logits, target)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.MSELoss(), t.MSELoss()),
        (nn.MSELoss(reduction="none"), t.MSELoss(reduction="none")),
        (nn.BCEWithLogitsLoss(), t.BCEWithLogitsLoss()),
        (nn.BCEWithLogitsLoss(pos_weight=np.array([1.0, 3.0, 0.5], dtype=np.float32)),
         t.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 3.0, 0.5]))),
    ],
)  # fmt: skip
def test_regression_losses_match_torch(ours, theirs):
    target = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    torch_parity(lambda x: ours(x, target), lambda x: theirs(x, torch.from_numpy(target)), _x(4, 3))


def test_losses_accept_numpy_and_cast_float_targets():
    loss = nn.MSELoss()(Tensor(np.zeros(3, dtype=np.float32)), np.ones(3, dtype=np.float64))
    assert loss.dtype == np.float32 and loss.item() == 1.0
    assert nn.CrossEntropyLoss()(np.zeros((2, 5), dtype=np.float32), np.array([1, 4])).shape == ()


def test_weighted_loss_registers_its_weight_as_a_buffer():
    loss = nn.CrossEntropyLoss(weight=[1, 2, 3])
    assert (
        list(loss.state_dict())
        == ["weight"]
        == list(t.CrossEntropyLoss(torch.ones(3)).state_dict())
    )
    assert loss.weight.dtype == np.float32


# ------------------------------------------------------------------- Keras-style errors


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: nn.Conv2d(0, 32, 3), ValueError,
         "Conv2d expected in_channels to be a positive integer; received in_channels=0."),
        (lambda: nn.Conv2d(1, 32.0, 3), ValueError,
         "Conv2d expected out_channels to be a positive integer; received out_channels=32.0."),
        (lambda: nn.Conv2d(1, 32, 0), ValueError,
         "Invalid value for argument `kernel_size`. Expected an int >= 1 or a pair of them. "
         "Received kernel_size=0."),
        (lambda: nn.Conv2d(1, 32, 3, stride=(1, 0)), ValueError,
         "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
         "Received stride=(1, 0)."),
        (lambda: nn.Conv2d(1, 32, 3, padding="full"), ValueError,
         "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
         "'same'. Received padding='full'."),
        (lambda: nn.Conv2d(1, 32, 3, padding=-1), ValueError, "Received padding=-1."),
        (lambda: nn.Conv2d(3, 32, 3, groups=2), ValueError,
         "Conv2d expected in_channels to be divisible by groups; received in_channels=3, "
         "groups=2."),
        (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError,
         "Conv2d expected out_channels to be divisible by groups; received out_channels=6, "
         "groups=4."),
        (lambda: nn.Conv2d(1, 2, 3, dtype=np.int32), TypeError,
         "Conv2d expected a floating-point dtype such as np.float32 or np.float64; "
         "received dtype=<class 'numpy.int32'>."),
        (lambda: nn.Linear(0, 2), ValueError,
         "Linear expected in_features to be a positive integer; received in_features=0."),
        (lambda: nn.MaxPool2d(2, padding=2), ValueError,
         "MaxPool2d expected padding to be at most half of kernel_size; received padding=2, "
         "kernel_size=2."),
        (lambda: nn.MaxPool2d(3, dilation=2), ValueError,
         "MaxPool2d supports only dilation=1; received dilation=2."),
        (lambda: nn.AvgPool2d(0), ValueError,
         "Invalid value for argument `kernel_size`. Expected an int >= 1 or a pair of them. "
         "Received kernel_size=0."),
        (lambda: nn.Dropout(1.5), ValueError,
         "Dropout expected p to be a probability between 0 and 1; received p=1.5."),
        (lambda: nn.BatchNorm2d(0), ValueError,
         "BatchNorm2d expected num_features to be a positive integer; received num_features=0."),
        (lambda: nn.BatchNorm2d(3, momentum=2), ValueError,
         "BatchNorm2d expected momentum to be a probability between 0 and 1; received momentum=2."),
        (lambda: nn.BatchNorm2d(3, eps=0), ValueError,
         "BatchNorm2d expected eps to be a positive number; received eps=0."),
        (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
         "CrossEntropyLoss expected reduction to be 'mean', 'sum' or 'none'; received "
         "reduction='avg'."),
        (lambda: nn.Sequential(nn.ReLU), TypeError,
         "Did you pass a class instead of an instance (ReLU rather than ReLU())?"),
        (lambda: nn.Flatten(1.5), TypeError, "Flatten expected start_dim to be an integer"),
    ],
)  # fmt: skip
def test_constructor_errors_say_expected_and_received(build, error, message):
    with pytest.raises(error) as info:
        build()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.Conv2d(3, 8, 3), (8, 1, 28, 28),
         "Conv2d(in_channels=3) expected input of shape (N, 3, H, W); received (8, 1, 28, 28)."),
        (nn.Conv2d(1, 8, 3), (1, 28, 28),
         "Conv2d(in_channels=1) expected input of shape (N, 1, H, W); received (1, 28, 28). "
         "For a single image add a batch axis: x[None]."),
        (nn.Linear(1600, 10), (8, 1024),
         "Linear(in_features=1600) expected input of shape (*, 1600); received (8, 1024). "
         "The layer before produces 1024 features: use Linear(1024, 10)."),
        (nn.Linear(1600, 10), (8, 64, 5, 5),
         "Linear(in_features=1600) expected input of shape (*, 1600); received (8, 64, 5, 5). "
         "Add Flatten() before it to turn feature maps into vectors."),
        (nn.MaxPool2d(2), (8, 28, 28),
         "MaxPool2d expected input of shape (N, C, H, W); received (8, 28, 28). "
         "For a single image add a batch axis: x[None]."),
        (nn.BatchNorm2d(16), (8, 32, 5, 5),
         "BatchNorm2d(num_features=16) expected input of shape (N, 16, H, W); "
         "received (8, 32, 5, 5)."),
        (nn.BatchNorm1d(16), (8, 32),
         "BatchNorm1d(num_features=16) expected input of shape (N, 16) or (N, 16, L); "
         "received (8, 32)."),
    ],
)  # fmt: skip
def test_forward_shape_errors_teach(layer, shape, message):
    with pytest.raises(ValueError) as info:
        layer(np.zeros(shape, dtype=np.float32))
    assert str(info.value) == message


def test_conv_kernel_larger_than_input_is_reported():
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.Conv2d(1, 1, 5)(np.zeros((1, 1, 3, 3), dtype=np.float32))
