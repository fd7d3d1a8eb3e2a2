"""gradcheck: accepts correct backward passes, catches wrong ones and says where."""

import numpy as np
import pytest

from convscope import Tensor
from convscope.finite_differences import GradcheckError, GradcheckResult, gradcheck
from convscope.nn import functional as F


def square(t, wrong_at=None, factor=1.0):
    """x² with a backward that can be made wrong at one element (by ``factor``)."""
    a = t.data

    def backward(g):
        grad = 2 * a * g
        if wrong_at is not None:
            grad = grad.copy()
            grad[wrong_at] *= factor
        return (grad,)

    return Tensor.from_op(a * a, (t,), backward, "square")


def product(u, v, wrong_second=False):
    """u · v elementwise; optionally a backward that forgets a factor 2 for v."""
    a, b = u.data, v.data

    def backward(g):
        return g * b, g * a * (2 if wrong_second else 1)

    return Tensor.from_op(a * b, (u, v), backward, "product")


def leaf(shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# --------------------------------------------------------------------------- passes


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: (t * t * t).sum(),
        lambda t: t.exp() / (1 + t * t),
        lambda t: F.softmax(t, dim=1),
        lambda t: (t @ t.T).mean(axis=0),
        square,
    ],
)
def test_correct_ops_pass_elementwise(fn):
    result = gradcheck(fn, leaf((3, 4)))
    assert isinstance(result, GradcheckResult)
    assert result.ok and result.mode == "elementwise"
    assert result.max_rel_error < 1e-6
    assert str(result).startswith("gradcheck passed (elementwise): worst relative error")


def test_correct_op_passes_directional():
    result = gradcheck(square, leaf((20, 30)), max_elementwise=100)
    assert result.ok and result.mode == "directional"
    assert isinstance(result.worst_location, int) and 0 <= result.worst_location < 16


def test_several_inputs_and_an_unused_one():
    u, v, unused = leaf((2, 3), 1), leaf((2, 3), 2), leaf((4,), 3)
    assert gradcheck(lambda a, b, c: product(a, b), u, v, unused).ok
    # Inputs without requires_grad are passed along but not checked.
    assert gradcheck(lambda a, b: product(a, b), u, Tensor(np.ones((2, 3)))).ok


def test_inputs_are_left_untouched():
    t = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    gradcheck(square, t)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    assert t.data.dtype == np.float32 and t.grad is None


def test_runs_in_float64():
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return t * t

    gradcheck(fn, Tensor(np.ones(3, dtype=np.float32), requires_grad=True))
    assert set(seen) == {np.dtype(np.float64)}


def test_deterministic_for_a_seed():
    first = gradcheck(square, leaf((3, 3)), max_elementwise=2, seed=4)
    again = gradcheck(square, leaf((3, 3)), max_elementwise=2, seed=4)
    assert first == again


# --------------------------------------------------------------------------- failures


def test_wrong_backward_raises_with_location():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: square(t, wrong_at=(1, 2), factor=1.1), leaf((3, 4)))
    message = str(info.value)
    assert message.startswith("gradcheck FAILED (elementwise)")
    assert "at input 0, location (1, 2)" in message


def test_wrong_backward_reported_without_raising():
    result = gradcheck(
        lambda t: square(t, wrong_at=(2, 0), factor=0.5), leaf((3, 4)), raise_exception=False
    )
    assert not result.ok
    assert result.worst_input == 0 and result.worst_location == (2, 0)
    assert result.analytic == pytest.approx(0.5 * result.numerical)
    assert result.max_rel_error == pytest.approx(0.5, rel=1e-6)


def test_wrong_gradient_of_second_input_is_attributed_to_it():
    result = gradcheck(
        lambda a, b: product(a, b, wrong_second=True),
        leaf((2, 3), 1),
        leaf((2, 3), 2),
        raise_exception=False,
    )
    assert not result.ok and result.worst_input == 1


def test_worst_input_counts_all_inputs_not_only_checked_ones():
    result = gradcheck(
        lambda c, a, b: product(a, b, wrong_second=True),
        Tensor(np.ones(2)),  # not checked
        leaf((2, 3), 1),
        leaf((2, 3), 2),
        raise_exception=False,
    )
    assert result.worst_input == 2


def test_wrong_backward_caught_in_directional_mode():
    with pytest.raises(GradcheckError, match=r"gradcheck FAILED \(directional\)"):
        gradcheck(
            lambda t: square(t, wrong_at=(5, 7), factor=3.0), leaf((20, 30)), max_elementwise=100
        )


def test_tolerances_are_respected():
    wrong = lambda t: square(t, wrong_at=(0, 0), factor=1.005)  # noqa: E731 - 0.5 % off
    t = Tensor(np.full((2, 2), 3.0), requires_grad=True)
    assert not gradcheck(wrong, t, raise_exception=False).ok
    assert gradcheck(wrong, t, rtol=1e-2).ok


def test_no_input_requires_grad():
    with pytest.raises(ValueError) as info:
        gradcheck(square, Tensor(np.ones(3)))
    assert str(info.value) == (
        "gradcheck needs at least one input with requires_grad=True; received none."
    )


def test_integer_inputs_keep_their_dtype():
    seen = []

    def fn(x, labels):
        seen.append(labels.dtype)
        return x * x

    gradcheck(fn, leaf((3, 4)), Tensor(np.array([0, 1, 3])))
    assert set(seen) == {np.dtype(np.int64)}


def test_zero_atol_with_a_zero_derivative():
    assert gradcheck(square, Tensor(np.array([0.0, 1.0]), requires_grad=True), atol=0).ok
