import numpy as np
import pytest

from convscope.viz import plot_filters


def images(fig):
    """The AxesImage of every tile, in order (the colorbar axes has none)."""
    return [ax.images[0] for ax in fig.axes if ax.images]


def test_one_tile_per_filter_plus_a_colorbar(rng):
    fig = plot_filters(rng.normal(size=(10, 1, 3, 3)))
    assert len(fig.axes) == 11
    assert [ax.get_title() for ax in fig.axes[:10]] == [str(i) for i in range(10)]
    assert fig.axes[-1].get_ylabel() == "weight"
    assert fig.get_suptitle() == "Conv filters 10×1×3×3"


def test_symmetric_diverging_scale_shared_by_all_tiles(rng):
    w = rng.normal(size=(5, 1, 3, 3))
    w[2, 0, 1, 1] = -7.0  # the largest magnitude is negative
    tiles = images(plot_filters(w))
    assert {im.get_clim() for im in tiles} == {(-7.0, 7.0)}
    assert tiles[0].get_cmap().name == "RdBu_r"
    np.testing.assert_array_equal(tiles[2].get_array(), w[2, 0])


def test_max_filters_limits_the_tiles_and_says_so(rng):
    fig = plot_filters(rng.normal(size=(100, 1, 5, 5)))
    assert len(images(fig)) == 64
    assert "first 64 of 100" in fig.get_suptitle()
    assert len(images(plot_filters(rng.normal(size=(100, 1, 5, 5)), max_filters=9))) == 9


def test_several_input_channels_show_the_mean_or_one_channel(rng):
    w = rng.normal(size=(4, 3, 3, 3))
    fig = plot_filters(w)
    np.testing.assert_allclose(images(fig)[1].get_array(), w[1].mean(axis=0))
    assert "mean over 3 input channels" in fig.get_suptitle()
    assert fig.axes[-1].get_ylabel() == "mean weight"
    fig = plot_filters(w, input_channel=2, title="conv2")
    np.testing.assert_array_equal(images(fig)[1].get_array(), w[1, 2])
    assert fig.get_suptitle() == "conv2"


def test_all_zero_or_nan_weights_still_draw(rng):
    w = np.zeros((2, 1, 3, 3), np.float32)
    assert images(plot_filters(w))[0].get_clim() == (-1.0, 1.0)
    w[0, 0, 0, 0] = np.nan
    w[1, 0, 0, 0] = 0.5
    assert images(plot_filters(w))[0].get_clim() == (-0.5, 0.5)


@pytest.mark.parametrize("shape", [(3, 3), (4, 3, 3), (1, 2, 3, 3, 3), (0, 1, 3, 3)])
def test_rejects_weights_that_are_not_4d(shape):
    with pytest.raises(ValueError, match=r"expected weights of shape \(out_channels, in_channels"):
        plot_filters(np.zeros(shape))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_filters": 0}, "max_filters to be a positive integer; received 0"),
        ({"input_channel": 3}, r"input_channel in \[0, 3\).*received 3"),
        ({"input_channel": 1.5}, "received 1.5"),
    ],
)
def test_rejects_bad_arguments(rng, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_filters(rng.normal(size=(4, 3, 3, 3)), **kwargs)
