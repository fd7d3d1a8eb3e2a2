"""Tests of convscope.io.atomic_write: the old file or the complete new one, never a mix."""

from __future__ import annotations

import os

import pytest

from convscope import io as cs_io
from convscope.io import atomic_write


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_bytes_and_text(tmp_path):
    with atomic_write(tmp_path / "a.bin") as f:
        f.write(b"\x00\x01")
    with atomic_write(tmp_path / "b.txt", "w") as f:
        f.write("Größe ✓\n")
    with atomic_write(str(tmp_path / "c.txt"), mode="wt") as f:
        f.write("plain")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_bytes() == "Größe ✓\n".encode()
    assert (tmp_path / "c.txt").read_text() == "plain"
    assert names(tmp_path) == ["a.bin", "b.txt", "c.txt"]


def test_replaces_an_existing_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with atomic_write(target, "w") as f:
        f.write("new")
    assert target.read_text() == "new"
    assert names(tmp_path) == ["f.txt"]


def test_writes_to_a_temp_file_in_the_same_directory_until_done(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with atomic_write(target, "w") as f:
        f.write("new")
        f.flush()
        temp = [n for n in names(tmp_path) if n != "f.txt"]
        assert len(temp) == 1 and temp[0].startswith(".f.txt.") and temp[0].endswith(".tmp")
        assert os.path.dirname(f.name) == str(tmp_path)
        assert target.read_text() == "old"  # not visible before the block ends
    assert names(tmp_path) == ["f.txt"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_in_the_block_keeps_the_old_file_and_removes_the_temp(tmp_path, error):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(error):
        with atomic_write(target) as f:
            f.write(b"partial new content")
            raise error("crash mid-write")
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["f.bin"]


def test_an_error_while_creating_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
            raise RuntimeError
    assert names(tmp_path) == []


def test_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1]
    )
    with atomic_write(tmp_path / "f.bin") as f:
        f.write(b"data")
        assert events == []
    assert events[:2] == ["fsync", "replace"]
    assert (tmp_path / "f.bin").read_bytes() == b"data"


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_keeps_the_old_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        with atomic_write(target) as f:
            f.write(b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["f.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_new_files_get_the_usual_permissions(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    with atomic_write(tmp_path / "atomic") as f:
        f.write(b"")
    assert (tmp_path / "atomic").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_bad_mode_and_missing_directory(tmp_path):
    with pytest.raises(ValueError, match=r"expected mode 'wb', 'w' or 'wt'; received mode='a'"):
        with atomic_write(tmp_path / "f", "a"):
            pass
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_write(tmp_path / "missing" / "f"):
            pass
    assert names(tmp_path) == []


def test_module_exports_atomic_write():
    assert cs_io.atomic_write is atomic_write
