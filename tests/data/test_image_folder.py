"""ImageFolder on PNG and JPEG files written by the test, including broken ones."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.data import DataLoader, DatasetError, DatasetNotFoundError, ImageFolder

Image = pytest.importorskip("PIL.Image", reason="ImageFolder needs Pillow")


def _save(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


@pytest.fixture
def folder(tmp_path):
    """root/two: 2 PNGs (one RGB), root/one: 1 JPEG + a .txt; a hidden dir is ignored."""
    root = tmp_path / "shapes"
    left_white = np.zeros((40, 30), np.uint8)
    left_white[:, :15] = 255
    _save(root / "two" / "b.png", left_white)
    _save(root / "two" / "a.png", np.full((10, 10, 3), (200, 200, 200), np.uint8))
    _save(root / "one" / "x.JPG", np.full((50, 50), 100, np.uint8), fmt="JPEG")
    (root / "one" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_classes_sorted_images_resized_uint8(folder):
    ds = ImageFolder(folder)
    assert ds.classes == ["one", "two"] and ds.skipped == []
    assert ds.images.shape == (3, 1, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.tolist() == [0, 1, 1] and ds.labels.dtype == np.int64
    assert [p.name for p, _ in ds.samples] == ["x.JPG", "a.png", "b.png"]
    assert abs(int(ds.images[0].mean()) - 100) <= 2  # JPEG gray stays gray
    assert ds.images[1].min() == ds.images[1].max() == 200  # RGB -> L
    b = ds.images[2, 0]
    assert b[:, :12].min() == 255 and b[:, 16:].max() == 0  # left half white, right black
    assert ds.source == str(folder)


def test_rgb_and_size(folder):
    ds = ImageFolder(folder, size=(8, 12), grayscale=False)
    assert ds.images.shape == (3, 3, 8, 12)
    np.testing.assert_array_equal(ds.images[1], 200)
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.shape == (3, 3, 8, 12) and x.dtype == np.float32 and y.tolist() == [0, 1, 1]
    assert ImageFolder(folder, size=5).images.shape == (3, 1, 5, 5)


def test_invert_and_transparency(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent except one black pixel
    rgba[0, 0] = (0, 0, 0, 255)
    _save(tmp_path / "r" / "d" / "t.png", rgba)
    ds = ImageFolder(tmp_path / "r", size=4)
    assert ds.images[0, 0, 0, 0] == 0 and ds.images[0, 0, 3, 3] == 255  # on white paper
    inverted = ImageFolder(tmp_path / "r", size=4, invert=True)
    np.testing.assert_array_equal(inverted.images, 255 - ds.images)


@pytest.mark.parametrize("broken", [b"this is not a png", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_unreadable_image_raises_naming_file(folder, broken):
    bad = folder / "two" / "c.png"
    bad.write_bytes(broken)
    with pytest.raises(DatasetError, match=rf"{bad}: cannot read image .*on_error='skip'"):
        ImageFolder(folder)


def test_truncated_jpeg_is_reported(folder):
    good = folder / "one" / "x.JPG"
    cut = folder / "one" / "y.jpg"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(DatasetError, match=rf"{cut}: cannot read image"):
        ImageFolder(folder)


def test_skip_warns_and_lists(folder):
    bad = folder / "one" / "broken.png"
    bad.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=rf"skipped 1 unreadable file\(s\) under {folder}: {bad}"):
        ds = ImageFolder(folder, on_error="skip")
    assert len(ds) == 3 and [p for p, _ in ds.skipped] == [bad]
    assert "cannot read image" in ds.skipped[0][1]
    assert ds.labels.tolist() == [0, 1, 1]


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="is not a directory"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(DatasetError, match="has no class sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "cls").mkdir()
    with pytest.raises(DatasetError, match=r"class folders \['cls'\] but no images"):
        ImageFolder(tmp_path)
    (tmp_path / "cls" / "a.png").write_bytes(b"junk")
    with pytest.raises(
        DatasetError, match=r"none of the 1 image files could be read; the first: .*a\.png"
    ):
        ImageFolder(tmp_path, on_error="skip")
    with pytest.raises(ValueError, match="on_error='raise' or 'skip'; received 'ignore'"):
        ImageFolder(tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="positive size"):
        ImageFolder(tmp_path, size=(0, 4))


def test_read_image_single_file(folder):
    from convscope.data import read_image

    gray = read_image(folder / "two" / "b.png", size=(6, 4))
    assert gray.shape == (1, 6, 4) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray[0, :, 0], 255)
    rgb = read_image(folder / "two" / "a.png", size=3, grayscale=False)
    assert rgb.shape == (3, 3, 3) and (rgb == 200).all()
    np.testing.assert_array_equal(
        read_image(folder / "two" / "b.png", (6, 4), invert=True), 255 - gray
    )
    with pytest.raises(DatasetError, match=r"notes\.txt: cannot read image"):
        read_image(folder / "one" / "notes.txt")


def test_sixteen_bit_and_palette_images_are_scaled_not_binarised(tmp_path):
    gray = np.arange(0, 256, 4, dtype=np.uint8).reshape(8, 8)  # 0..252: every shade
    _save(tmp_path / "r" / "wide" / "a.png", gray.astype(np.uint16) * 257)  # 16-bit "I;16"
    Image.fromarray(gray).convert("P").save(tmp_path / "r" / "wide" / "b.png")  # palette
    with Image.open(tmp_path / "r" / "wide" / "a.png") as image:
        assert image.mode.startswith("I")
    ds = ImageFolder(tmp_path / "r", size=None, grayscale=None)
    assert ds.image_shape == (1, 8, 8)  # own size kept, grayscale detected
    np.testing.assert_array_equal(ds.images[0, 0], gray)  # 16-bit: x * 255 / 65535
    np.testing.assert_array_equal(ds.images[1, 0], gray)  # palette through its colours


def test_empty_class_folders_are_ignored_with_a_warning(tmp_path):
    _save(tmp_path / "r" / "b" / "x.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "r" / "a").mkdir()
    (tmp_path / "r" / "a" / "notes.txt").write_text("no images here")
    with pytest.warns(UserWarning, match=r"ignored 1 empty class folder\(s\) .*: a"):
        ds = ImageFolder(tmp_path / "r", size=4)
    assert ds.classes == ["b"] and ds.empty_classes == ["a"] and ds.labels.tolist() == [0]


def test_native_size_must_agree_and_color_is_detected(tmp_path):
    _save(tmp_path / "r" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "r" / "b" / "y.png", np.full((4, 4, 3), (255, 0, 0), np.uint8))
    assert ImageFolder(tmp_path / "r", size=None, grayscale=None).image_shape == (3, 4, 4)
    _save(tmp_path / "r" / "b" / "z.png", np.zeros((6, 4), np.uint8))
    with pytest.raises(DatasetError, match=r"different sizes .*4×4.*6×4.*--image-size"):
        ImageFolder(tmp_path / "r", size=None)


def test_fingerprint_changes_with_content(tmp_path):
    _save(tmp_path / "r" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    first = ImageFolder(tmp_path / "r", size=4).fingerprint
    assert first["files"] == 1 and first == ImageFolder(tmp_path / "r", size=4).fingerprint
    _save(tmp_path / "r" / "a" / "x.png", np.ones((4, 4), np.uint8))
    assert ImageFolder(tmp_path / "r", size=4).fingerprint["sha256"] != first["sha256"]
