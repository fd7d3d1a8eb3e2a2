"""Downloads against a local HTTP server on 127.0.0.1: verified, retried, atomic."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import socket

import numpy as np
import pytest

from convscope.data import (
    DatasetNotFoundError,
    DownloadError,
    download_file,
    load_dataset,
    mnist,
    read_idx,
)

NAME = "train-labels-idx1-ubyte"


def _payload():
    raw = bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200))
    return raw, gzip.compress(raw, mtime=0), hashlib.sha256(raw).hexdigest()


def _files(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_success_verifies_decompressed_content(server, tmp_path):
    raw, gz, digest = _payload()
    server.plan[f"/{NAME}.gz"] = [("ok", gz)]
    dest = tmp_path / "cache" / f"{NAME}.gz"
    assert download_file(f"{NAME}.gz", dest, [server.url], digest, progress=False) == dest
    assert dest.read_bytes() == gz  # stored as received
    assert read_idx(dest).tolist() == list(range(200))
    assert _files(dest.parent) == [dest.name]


def test_progress_bar_path(server, tmp_path):
    raw, gz, digest = _payload()
    server.plan[f"/{NAME}.gz"] = [("ok", gz)]
    dest = tmp_path / f"{NAME}.gz"
    download_file(f"{NAME}.gz", dest, [server.url], digest, progress=True)
    assert dest.read_bytes() == gz


def test_checksum_mismatch_leaves_nothing_and_is_not_retried(server, tmp_path, no_sleep):
    raw, gz, digest = _payload()
    server.plan[f"/{NAME}.gz"] = [("ok", gzip.compress(raw[:-1] + b"\x01"))]
    dest = tmp_path / "c" / f"{NAME}.gz"
    with pytest.raises(
        DownloadError, match=rf"SHA-256 of the decompressed content is \w+, expected {digest}"
    ):
        download_file(f"{NAME}.gz", dest, [server.url], digest, retries=3)
    assert _files(dest.parent) == []
    assert server.hits[f"/{NAME}.gz"] == 1 and no_sleep == []


def test_server_error_is_retried_with_backoff(server, tmp_path, no_sleep):
    server.plan[f"/{NAME}.gz"] = [("status", 500)]
    dest = tmp_path / f"{NAME}.gz"
    with pytest.raises(DownloadError, match=r"attempt 3 of 3\): HTTP 500") as info:
        download_file(f"{NAME}.gz", dest, [server.url], None, retries=3, backoff=0.5)
    assert "nothing was saved" in str(info.value) and server.url in str(info.value)
    assert server.hits[f"/{NAME}.gz"] == 3
    assert no_sleep == [0.5, 1.0]  # doubled, none after the last attempt
    assert _files(tmp_path) == []


def test_retry_then_success(server, tmp_path, no_sleep):
    raw, gz, digest = _payload()
    server.plan[f"/{NAME}.gz"] = [("status", 503), ("cut", gz, len(gz) // 2), ("ok", gz)]
    dest = tmp_path / f"{NAME}.gz"
    download_file(f"{NAME}.gz", dest, [server.url], digest, retries=3, backoff=0.1)
    assert dest.read_bytes() == gz and server.hits[f"/{NAME}.gz"] == 3
    assert no_sleep == [0.1, 0.2]
    assert _files(tmp_path) == [dest.name]


def test_connection_cut_mid_transfer_leaves_no_partial_file(server, tmp_path, no_sleep):
    raw, gz, digest = _payload()
    server.plan[f"/{NAME}.gz"] = [("cut", gz, 40)]
    dest = tmp_path / f"{NAME}.gz"
    with pytest.raises(DownloadError, match=rf"connection closed after 40 of {len(gz)} bytes"):
        download_file(f"{NAME}.gz", dest, [server.url], digest, retries=2)
    assert _files(tmp_path) == []


def test_cut_is_caught_even_without_a_checksum(server, tmp_path, no_sleep):
    raw, gz, _ = _payload()
    server.plan[f"/{NAME}.gz"] = [("cut", gz, 40)]
    with pytest.raises(DownloadError, match="connection closed"):
        download_file(f"{NAME}.gz", tmp_path / "f.gz", [server.url], None, retries=1)
    assert _files(tmp_path) == []


def test_404_moves_to_next_mirror_without_retry(server, tmp_path, no_sleep):
    raw, gz, digest = _payload()
    server.plan[f"/b/{NAME}.gz"] = [("ok", gz)]
    dest = tmp_path / f"{NAME}.gz"
    download_file(f"{NAME}.gz", dest, [server.url + "a", server.url + "b/"], digest, retries=3)
    assert server.hits[f"/a/{NAME}.gz"] == 1 and no_sleep == []
    assert dest.read_bytes() == gz


def test_connection_refused_is_retried(tmp_path, no_sleep):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="attempt 2 of 2"):
        download_file("x.gz", tmp_path / "x.gz", [f"http://127.0.0.1:{port}/"], None, retries=2)
    assert len(no_sleep) == 1 and _files(tmp_path) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="retries >= 1"):
        download_file("x", tmp_path / "x", ["http://127.0.0.1:9/"], None, retries=0)
    with pytest.raises(ValueError, match="at least one mirror"):
        download_file("x", tmp_path / "x", [], None)


def _serve(server, tiny, split="train"):
    for name in tiny.spec.files[split]:
        server.plan[f"/{name}.gz"] = [("ok", tiny.gz(name))]


def test_load_dataset_downloads_into_cache_then_reads_offline(server, cache, tiny, monkeypatch):
    spec = dataclasses.replace(tiny.spec, mirrors=(server.url,))
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", spec)
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        load_dataset("mnist")  # download not allowed: nothing fetched
    assert sum(server.hits.values()) == 0
    _serve(server, tiny)
    ds = load_dataset("mnist", download=True, progress=False)
    assert _files(cache / "mnist") == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(ds.images[:, 0], tiny.arrays["train-images-idx3-ubyte"])
    assert ds.source == str(cache / "mnist")
    hits = sum(server.hits.values())
    again = load_dataset("mnist", download=True)  # verified cache copy: no new request
    assert sum(server.hits.values()) == hits
    np.testing.assert_array_equal(again.labels, ds.labels)


def test_mirrors_argument_overrides_spec(server, cache, tiny, monkeypatch):
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", tiny.spec)  # spec mirror: port 9, unused
    _serve(server, tiny, "test")
    ds = load_dataset("mnist", "test", download=True, mirrors=[server.url], progress=False)
    assert len(ds) == 10


def test_corrupt_cache_file_is_replaced_by_download(server, cache, tiny, monkeypatch):
    spec = dataclasses.replace(tiny.spec, mirrors=(server.url,))
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", spec)
    tiny.write(cache / "mnist")
    bad = cache / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(tiny.raw["t10k-labels-idx1-ubyte"][:-1] + b"\x03"))
    _serve(server, tiny, "test")
    with pytest.warns(UserWarning, match="Skipped a bad copy of MNIST: .*t10k-labels"):
        ds = load_dataset("mnist", "test", download=True, progress=False)
    assert server.hits["/t10k-labels-idx1-ubyte.gz"] == 1
    assert server.hits["/t10k-images-idx3-ubyte.gz"] == 0
    assert bad.read_bytes() == tiny.gz("t10k-labels-idx1-ubyte")
    np.testing.assert_array_equal(ds.labels, np.arange(10) % 10)


def test_failed_download_through_load_dataset_leaves_cache_clean(
    server, cache, tiny, monkeypatch, no_sleep
):
    spec = dataclasses.replace(tiny.spec, mirrors=(server.url,))
    monkeypatch.setitem(mnist.IDX_DATASETS, "mnist", spec)
    server.plan["/train-images-idx3-ubyte.gz"] = [("cut", tiny.gz("train-images-idx3-ubyte"), 100)]
    with pytest.raises(DownloadError, match="train-images-idx3-ubyte.gz"):
        load_dataset("mnist", download=True, progress=False)
    assert _files(cache / "mnist") == []
