"""§9.7: one set of weights on several input sizes; multi-channel convolution as a sum."""

from convscope.experiments import data_types


def test_global_pooling_accepts_every_size():
    r = data_types.variable_size_inputs("smoke")
    assert [row.size for row in r.rows] == [28, 36, 56, 56, 14]
    assert [row.feature_map for row in r.rows] == [(14, 14), (18, 18), (28, 28), (28, 28), (7, 7)]
    assert all(0 <= row.accuracy_avg <= 1 and 0 <= row.accuracy_max <= 1 for row in r.rows)
    assert "expected input of shape (*, 784)" in r.flatten_error


def test_multichannel_convolution_is_a_sum_over_channels():
    r = data_types.multichannel("smoke")
    assert r.sum_of_single_channel_difference < 1e-5 and r.grey_as_rgb_difference < 1e-5
    assert r.parameters == 8 * 3 * 9 + 8
