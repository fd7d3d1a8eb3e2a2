"""Every figure saves as a real, non-blank PNG of the expected size, atomically."""

import pytest
from matplotlib.figure import Figure

from convscope import viz

DPI = 150  # save= uses save_figure's default


def _figures(rng, history, outputs):
    names = ["a", "b", "c"]
    images = rng.random((4, 1, 10, 10))
    return {
        "filters": lambda save: viz.plot_filters(rng.normal(size=(12, 3, 5, 5)), save=save),
        "feature_maps": lambda save: viz.plot_feature_maps(outputs, images[0], save=save),
        "history": lambda save: viz.plot_history(history, save=save),
        "confusion": lambda save: viz.plot_confusion_matrix(
            [[5, 1, 0], [2, 7, 1], [0, 0, 9]], names, save=save
        ),
        "misclassified": lambda save: viz.plot_misclassified(
            images, [0, 1, 2, 0], [1, 1, 0, 2], [0.8, 0.9, 0.6, 0.7], names, save=save
        ),
        "per_class": lambda save: viz.plot_per_class_accuracy(
            [0.8, 0.7, 1.0], names, 0.85, save=save
        ),
        "images": lambda save: viz.plot_images(images, [0, 1, 2, 0], names, save=save),
    }


KINDS = ["filters", "feature_maps", "history", "confusion", "misclassified", "per_class", "images"]


@pytest.mark.parametrize("kind", KINDS)
def test_save_writes_a_non_blank_png_of_the_figure_size(
    kind, tmp_path, rng, history, outputs, read_png
):
    path = tmp_path / f"{kind}.png"
    fig = _figures(rng, history, outputs)[kind](path)
    assert isinstance(fig, Figure)
    pixels = read_png(path)
    width, height = fig.get_size_inches() * DPI
    assert abs(pixels.shape[1] - width) <= 1 and abs(pixels.shape[0] - height) <= 1
    assert 300 <= pixels.shape[1] <= 3000 and 150 <= pixels.shape[0] <= 3000
    assert pixels.var() > 0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_save_figure_creates_directories_replaces_and_keeps_the_figure(tmp_path, read_png):
    fig = viz.plot_history({"loss": [1.0, 0.5]})
    path = tmp_path / "run" / "figures" / "curves.png"
    assert viz.save_figure(fig, path, dpi=40) == path
    small = read_png(path).shape
    viz.save_figure(fig, str(path), dpi=80)  # the figure is still usable; the file replaced
    assert read_png(path).shape[0] == 2 * small[0]
    svg = viz.save_figure(fig, tmp_path / "curves.svg")
    assert svg.read_text().lstrip().startswith("<?xml")


def test_a_failed_save_leaves_the_previous_file(tmp_path):
    fig = viz.plot_history({"loss": [1.0, 0.5]})
    path = viz.save_figure(fig, tmp_path / "curves.png")
    before = path.read_bytes()

    def broken_savefig(file, **kwargs):
        file.write(b"half a png")
        raise RuntimeError("disk full")

    fig.savefig = broken_savefig
    with pytest.raises(RuntimeError, match="disk full"):
        viz.save_figure(fig, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


@pytest.mark.parametrize(
    "fig, path, dpi, error, message",
    [
        ("figure", "curves", 100, ValueError, r"file name ending in one of .*\.png.*'curves'"),
        ("figure", "curves.docx", 100, ValueError, "'curves.docx'"),
        ("figure", "curves.png", 0, ValueError, "positive dpi; received dpi=0"),
        (None, "curves.png", 100, TypeError, "expected a matplotlib Figure; received NoneType"),
    ],
)
def test_save_figure_rejects_bad_arguments(tmp_path, fig, path, dpi, error, message):
    fig = viz.plot_history({"loss": [1.0]}) if fig == "figure" else fig
    with pytest.raises(error, match=message):
        viz.save_figure(fig, path, dpi=dpi)
