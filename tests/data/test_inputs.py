"""Inputs: user paths to classify, found, counted and read batch by batch in bounded memory."""

import tracemalloc

import numpy as np
import pytest

import convscope
from convscope import nn
from convscope.data import DatasetError, write_idx
from convscope.data.inputs import Inputs
from convscope.runs import predict_inputs

Image = pytest.importorskip("PIL.Image")


def test_files_folders_and_arrays_in_order(tmp_path):
    Image.fromarray(np.full((4, 4), 255, np.uint8)).save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", np.zeros((3, 4, 4), np.uint8))  # (N, H, W)
    write_idx(tmp_path / "c.data", np.zeros((2, 4, 4), np.uint8))  # IDX by content
    (tmp_path / "notes.txt").write_text("ignored")
    inputs = Inputs([tmp_path], (1, 4, 4), batch_size=2)
    assert inputs.total == 6
    names, images = zip(*inputs.batches())
    flat = [name.rsplit("/", 1)[-1] for batch in names for name in batch]
    assert flat == ["a.png", "b.npy[0]", "b.npy[1]", "b.npy[2]", "c.data[0]", "c.data[1]"]
    assert images[0].dtype == np.float32 and images[0][0].max() == 1.0


def test_unreadable_files_raise_or_are_skipped_and_listed(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="bad.png: cannot read image .* --skip-errors"):
        list(Inputs([tmp_path], (1, 4, 4)).batches())
    inputs = Inputs([tmp_path], (1, 4, 4), skip_errors=True)
    names = [n for batch, _ in inputs.batches() for n in batch]
    assert [n.rsplit("/", 1)[-1] for n in names] == ["good.png"]
    assert [p.name for p, _ in inputs.skipped] == ["bad.png"]


def test_nothing_to_read(tmp_path):
    (tmp_path / "notes.txt").write_text("no images")
    with pytest.raises(ValueError, match="No images found"):
        Inputs([tmp_path], (1, 4, 4))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Inputs([tmp_path / "missing.png"], (1, 4, 4))


def _predict_peak(path, n):
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    np.save(path, np.random.default_rng(0).integers(0, 256, (n, 1, 4, 4), dtype=np.uint8))
    tracemalloc.start()
    count = sum(1 for _ in predict_inputs(model, ["a", "b", "c"], Inputs([path], (1, 4, 4))))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n
    return peak


def test_predicting_100000_images_streams_in_bounded_memory(tmp_path):
    small = _predict_peak(tmp_path / "small.npy", 10_000)
    large = _predict_peak(tmp_path / "large.npy", 100_000)
    # All 100,000 images as float32 alone would take 6.4 MB; the bound is generous.
    assert large < small + 1_000_000, (small, large)
