"""Module and Parameter: registration, traversal, modes, hooks, dtype, repr."""

import numpy as np
import pytest
import torch

import convscope
from convscope import Tensor, nn
from convscope.nn import Parameter


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, 2)
        self.scale = Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.register_buffer("cache", np.zeros(3, dtype=np.float32), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        x = self.features(x)  # (N, 4, H, W)
        return self.head(x.mean(axis=(2, 3))) * self.scale


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = Parameter(np.zeros((2, 3), dtype=np.float32))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert Parameter(Tensor([1.0, 2.0])).dtype == np.float32
    assert not Parameter([1.0], requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        Parameter(np.arange(3))


def test_parameter_shares_memory_with_the_array_given():
    array = np.zeros(3, dtype=np.float32)
    p = Parameter(array)
    array[0] = 5
    assert p.data[0] == 5


def test_attributes_register_parameters_modules_and_buffers():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.1.weight",
        "features.1.bias", "head.weight", "head.bias",
    ]  # fmt: skip
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "cache", "features.1.running_mean", "features.1.running_var",
        "features.1.num_batches_tracked",
    ]  # fmt: skip
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.1", "features.2", "head",
    ]  # fmt: skip
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 2
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert net.note == "plain attribute" and "note" not in net._parameters
    assert isinstance(net.steps, np.ndarray)
    assert "cache" not in net.state_dict() and "steps" in net.state_dict()
    assert "head" in dir(net) and "scale" in dir(net)


def test_num_parameters_counts_trainable_or_all():
    net = Net()
    total = 1 + (36 + 4) + (4 + 4) + (8 + 2)
    assert net.num_parameters() == total
    net.head.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == total - 10


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassigning_and_deleting_attributes():
    net = Net()
    net.head = nn.Linear(4, 3)
    assert net.head.out_features == 3
    net.head.bias = None
    assert "head.bias" not in net.state_dict()
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'weight'.*Parameter\("):
        net.head.weight = Tensor(np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="cannot assign int as child module 'head'"):
        net.head = 3
    net.steps = np.ones((), dtype=np.int64)
    assert net.state_dict()["steps"] == 1
    with pytest.raises(TypeError, match="buffer 'steps' expected a NumPy array"):
        net.steps = 2
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'scale'"):
        _ = net.scale


def test_assigning_before_super_init_teaches_the_fix():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
            super().__init__()

    message = (
        r"cannot assign module 'fc' before Module.__init__\(\) call: add super\(\).__init__\(\) "
        r"as the first line of Broken.__init__"
    )
    with pytest.raises(AttributeError, match=message):
        Broken()

    class BrokenParam(nn.Module):
        def __init__(self):
            self.w = Parameter(np.zeros(2, dtype=np.float32))

    with pytest.raises(AttributeError, match="cannot assign parameter 'w' before"):
        BrokenParam()

    class NoInit(nn.Module):
        def __init__(self):
            self.size = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match=r"Module.__init__\(\) was never called"):
        NoInit()(np.zeros(2))


def test_register_buffer_and_parameter_validate_names():
    m = nn.Module()
    with pytest.raises(KeyError, match="without '.'"):
        m.register_buffer("a.b", np.zeros(1))
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", np.zeros(1))
    with pytest.raises(TypeError, match="expected a Parameter or None"):
        m.register_parameter("w", np.zeros(1))
    m.register_buffer("none", None)
    assert "none" not in m.state_dict()


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match=r"Module has no forward\(\)"):
        nn.Module()(1)
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        nn.ModuleList([nn.ReLU()])(1)


def test_train_and_eval_propagate_to_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="expected mode to be True or False"):
        net.train("yes")


def test_zero_grad_sets_none_or_zeros():
    net = Net()
    net(np.ones((2, 1, 5, 5), dtype=np.float32)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_forward_hook_sees_inputs_and_output_and_can_be_removed():
    relu = nn.ReLU()
    calls = []
    handle = relu.register_forward_hook(lambda m, inp, out: calls.append((m, inp, out)))
    x = Tensor([-1.0, 1.0])
    y = relu(x)
    (module, inputs, output), = calls  # fmt: skip
    assert module is relu and inputs[0] is x and output is y
    handle.remove()
    handle.remove()  # a second remove does nothing
    relu(x)
    assert len(calls) == 1
    with relu.register_forward_hook(lambda m, i, o: o * 2):  # a returned value replaces the output
        assert relu(x).tolist() == [0.0, 2.0]
    assert relu(x).tolist() == [0.0, 1.0]
    with pytest.raises(TypeError, match="expected a callable"):
        relu.register_forward_hook(3)


def test_to_casts_parameters_and_float_buffers_in_place():
    net = Net()
    params = list(net.parameters())
    net(np.ones((2, 1, 5, 5), dtype=np.float32)).sum().backward()
    assert net.double() is net
    assert all(a is b for a, b in zip(net.parameters(), params, strict=True))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.features[1].running_var.dtype == np.float64
    assert net.features[1].num_batches_tracked.dtype == np.int64
    assert net.steps.dtype == np.int64
    out = net(np.ones((1, 1, 5, 5), dtype=np.float32))  # float32 input is cast to float64
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in params)
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating-point dtype"):
        net.to(np.int32)


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Conv2d", "BatchNorm2d", "ReLU", "Sequential", "Linear", "Net"]


def test_repr_matches_pytorch_for_nested_models():
    ours = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64),
        nn.LeakyReLU(0.2), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.5),
        nn.Sequential(nn.Linear(64, 10), nn.LogSoftmax(dim=1)),
        nn.Conv2d(4, 8, (3, 5), padding="same", dilation=2, groups=2), nn.ELU(), nn.Tanh(),
        nn.Sigmoid(), nn.Softmax(dim=1), nn.BatchNorm1d(3, momentum=None, affine=False),
        nn.CrossEntropyLoss(), nn.MSELoss(), nn.NLLLoss(), nn.BCEWithLogitsLoss(),
    )  # fmt: skip
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(64),
        torch.nn.LeakyReLU(0.2), torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.5),
        torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.LogSoftmax(dim=1)),
        torch.nn.Conv2d(4, 8, (3, 5), padding="same", dilation=2, groups=2), torch.nn.ELU(),
        torch.nn.Tanh(), torch.nn.Sigmoid(), torch.nn.Softmax(dim=1),
        torch.nn.BatchNorm1d(3, momentum=None, affine=False), torch.nn.CrossEntropyLoss(),
        torch.nn.MSELoss(), torch.nn.NLLLoss(), torch.nn.BCEWithLogitsLoss(),
    )  # fmt: skip
    assert repr(ours) == repr(theirs)
    assert repr(nn.Conv2d(1, 32, 3)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"


def test_module_summary_method_returns_the_summary():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    s = model.summary((1, 5, 5))
    assert isinstance(s, nn.Summary) and s.total_params == 20


def test_seeded_construction_is_bitwise_reproducible():
    def build():
        convscope.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.Linear(8, 4), nn.BatchNorm2d(3)).state_dict()

    a, b = build(), build()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    convscope.manual_seed(1)
    c = nn.Sequential(nn.Conv2d(1, 8, 3)).state_dict()
    assert not np.array_equal(a["0.weight"], c["0.weight"])
