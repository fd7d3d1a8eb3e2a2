"""§9.3: pooled representations change less under small shifts; so does accuracy."""

from convscope.experiments import pooling


def test_pooling_is_approximately_invariant():
    r = pooling.pooling_invariance("smoke")
    first = 0  # 1-px shift
    assert r.relative_change[2][first] < r.relative_change[1][first]
    assert r.relative_change[4][first] < r.relative_change[2][first]
    assert r.unchanged[2][first] > r.unchanged[1][first]


def test_pooled_network_loses_less_accuracy_when_test_images_shift():
    r = pooling.shifted_test_accuracy("smoke")
    assert r.pooled[0] > 0.3 and r.unpooled[0] > 0.3  # well above chance (0.1)
    assert r.pooled_drop < r.unpooled_drop
