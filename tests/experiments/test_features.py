"""§9.9: random frozen filters are far above chance; k-means filters are unit-norm centroids."""

import numpy as np

from convscope.experiments import features


def test_random_filters_do_well():
    r = features.random_features("smoke")
    random_acc = r.accuracy[r.names.index("random filters, frozen")]
    assert random_acc > 3 * r.chance
    assert r.trained_parameters[1] == 6272 * 10 + 10  # the classifier only
    assert r.figure is not None


def test_kmeans_filters():
    rng = np.random.default_rng(0)
    x = rng.random((20, 1, 12, 12), dtype=np.float32)
    filters = features.kmeans_filters(x, k=4, size=5, patches=500, iterations=3, seed=0)
    assert filters.shape == (4, 1, 5, 5) and filters.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(filters.reshape(4, -1), axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(filters.reshape(4, -1).sum(axis=1), 0, atol=1e-4)  # zero mean
