"""Shared fixtures: one full training run with the original settings, reused across test files."""

import pytest

from xorattn.training import TrainResult, train


@pytest.fixture(scope="session")
def default_result() -> TrainResult:
    """The original experiment: Config() and seed 0, trained for the full 2000 epochs."""
    return train()
