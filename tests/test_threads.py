"""Tests that training runs on one intra-op thread and gives the caller's thread count back."""

import math

import pytest
import torch

from xorattn.config import Config
from xorattn.model import build_model
from xorattn.training import TrainingDivergedError, fit, torch_threads, train


@pytest.fixture
def two_threads():
    """Set two intra-op threads for the test and restore the previous number after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_train_restores_threads(two_threads):
    train(Config(epochs=5), seed=0)
    assert torch.get_num_threads() == 2


def test_loop_runs_on_one_thread(two_threads):
    seen = []
    train(Config(epochs=3), seed=0, log_every=1, log=lambda line: seen.append(torch.get_num_threads()))
    assert seen == [1, 1, 1]


def test_divergence_restores_threads(two_threads):
    model = build_model(Config(), seed=0)
    with torch.no_grad():
        model.output.bias.fill_(math.nan)
    with pytest.raises(TrainingDivergedError):
        fit(model, Config(epochs=5))
    assert torch.get_num_threads() == 2


def test_torch_threads_none_keeps(two_threads):
    with torch_threads(None):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_torch_threads_restores_on_error(two_threads):
    with pytest.raises(RuntimeError, match="inside"):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == 2


def test_results_independent_of_threads(two_threads):
    with_two = train(Config(epochs=200), seed=4)
    torch.set_num_threads(1)
    with_one = train(Config(epochs=200), seed=4)
    assert torch.equal(with_two.losses, with_one.losses)
    assert torch.equal(with_two.predictions, with_one.predictions)
