"""Fixtures for the training tests (helpers: train/train_helpers.py, importable as
``train.train_helpers`` because pytest puts ``tests/`` on the path)."""

import pytest

import convscope
from train.train_helpers import quadrant_data


@pytest.fixture
def data():
    return quadrant_data()


@pytest.fixture
def val_data():
    return quadrant_data(n=40, seed=1)


@pytest.fixture
def seeded():
    convscope.manual_seed(0)
