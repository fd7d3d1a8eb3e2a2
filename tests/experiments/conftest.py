"""The experiments read Fashion-MNIST and mnist-5k (``make data`` installs both offline)."""

import pytest

from convscope.data import DatasetNotFoundError, load_dataset


@pytest.fixture(autouse=True, scope="session")
def offline_datasets():
    for name in ("fashion-mnist", "mnist-5k"):
        try:
            load_dataset(name, "test")
        except DatasetNotFoundError as error:
            pytest.skip(f"{name} unavailable (run `make data`): {error}")
