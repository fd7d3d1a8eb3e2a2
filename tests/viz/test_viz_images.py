import numpy as np
import pytest

from convscope.viz import plot_images, plot_misclassified

NAMES = ["zero", "one", "two"]


def test_plot_images_titles_and_gray_range(rng):
    images = (rng.random((5, 1, 8, 8)) * 255).astype(np.uint8)
    fig = plot_images(images, [0, 1, 2, 1, 0], NAMES, title="preview")
    assert [ax.get_title() for ax in fig.axes] == ["zero", "one", "two", "one", "zero"]
    assert fig.get_suptitle() == "preview"
    image = fig.axes[0].images[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0.0, 255.0)
    np.testing.assert_array_equal(image.get_array(), images[0, 0])


def test_plot_images_limits_and_accepts_nhwc_rgb_and_unlabelled(rng):
    fig = plot_images(rng.random((40, 8, 8)), max_images=12)
    assert len(fig.axes) == 12 and fig.axes[0].get_title() == ""
    nhwc = rng.normal(size=(2, 8, 8, 3))  # normalised RGB data, outside [0, 1]
    pixels = plot_images(nhwc, [1, 2]).axes[0].images[0].get_array()
    assert pixels.shape == (8, 8, 3) and pixels.min() == 0.0 and pixels.max() == 1.0
    assert plot_images(nhwc, [1, 2]).axes[1].get_title() == "2"


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((2, 8)), None, r"images of shape \(N, H, W\).*received \(2, 8\)"),
        (np.zeros((2, 5, 8, 8)), None, "C = 1 or 3"),
        (np.zeros((0, 8, 8)), None, "at least one image"),
        (
            np.zeros((2, 8, 8)),
            [0, 1, 2],
            r"labels of shape \(2,\), one per image; received shape \(3,\)",
        ),
        (np.zeros((2, 8, 8)), [0, 3], r"labels in \[0, 3\) to index the 3 class_names; received 3"),
        (np.zeros((2, 8, 8)), [0.5, 1], "integer class indices"),
    ],
)
def test_plot_images_rejects_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        plot_images(images, labels, NAMES)


def test_misclassified_shows_only_mistakes_most_confident_first(rng):
    images = rng.random((6, 1, 8, 8))
    true = [0, 1, 2, 0, 1, 2]
    pred = [0, 2, 2, 1, 0, 2]
    confidence = [0.99, 0.55, 0.9, 0.871, 0.6, 0.7]
    fig = plot_misclassified(images, true, pred, confidence, NAMES)
    assert [ax.get_title() for ax in fig.axes] == [
        "true: zero\npred: one (87%)",
        "true: one\npred: zero (60%)",
        "true: one\npred: two (55%)",
    ]
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[3, 0])
    assert fig.get_suptitle() == "Misclassified images (most confident first)"
    fig = plot_misclassified(images, true, pred, None, None, max_images=2)
    assert [ax.get_title() for ax in fig.axes] == ["true: 1\npred: 2", "true: 0\npred: 1"]


def test_misclassified_without_mistakes_says_so(rng):
    fig = plot_misclassified(rng.random((3, 8, 8)), [0, 1, 2], [0, 1, 2], [0.9] * 3, NAMES)
    assert fig.axes[0].texts[0].get_text() == "No misclassified images among 3."


@pytest.mark.parametrize(
    "pred, confidence, message",
    [
        ([0, 1], [0.5, 0.5, 0.5], r"predicted_labels of shape \(3,\), one per image"),
        ([0, 1, 1], [0.5, 0.5], r"confidences of shape \(3,\), one per image"),
        ([0, 1, 1], [50, 60, 70], r"confidences \(probabilities\) in \[0, 1\]"),
        ([0, 1, 7], [0.5, 0.5, 0.5], r"predicted_labels in \[0, 3\)"),
    ],
)
def test_misclassified_rejects_bad_input(rng, pred, confidence, message):
    with pytest.raises(ValueError, match=message):
        plot_misclassified(rng.random((3, 8, 8)), [0, 1, 2], pred, confidence, NAMES)
