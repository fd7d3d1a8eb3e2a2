"""plot_explanations / plot_top_patches: one row per image or channel, the right overlays."""

import numpy as np
import pytest

from convscope.viz.explanations import plot_explanations, plot_top_patches


def test_explanations_grid_draws_each_map_over_its_image(rng):
    images = rng.random((2, 1, 6, 6)).astype(np.float32)
    saliency = rng.random((2, 6, 6))
    fig = plot_explanations(images, {"saliency": saliency, "Grad-CAM": saliency * 0}, ["a", "b"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == ["a", "saliency", "Grad-CAM"] * 1 + [
        "b", "saliency", "Grad-CAM"]  # fmt: skip
    overlay = fig.axes[1].images
    assert len(overlay) == 2  # the image, then the heat map
    np.testing.assert_array_equal(overlay[0].get_array(), images[0, 0])
    np.testing.assert_array_equal(overlay[1].get_array(), saliency[0])
    assert overlay[1].get_clim() == (0, saliency[0].max())


def test_explanations_reject_maps_of_the_wrong_shape(rng):
    with pytest.raises(ValueError, match=r"maps\['saliency'\] of shape \(2, 6, 6\).*\(2, 5, 5\)"):
        plot_explanations(rng.random((2, 1, 6, 6)), {"saliency": rng.random((2, 5, 5))})


def test_top_patches_one_row_per_channel(rng):
    rows = [("ch 0", rng.random((3, 1, 4, 4)), [3.0, 2.0, 1.0]),
            ("ch 1", rng.random((2, 1, 4, 4)), [5.0, 4.0])]  # fmt: skip
    fig = plot_top_patches(rows, title="top")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["3.00", "2.00", "1.00"]
    assert fig.axes[3].get_ylabel() == "ch 1" and not fig.axes[5].axison
    with pytest.raises(ValueError, match="at least one"):
        plot_top_patches([])
