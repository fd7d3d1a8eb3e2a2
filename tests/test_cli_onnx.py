"""`convscope import model.onnx --out RUN` and `convscope export RUN model.onnx`, end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convscope
from convscope import cli, data, runs
from convscope.models import build_model

pytest.importorskip("onnxruntime")

DATASET = next(
    (n for n in ("mnist-5k", "fashion-mnist")
     if any(row.name == n and row.available for row in data.available_datasets())),
    None,
)  # fmt: skip
pytestmark = pytest.mark.skipif(DATASET is None, reason="no offline dataset installed")


def test_import_then_export_round_trip(tmp_path, capsys):
    from convscope.onnx import export
    from onnx_helpers import ort_run

    convscope.manual_seed(0)
    model = build_model("bn").eval()
    export(model, np.zeros((1, 1, 28, 28), np.float32), tmp_path / "bn.onnx")
    run_dir = tmp_path / "runs" / "imported"
    args = ["import", str(tmp_path / "bn.onnx"), "--out", str(run_dir), "--dataset", DATASET]
    assert cli.main(args) == 0
    assert "Run: " in capsys.readouterr().out
    info = json.loads((run_dir / "config.json").read_text())
    assert info["input_shape"] == [1, 28, 28] and len(info["classes"]) == 10
    assert info["imported_from"].endswith("bn.onnx")

    _, loaded = runs.load_run(run_dir)  # what evaluate/report/explore use
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())

    assert cli.main(["export", str(run_dir), str(tmp_path / "again.onnx")]) == 0
    assert "onnxruntime gives the same logits" in capsys.readouterr().out
    np.testing.assert_allclose(ort_run(tmp_path / "again.onnx", x), model(x).numpy(), atol=1e-5)

    from convscope.explorer.session import Explorer

    explorer = Explorer.from_run(run_dir)  # what `convscope explore` serves
    shown = explorer.forward(explorer.parse_input({"test": 0}))
    assert len(shown["probabilities"]) == 10 and len(shown["layers"]) == len(model)

    assert cli.main(["summary", str(tmp_path / "bn.onnx")]) == 0  # a model file from elsewhere
    assert "BatchNorm2d" in capsys.readouterr().out

    # A second import into the same directory is refused unless --overwrite.
    assert cli.main(args) == cli.EXIT_RUN_DIR
    assert cli.main([*args, "--overwrite"]) == 0


def test_import_refuses_a_model_that_does_not_fit_the_dataset(tmp_path, capsys):
    from convscope.onnx import export

    export(build_model("simple", num_classes=7), np.zeros((1, 1, 28, 28), np.float32),
           tmp_path / "seven.onnx")  # fmt: skip
    status = cli.main(["import", str(tmp_path / "seven.onnx"), "--out", str(tmp_path / "r"),
                       "--dataset", DATASET])  # fmt: skip
    assert status == cli.EXIT_USAGE
    assert "gives outputs of shape (7,) per image" in capsys.readouterr().err
    assert not (tmp_path / "r" / "config.json").exists()
