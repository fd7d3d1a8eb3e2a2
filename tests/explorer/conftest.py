"""A tiny trained run and a live explorer server on a free port, once per test session."""

import threading

import pytest

from convscope import runs
from convscope.explorer import Explorer, make_server


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """The simple CNN trained for one epoch on 600 MNIST digits (a few seconds)."""
    config = runs.TrainConfig(
        dataset="mnist-5k", model="simple", epochs=1, limit=600, test_limit=200, batch_size=64
    )
    directory = tmp_path_factory.mktemp("explore") / "run"
    return runs.train_run(config, directory, verbose=0, report=False)


@pytest.fixture(scope="session")
def explorer(run_dir):
    return Explorer.from_run(run_dir)


@pytest.fixture(scope="session")
def server_url(explorer):
    server = make_server(explorer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
