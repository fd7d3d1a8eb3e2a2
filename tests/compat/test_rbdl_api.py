"""The adapter's names, parameter order and defaults are the originals'; their faults are not."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from compat.originals import VERSIONS, load_original
from convscope.compat import rbdl


def _public_callables(R):
    """(qualified name, original callable, ours) for every original name the adapter covers."""
    for name in rbdl.__all__:
        if not hasattr(R, name):
            continue
        theirs, ours = getattr(R, name), getattr(rbdl, name)
        if inspect.isclass(theirs):
            for method, fn in vars(theirs).items():
                if callable(fn) and (method == "__init__" or not method.startswith("_")):
                    yield f"{name}.{method}", fn, getattr(ours, method)
        else:
            yield name, theirs, ours


def _parameters(fn):
    return list(inspect.signature(fn).parameters.values())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_original_name_has_the_same_parameters_and_defaults(version):
    R = load_original(version)
    checked = 0
    for name, theirs, ours in _public_callables(R):
        old, new = _parameters(theirs), _parameters(ours)
        assert [(p.name, p.default) for p in old] == [
            (p.name, p.default) for p in new[: len(old)]
        ], name
        # Anything added comes after, and is optional.
        assert all(p.default is not inspect.Parameter.empty for p in new[len(old) :]), name
        checked += 1
    assert checked >= 40 if version == "0.2.9" else checked >= 50


@pytest.mark.parametrize("version", VERSIONS)
def test_every_cnn_name_of_the_original_is_covered(version):
    R = load_original(version)
    public = {
        n
        for n in dir(R)
        if not n.startswith("_")
        and (inspect.isclass(getattr(R, n)) or inspect.isfunction(getattr(R, n)))
    }
    missing = public - set(rbdl.__all__) - set(rbdl.UNSUPPORTED) - {"ceil", "time", "ctime"}
    assert not missing


@pytest.mark.parametrize("version", VERSIONS)
def test_the_original_mixes_a_batch_and_the_adapter_does_not(version):
    R = load_original(version)
    a, b = np.random.default_rng(0).random((2, 6, 6))
    kernel = np.ones((3, 3))
    theirs = R.Convo2D(kernel)(np.stack([a, b])).vals[0]
    assert np.allclose(theirs, R.Convo2D(kernel)(a).vals[0] + R.Convo2D(kernel)(b).vals[0])
    assert np.allclose(
        rbdl.Convo2D(kernel)(np.stack([a, b])).vals[0], rbdl.Convo2D(kernel)(a).vals[0]
    )


@pytest.mark.parametrize(("version", "their_sum"), [("0.2.9", 45.0), ("1.0.5", 1.0)])
def test_max_pooling_gradient_one_per_window_unlike_the_original(version, their_sum):
    R = load_original(version)
    image = np.random.default_rng(0).random((6, 6))
    theirs, ours = R.Values(image.copy()), rbdl.Values(image.copy())
    R.MaxPooling((2, 2), 2)(theirs).sum().backward()
    rbdl.MaxPooling((2, 2), 2)(ours).sum().backward()
    assert np.asarray(theirs.grad).sum() == their_sum  # docs/rbdl.md quotes these
    assert ours.grad.sum() == 9.0 and set(np.unique(ours.grad)) == {0.0, 1.0}
    assert np.asarray(theirs.grad).shape == (6, 6)
