"""§9.5: output sizes by formula, stride as subsampling, the new layers, the three gradients."""

from convscope.experiments import variants


def test_output_sizes():
    r = variants.output_sizes("smoke")
    assert all(row.measured == row.predicted for row in r.rows)
    assert [row.measured for row in r.rows] == [26, 28, 30, 24, 28, 32]


def test_stride_is_subsampling():
    r = variants.stride_as_subsampling("smoke")
    assert r.max_difference < 1e-6
    assert r.multiplies_full_then_subsampled == 4 * r.multiplies_strided


def test_unshared_and_tiled_parameters_and_accuracy():
    r = variants.unshared_and_tiled("smoke")
    locations = 24 * 24
    assert r.layer_parameters == [locations * 16 * 25 + 16 * locations, 4 * 16 * 25 + 16, 416]
    assert min(r.accuracy) > 0.2  # chance is 0.1


def test_three_operations_pass_gradcheck():
    r = variants.three_operations("smoke")
    assert len(r.rows) == 4 and all(row.ok and row.max_rel_error < 1e-4 for row in r.rows)
