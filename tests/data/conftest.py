"""Fixtures for convscope.data tests: an isolated cache, tiny IDX datasets, a local HTTP server."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from convscope.data import mnist
from convscope.data.idx import encode_idx


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory in CONVSCOPE_DATA, so the user's real cache never matters."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("CONVSCOPE_DATA", str(path))
    return path


@dataclasses.dataclass
class TinyIDX:
    """A 2-split, 10-class IDX dataset small enough to serve and write in tests."""

    arrays: dict  # decompressed file name -> array
    raw: dict  # decompressed file name -> IDX bytes
    spec: mnist.IDXSpec

    def gz(self, name: str) -> bytes:
        return gzip.compress(self.raw[name], mtime=0)

    def write(self, directory, compress: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.raw.items():
            if compress:
                (directory / (name + ".gz")).write_bytes(self.gz(name))
            else:
                (directory / name).write_bytes(data)


def make_tiny(n_train: int = 20, n_test: int = 10, mirrors=("http://127.0.0.1:9/",)) -> TinyIDX:
    rng = np.random.default_rng(1234)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    raw = {name: encode_idx(a) for name, a in arrays.items()}
    spec = dataclasses.replace(
        mnist.MNIST_SPEC,
        sha256={name: hashlib.sha256(data).hexdigest() for name, data in raw.items()},
        mirrors=tuple(mirrors),
        system_dirs=(),
        sizes={"train": n_train, "test": n_test},
    )
    return TinyIDX(arrays, raw, spec)


@pytest.fixture
def tiny():
    return make_tiny()


class LocalServer:
    """An HTTP server on 127.0.0.1 that follows a per-path plan of responses.

    ``plan[path]`` is a list of actions, used one per request (the last repeats):
    ``("ok", body)``, ``("status", code)``, or ``("cut", body, sent)`` which
    declares ``len(body)`` as Content-Length, sends ``sent`` bytes and closes.
    """

    def __init__(self) -> None:
        self.plan: dict[str, list[tuple]] = {}
        self.hits: Counter = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.hits[self.path] += 1
                actions = server.plan.get(self.path, [("status", 404)])
                action = actions.pop(0) if len(actions) > 1 else actions[0]
                if action[0] == "status":
                    self.send_error(action[1])
                    return
                body = action[1]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if action[0] == "ok":
                    self.wfile.write(body)
                else:  # "cut": promise len(body), deliver less, hang up
                    self.wfile.write(body[: action[2]])
                    self.wfile.flush()
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = LocalServer()
    yield s
    s.close()


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the download backoff delays instead of sleeping."""
    from convscope.data import download

    delays: list[float] = []
    monkeypatch.setattr(download, "_sleep", delays.append)
    return delays
