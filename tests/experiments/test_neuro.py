"""§9.10: the Gabor fit recovers known Gabors; pooling removes phase dependence."""

import numpy as np
import pytest

from convscope.experiments import neuro


@pytest.mark.parametrize("theta", [0.0, 45.0, 112.5])
def test_gabor_fit_recovers_orientation(theta):
    v, u = np.mgrid[0:5, 0:5].astype(float)
    t = np.deg2rad(theta)
    along = (u - 2) * np.cos(t) + (v - 2) * np.sin(t)
    g = np.exp(-((u - 2) ** 2 + (v - 2) ** 2) / (2 * 1.2**2)) * np.sin(2 * np.pi * 0.17 * along)
    r2, fitted = neuro.fit_gabor(g[None])
    assert r2[0] > 0.999 and fitted[0] == theta


def test_grating_orientation():
    g = neuro.grating(8, 90.0, 0.25, 0.0)  # bars vary along v only
    assert np.allclose(g, g[:, :1]) and g.min() >= 0 and g.max() <= 1


def test_simple_and_complex_cells():
    r = neuro.neuroscience("smoke")
    assert r.tuned_filters > 0 and len(r.gabor_r2_learned) == r.filters == 32
    assert r.phase_modulation_complex < r.phase_modulation_simple / 5
    assert all(0 <= s <= 1 for s in r.orientation_selectivity)
