"""Version counters: in-place changes are counted, and backward refuses stale saved values.

Every case is run in PyTorch too: where PyTorch raises, we raise; where it computes a
gradient, we compute the same one.
"""

import re

import numpy as np
import pytest
import torch

import convscope as cs
from convscope import Tensor, nn, optim

STALE = "one of the variables needed for gradient computation has been modified by an inplace"


def test_optimizer_step_between_forward_and_second_backward_raises_as_torch():
    w = nn.Parameter(np.array([1.0, 2.0], np.float32))
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    assert str(info.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: input 0 of op 'mul', a Parameter of shape (2,) and dtype float32 (a leaf), is "
        "at version 1; expected version 0 instead. Hint: an in-place change (an optimizer step, "
        "+=, t[...] = v, zero_()) ran between the forward pass and backward(); call backward() "
        "first, or run the forward pass again after the change."
    )
    tw = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    topt = torch.optim.SGD([tw], lr=0.1)
    tloss = (tw * tw).sum()
    tloss.backward(retain_graph=True)
    topt.step()
    with pytest.raises(RuntimeError, match=STALE):
        tloss.backward()


def test_without_a_change_the_second_backward_accumulates_the_true_total():
    w = nn.Parameter(np.array([1.0, 2.0], np.float32))
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])  # 2w twice, by hand


def test_every_optimizer_bumps_the_version_once_per_step():
    for make in (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p),
        lambda p: optim.RMSprop(p),
        lambda p: optim.Adagrad(p),
    ):
        w = nn.Parameter(np.ones(3, np.float32))
        opt = make([w])
        for step in (1, 2):
            (w * w).sum().backward()
            opt.step()
            assert w._version == step
        opt.zero_grad()
        frozen = nn.Parameter(np.ones(3, np.float32))  # no grad: the step skips it
        make([frozen]).step()
        assert frozen._version == 0


def both(fn_ours, fn_torch):
    """Run the same in-place story in both libraries; return (ours, torch) outcomes."""
    outcomes = []
    for fn in (fn_ours, fn_torch):
        try:
            outcomes.append(("ok", np.asarray(fn())))
        except RuntimeError as err:
            outcomes.append(("raises", str(err)))
    return outcomes


@pytest.mark.parametrize(
    "story",
    [
        "setitem_on_saved_input",
        "iadd_on_saved_input_under_no_grad",
        "zero_on_saved_input",
        "fill_on_view_of_saved_input",
        "setitem_on_input_of_add",
        "iadd_on_output_saved_by_exp",
    ],
)
def test_in_place_stories_match_torch(story):
    def run(lib):
        T = (
            (lambda a, rg=False: Tensor(np.array(a, np.float32), requires_grad=rg))
            if lib == "cs"
            else (lambda a, rg=False: torch.tensor(a, dtype=torch.float32, requires_grad=rg))
        )
        no_grad = cs.no_grad if lib == "cs" else torch.no_grad
        x, w = T([1.0, 2.0, 3.0]), T([0.5, -1.0, 2.0], True)
        if story == "setitem_on_saved_input":
            y = (x * w).sum()
            x[0] = 10.0
        elif story == "iadd_on_saved_input_under_no_grad":
            y = (x * w).sum()
            with no_grad():
                w += 1.0
        elif story == "zero_on_saved_input":
            y = (x * w).sum()
            x.zero_()
        elif story == "fill_on_view_of_saved_input":
            y = (x * w).sum()
            x.reshape(3, 1).fill_(4.0)  # a view shares its base's counter
        elif story == "setitem_on_input_of_add":
            y = ((x + w) * 2.0).sum()  # add reads no values: nothing stale
            x[1] = -7.0
        elif story == "iadd_on_output_saved_by_exp":
            e = w.exp()
            y = e.sum()
            with no_grad():
                e += 1.0
        y.backward()
        return w.grad if lib == "cs" else w.grad.numpy()

    (ours_kind, ours), (theirs_kind, theirs) = both(lambda: run("cs"), lambda: run("torch"))
    assert ours_kind == theirs_kind, (ours, theirs)
    if ours_kind == "ok":
        np.testing.assert_allclose(ours, theirs)
    else:
        assert ours.startswith(STALE) and theirs.startswith(STALE)


def test_versions_count_like_torch():
    ours, theirs = Tensor(np.zeros(4, np.float32)), torch.zeros(4)
    for step in (
        lambda t: t.__iadd__(1.0),
        lambda t: t.__setitem__(0, 5.0),
        lambda t: t.zero_(),
        lambda t: t.fill_(2.0),
        lambda t: t.__imul__(3.0),
        lambda t: t.__isub__(1.0),
        lambda t: t.__itruediv__(2.0),
    ):
        step(ours)
        step(theirs)
        assert ours._version == theirs._version
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    view = ours.reshape(2, 2)
    view[0, 0] = 9.0  # a view shares the version counter, as in PyTorch
    assert ours._version == view._version == 8 and ours.data[0] == 9.0
    detached = ours.detach()
    detached += 1.0
    assert ours._version == 9


def test_in_place_keeps_identity_and_memory_outside_a_graph():
    t = Tensor(np.ones(3, np.float32))
    memory = t.data
    t += np.arange(3, dtype=np.float32)
    t *= 2.0
    assert t.data is memory
    np.testing.assert_array_equal(memory, [2.0, 4.0, 6.0])


def test_augmented_assignment_in_a_graph_stays_differentiable():
    w = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    total = 0.0
    for k in (1.0, 2.0, 3.0):
        total += (w * k).sum()  # a running loss: out of place, as x = x + y
    total.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    assert w._version == 0


def test_in_place_on_a_leaf_that_requires_grad_is_refused_as_torch():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)
    message = (
        "{op} on a leaf Tensor that requires grad would change a value the graph depends on; "
        "convscope records no in-place operations. Do it under no_grad() (e.g. a manual weight "
        "update), or write the out-of-place form (t = t + v)."
    )
    for op, call in (
        ("+=", lambda: w.__iadd__(1.0)),
        ("t[...] = value", lambda: w.__setitem__(0, 1.0)),
        ("fill_()", lambda: w.zero_()),
    ):
        with pytest.raises(RuntimeError, match="^" + re.escape(message.format(op=op)) + "$"):
            call()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        torch.ones(2, requires_grad=True).add_(1.0)
    with cs.no_grad():
        w -= 0.5  # a manual update is fine
    np.testing.assert_array_equal(w.data, [0.5, 0.5])
    h = w * 2.0
    with pytest.raises(RuntimeError, match=r"the output of op 'mul'"):
        h[0] = 3.0


def test_in_place_errors_name_what_was_expected():
    t = Tensor(np.zeros(3, np.int64))
    with pytest.raises(
        TypeError, match=r"castable to dtype int64; received shape \(\), dtype float32"
    ):
        t += 0.5
    with pytest.raises(ValueError, match=r"broadcastable to shape \(3,\).*received shape \(2,\)"):
        Tensor(np.zeros(3, np.float32)).__iadd__(np.ones(2, np.float32))
