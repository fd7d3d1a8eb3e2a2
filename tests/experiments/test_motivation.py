"""§9.2: receptive fields and parameter counts by hand; equivariance holds only for shifts."""

from convscope.experiments import motivation


def test_receptive_fields_follow_the_recurrence():
    r = motivation.receptive_fields("smoke")
    assert r.conv_only == [3, 5, 7, 9, 11]  # + (k − 1) per 3×3 conv
    # conv 3, pool +1 (jump 2), conv +2·2, pool +2 (jump 4), conv +2·4, pool +4
    assert r.with_pooling == [3, 4, 8, 10, 18, 22]


def test_parameter_counts_by_hand():
    r = motivation.parameter_sharing("smoke")
    outputs = 32 * 26 * 26
    assert r.dense_parameters == 784 * outputs + outputs
    assert r.local_parameters == outputs * 9 + outputs
    assert r.conv_parameters == 32 * 9 + 32
    assert r.conv_multiplies == outputs * 9 and r.dense_multiplies == 784 * outputs


def test_equivariant_to_shifts_not_to_rotation_or_scaling():
    r = motivation.equivariance("smoke")
    assert max(r.interior_error) < 1e-5
    assert min(r.border_error) > 100 * max(max(r.interior_error), 1e-7)
    assert r.rotation_error > 0.1 and r.scaling_error > 0.1
    assert r.figure is not None
