"""Every experiment seeds itself: the same call gives the same numbers."""

import convscope
from convscope.experiments import pooling, variants


def test_same_call_same_numbers():
    first = pooling.pooling_invariance("smoke")
    convscope.manual_seed(123)  # whatever the caller did to the generator before
    assert pooling.pooling_invariance("smoke") == first
    a = variants.unshared_and_tiled("smoke")
    convscope.manual_seed(7)
    assert variants.unshared_and_tiled("smoke") == a
