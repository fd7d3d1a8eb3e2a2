"""The report's "What the network looks at" section: its figures and both renderings."""

import numpy as np

import convscope
from convscope import nn
from convscope.report.build import draw_explanations
from convscope.report.render import ReportData, render_html, render_markdown


def data(n=12):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 1, 8, 8), dtype=np.uint8), np.arange(n) % 3


def test_figures_for_a_conv_model(tmp_path):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(5 * 4 * 4, 3))  # fmt: skip
    images, labels = data()
    predicted = np.array([0, 1, 2, 1, 1, 2, 0, 1, 2, 2, 1, 2])  # 4 mistakes
    confidence = np.linspace(0.5, 0.9, 12)
    written = draw_explanations(model, images, labels, predicted, confidence, ["a", "b", "c"],
                                tmp_path)  # fmt: skip
    assert sorted(written) == ["looks_at_maps", "looks_at_patches"]
    assert all(path.is_file() and path.stat().st_size > 1000 for path in written.values())


def test_a_model_without_convolutions_gets_saliency_only(tmp_path):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    images, labels = data()
    written = draw_explanations(model, images, labels, labels, np.ones(12), ["a", "b", "c"],
                                tmp_path)  # fmt: skip
    assert sorted(written) == ["looks_at_maps"]


def test_section_is_rendered_with_both_captions(tmp_path):
    figures = {}
    for key in ("looks_at_maps", "looks_at_patches"):
        figures[key] = tmp_path / f"{key}.png"
        figures[key].write_bytes(b"\x89PNG\r\n\x1a\n")
    report = ReportData(title="t", dataset={}, model_name="m", summary_rows=[], summary_text="",
                        hyperparameters={}, history={}, test_loss=0.1, test_accuracy=0.9,
                        per_class=[], confused_pairs=[], figures=figures)  # fmt: skip
    markdown = render_markdown(report, tmp_path)
    section = markdown.split("## What the network looks at")[1].split("\n## ")[0]
    assert "(looks_at_maps.png)" in section and "(looks_at_patches.png)" in section
    assert "Grad-CAM" in section and "receptive field" in section
    assert render_html(report).count('<section id="looks-at">') == 1
