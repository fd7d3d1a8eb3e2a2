"""Your own image folders end to end with the real ``convscope`` command, and the input
checks train/evaluate/predict share (NaN, range, size, 16-bit, IDX by content, top-k)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convscope import cli, run_predict, runs
from convscope.data import write_idx

Image = pytest.importorskip("PIL.Image", reason="image folders need Pillow")


def convscope(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "convscope", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        timeout=300,
    )


def bars(kind: str, rng: np.random.Generator, size: int = 12) -> np.ndarray:
    """A noisy 12×12 image of a horizontal bar, a vertical bar or a centred square."""
    image = rng.integers(0, 40, (size, size)).astype(np.uint8)
    at = int(rng.integers(3, size - 3))
    if kind == "horizontal":
        image[at - 1 : at + 1, 1:-1] = 230
    elif kind == "vertical":
        image[1:-1, at - 1 : at + 1] = 230
    else:
        image[3:-3, 3:-3] = 230
    return image


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """shapes/<class>/*.png, 30 per class, one 16-bit PNG, one broken file, one empty class."""
    root = tmp_path_factory.mktemp("data") / "shapes"
    rng = np.random.default_rng(0)
    for kind in ("horizontal", "square", "vertical"):
        (root / kind).mkdir(parents=True)
        for i in range(30):
            Image.fromarray(bars(kind, rng)).save(root / kind / f"{i:02d}.png")
    wide = bars("square", rng).astype(np.uint16) * 257  # the same picture in 16 bits
    Image.fromarray(wide).save(root / "square" / "wide16.png")
    (root / "vertical" / "broken.png").write_bytes(b"not a png")
    (root / "unused").mkdir()
    return root


@pytest.fixture(scope="module")
def run(folder: Path, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("runs") / "shapes"
    result = convscope(
        "train",
        "--dataset",
        str(folder),
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--lr",
        "0.003",
        "--skip-errors",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    return out, result


def test_folder_run_records_classes_split_and_fingerprint(run, folder: Path) -> None:
    out, result = run
    assert "ignored 1 empty class folder(s)" in result.stderr and "unused" in result.stderr
    assert "skipped 1 unreadable file(s)" in result.stderr and "broken.png" in result.stderr
    assert "Traceback" not in result.stderr
    info = runs.read_run_info(out)
    assert info["classes"] == ["horizontal", "square", "vertical"]
    assert info["input_shape"] == [1, 12, 12]
    assert info["dataset"] == str(folder.resolve())
    assert info["dataset_fingerprint"]["files"] == 92  # 91 images + the broken file
    assert len(info["dataset_fingerprint"]["sha256"]) == 64
    assert info["test_fraction"] == 0.2 and info["seed"] == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["num_examples"] == 18  # round(0.2 × 30) per class, broken file left out
    assert evaluation["accuracy"] > 0.6  # chance is 1/3
    assert "horizontal" in (out / "report.md").read_text()


def test_evaluate_predict_visualize_on_a_folder_run(run, folder: Path, tmp_path: Path) -> None:
    out, _ = run
    evaluated = convscope("evaluate", str(out))
    assert evaluated.returncode == 0 and "square" in evaluated.stdout, evaluated.stderr
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("00.png", "01.png"):
        (inputs / name).write_bytes((folder / "horizontal" / name).read_bytes())
    (inputs / "zz-broken.png").write_bytes(b"garbage")
    refused = convscope("predict", str(out), str(inputs))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "zz-broken.png" in refused.stderr and "--skip-errors" in refused.stderr
    result = convscope("predict", str(out), str(inputs), "--skip-errors", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 2
    for row in rows:  # the table lists all three classes with their probabilities
        assert all(name in row.split("  ", 2)[-1] for name in ("horizontal", "square", "vertical"))
    assert "skipped" in result.stderr and "zz-broken.png" in result.stderr
    shown = convscope("visualize", str(out), "--images", "1", "--out", str(tmp_path / "v"))
    assert shown.returncode == 0, shown.stderr
    assert {Path(p).name for p in shown.stdout.split()} == {"filters.png", "feature_maps_0.png"}


def test_changed_data_warns_on_evaluate(run, folder: Path, tmp_path: Path) -> None:
    out, _ = run
    extra = folder / "square" / "zz-new.png"
    Image.fromarray(bars("square", np.random.default_rng(5))).save(extra)
    try:
        result = convscope("evaluate", str(out))
    finally:
        extra.unlink()
    assert result.returncode == 0, result.stderr
    assert "changed since run" in result.stderr and "Traceback" not in result.stderr


def test_train_and_test_subfolders(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for split, count in (("train", 12), ("test", 4)):
        for kind in ("horizontal", "vertical"):
            (tmp_path / "d" / split / kind).mkdir(parents=True)
            for i in range(count):
                image = Image.fromarray(bars(kind, rng, size=16)).convert("RGB")
                image.save(tmp_path / "d" / split / kind / f"{i}.png")
    out = tmp_path / "run"
    args = ["train", "--dataset", str(tmp_path / "d"), "--epochs", "1", "--out", str(out)]
    result = convscope(*args, "--image-size", "12", "--channels", "3", "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    info = runs.read_run_info(out)
    assert info["input_shape"] == [3, 12, 12] and info["classes"] == ["horizontal", "vertical"]
    assert json.loads((out / "evaluation.json").read_text())["num_examples"] == 8


def test_folder_of_mixed_sizes_needs_image_size(tmp_path: Path) -> None:
    for i, size in enumerate((12, 14)):
        (tmp_path / "d" / f"c{i}").mkdir(parents=True)
        Image.fromarray(np.zeros((size, size), np.uint8)).save(tmp_path / "d" / f"c{i}" / "a.png")
    result = convscope("train", "--dataset", str(tmp_path / "d"), "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and "--image-size" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()
    missing = convscope("train", "--dataset", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# ------------------------------------------------------------------ predict input checks


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((2, 1, 12, 12), np.nan, np.float32), "NaN or infinite"),
        (np.full((2, 1, 12, 12), -0.5, np.float32), "at least 0; received values down to -0.5"),
        (np.full((2, 1, 12, 12), 300, np.int32), "in [0, 255]; received values up to 300"),
        (np.zeros((2, 3, 12, 12), np.float32), "3 channel(s) where the model takes 1"),
        (np.zeros((2, 1, 10, 10), np.uint8), "10×10 images where the model takes 12×12"),
    ],
)
def test_predict_refuses_invalid_arrays(run, tmp_path: Path, array, message) -> None:
    out, _ = run
    np.save(tmp_path / "bad.npy", array)
    result = convscope("predict", str(out), str(tmp_path / "bad.npy"))
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_predict_reads_idx_by_content_and_png_sizes_only_on_request(
    run, folder: Path, tmp_path: Path
) -> None:
    out, _ = run
    images = np.stack([bars("vertical", np.random.default_rng(i)) for i in range(3)])
    write_idx(tmp_path / "three.bin", images)  # no "ubyte" in the name
    big = tmp_path / "big.png"
    Image.fromarray(np.kron(images[0], np.ones((2, 2), np.uint8))).save(big)  # 24×24
    refused = convscope("predict", str(out), str(tmp_path), "--json")
    assert refused.returncode == 2 and "received 24×24. Pass --resize" in refused.stderr
    resized = convscope("predict", str(out), str(tmp_path), "--json", "--resize")
    assert resized.returncode == 0, resized.stderr
    rows = json.loads(resized.stdout)
    assert [Path(r["input"]).name for r in rows] == [
        "big.png",
        *[f"three.bin[{i}]" for i in range(3)],
    ]
    assert all(len(r["top"]) == 3 for r in rows)


def test_visualize_caps_huge_image_counts(run, tmp_path: Path, capsys, monkeypatch) -> None:
    out, _ = run
    monkeypatch.setattr(run_predict, "MAX_VISUALIZE_IMAGES", 1)
    args = ["visualize", str(out), "--images", "100000", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert "draws at most 1 images" in captured.err and "100000" in captured.err
    assert len(captured.out.split()) == 2  # filters + 1 feature-map figure, printed as made


def test_folder_options_are_refused_for_built_in_datasets(tmp_path: Path, capsys) -> None:
    args = ["train", "--dataset", "digits", "--model", "bn", "--image-size", "16"]
    assert cli.main([*args, "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--image-size applies to image folders" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
