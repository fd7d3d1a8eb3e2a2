import numpy as np
import pytest

from convscope.viz import plot_feature_maps


def row_labels(fig):
    return [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel()]


def tiles(fig, ylabel_start):
    """The tile axes of one layer's row: from its labelled axes up to the next colorbar."""
    axes = fig.axes
    start = next(i for i, ax in enumerate(axes) if ax.get_ylabel().startswith(ylabel_start))
    row = []
    for ax in axes[start:]:
        if ax.get_label() == "<colorbar>":
            break
        row.append(ax)
    return row


def test_input_then_one_row_per_layer_in_order(outputs, rng):
    fig = plot_feature_maps(outputs, image=rng.random((1, 12, 12)))
    assert row_labels(fig) == ["input", "conv1", "pool1", "flatten", "fc"]
    assert fig.get_suptitle() == "Feature maps of example 0"
    # 6 channels per spatial layer, 1 strip per vector, 1 colorbar per layer, 1 image
    assert len(fig.axes) == 1 + (6 + 1) * 2 + (1 + 1) * 2
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 4


def test_channels_share_a_scale_and_the_example_is_selected(outputs):
    fig = plot_feature_maps(outputs, max_channels=4, index=1)
    row = tiles(fig, "conv1")
    assert len(row) == 4
    assert "(first 4)" in row[0].get_ylabel()
    assert len({ax.images[0].get_clim() for ax in row}) == 1
    np.testing.assert_array_equal(row[3].images[0].get_array(), outputs["conv1"][1, 3])
    low, high = row[0].images[0].get_clim()
    shown = outputs["conv1"][1, :4]
    assert (low, high) == pytest.approx((shown.min(), shown.max()))


def test_vectors_are_drawn_as_one_strip(outputs):
    fig = plot_feature_maps(outputs)
    (strip,) = tiles(fig, "fc")
    assert strip.images[0].get_array().shape == (1, 10)
    assert "10 features" in strip.get_ylabel()
    assert len(strip.get_xticks()) == 10  # short vectors (logits) number their cells


def test_layers_selects_and_orders_rows_and_unbatched_outputs_work(outputs):
    unbatched = {name: value[0] for name, value in outputs.items()}
    fig = plot_feature_maps(unbatched, layers=["fc", "conv1"], title="two layers")
    assert row_labels(fig) == ["fc", "conv1"]
    assert fig.get_suptitle() == "two layers"


def test_accepts_nchw_batch_of_one_image_and_rgb(outputs, rng):
    fig = plot_feature_maps(outputs, image=rng.random((1, 3, 12, 12)))
    assert fig.axes[0].images[0].get_array().shape == (12, 12, 3)


@pytest.mark.parametrize(
    "outputs, kwargs, message",
    [
        ({}, {}, "non-empty dict of layer name to output array"),
        ([np.zeros((1, 2, 3, 3))], {}, "non-empty dict"),
        ({"a": np.zeros((1, 2, 3, 3, 3))}, {}, r"outputs\['a'\] of shape \(N, C, H, W\)"),
        ({"a": np.zeros((1, 2, 3, 3))}, {"layers": ["b"]}, r"received \['b'\]"),
        ({"a": np.zeros((1, 2, 3, 3))}, {"index": 1}, r"index in \[0, 1\).*received index=1"),
        ({"a": np.zeros((1, 2, 3, 3))}, {"max_channels": 0}, "max_channels to be a positive"),
        ({"a": np.zeros((1, 2, 3, 3))}, {"image": np.zeros(5)}, r"image of shape \(H, W\)"),
        ({"a": np.array(["x", "y"])}, {}, "real-valued array"),
    ],
)
def test_rejects_bad_input(outputs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_feature_maps(outputs, **kwargs)
