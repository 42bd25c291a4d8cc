"""Tests of training: the original result, reproducibility, freezing, logging, snapshots and errors.

Runs other than the shared 2000-epoch `default_result` use a few hundred
epochs or fewer, which is enough for what they check and keeps the file fast.
"""

import math

import pytest
import torch
from torch.nn import functional

from xorattn.config import SOLVE_LOSS_THRESHOLD, Config
from xorattn.data import xor_dataset
from xorattn.model import build_model
from xorattn.training import TrainingDivergedError, fit, make_optimizer, train

SHORT = Config(epochs=200)


def attention_state(model):
    return [parameter.detach().clone() for parameter in model.attention_parameters()]


def readout_state(model):
    return [parameter.detach().clone() for parameter in (*model.hidden.parameters(), *model.output.parameters())]


def assert_state_dicts_equal(first, second):
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


# The original experiment


def test_default_seed_solves(default_result):
    assert default_result.solved
    assert default_result.final_loss < SOLVE_LOSS_THRESHOLD
    assert default_result.solved_epoch is not None


def test_default_signs_right(default_result):
    _, targets = xor_dataset()
    assert torch.equal(torch.sign(default_result.predictions), targets)


def test_default_records_settings(default_result):
    assert default_result.config == Config()
    assert default_result.seed == 0
    assert default_result.losses.shape == (2000,)
    assert default_result.predictions.shape == (4, 1)


def test_solved_epoch_first_below_threshold(default_result):
    # With targets of ±1, a loss below 0.01 implies every error is below 0.2,
    # so all signs are right and the first such epoch is the solved epoch.
    below = (default_result.losses < SOLVE_LOSS_THRESHOLD).nonzero()
    assert default_result.solved_epoch == int(below[0]) + 1


def test_final_loss_matches_predictions(default_result):
    tokens, targets = xor_dataset()
    with torch.no_grad():
        predictions = default_result.model(tokens).prediction
    assert torch.equal(default_result.predictions, predictions)
    assert default_result.final_loss == pytest.approx(functional.mse_loss(predictions, targets).item(), rel=1e-6)


def test_first_loss_is_initial_model():
    # losses[0] is computed before the first update, so it is the loss of the initial model.
    tokens, targets = xor_dataset()
    with torch.no_grad():
        initial = functional.mse_loss(build_model(Config(), seed=3)(tokens).prediction, targets)
    result = train(Config(epochs=5), seed=3)
    assert result.losses[0].item() == pytest.approx(initial.item(), rel=1e-6)


def test_losses_finite_and_positive():
    result = train(SHORT, seed=0)
    assert result.losses.shape == (200,)
    assert torch.isfinite(result.losses).all()
    assert (result.losses >= 0).all()


def test_unsolved_run_reports_it():
    # Three epochs are far too few to solve XOR from any initialisation.
    result = train(Config(epochs=3), seed=0)
    assert not result.solved
    assert result.solved_epoch is None
    assert result.final_loss > SOLVE_LOSS_THRESHOLD


# Reproducibility


def test_same_seed_identical():
    first = train(SHORT, seed=3)
    second = train(SHORT, seed=3)
    assert torch.equal(first.losses, second.losses)
    assert torch.equal(first.predictions, second.predictions)
    assert_state_dicts_equal(first.model.state_dict(), second.model.state_dict())


def test_same_seed_ignores_global_rng():
    torch.manual_seed(1)
    first = train(Config(epochs=50), seed=3)
    torch.manual_seed(2)
    second = train(Config(epochs=50), seed=3)
    assert torch.equal(first.losses, second.losses)


def test_different_seeds_differ():
    first = train(SHORT, seed=0)
    second = train(SHORT, seed=1)
    assert not torch.equal(first.losses, second.losses)
    assert not torch.equal(first.model.hidden.weight, second.model.hidden.weight)


# Freezing the attention


def test_training_changes_attention():
    initial = attention_state(build_model(SHORT, seed=0))
    result = train(SHORT, seed=0)
    for before, after in zip(initial, attention_state(result.model)):
        assert not torch.equal(before, after)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_freeze_keeps_attention(weight_decay):
    config = Config(epochs=200, freeze_attention=True, weight_decay=weight_decay)
    initial = attention_state(build_model(config, seed=0))
    result = train(config, seed=0)
    for before, after in zip(initial, attention_state(result.model)):
        assert torch.equal(before, after)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_freeze_trains_readout(weight_decay):
    config = Config(epochs=200, freeze_attention=True, weight_decay=weight_decay)
    initial = readout_state(build_model(config, seed=0))
    result = train(config, seed=0)
    for before, after in zip(initial, readout_state(result.model)):
        assert not torch.equal(before, after)


def test_freeze_part_way():
    model = build_model(Config(), seed=0)
    fit(model, Config(epochs=100))
    after_first = attention_state(model)
    readout_first = readout_state(model)

    fit(model, Config(epochs=100, freeze_attention=True))
    for before, after in zip(after_first, attention_state(model)):
        assert torch.equal(before, after)
    for before, after in zip(readout_first, readout_state(model)):
        assert not torch.equal(before, after)


def test_unfreeze_after_freeze():
    model = build_model(Config(), seed=0)
    fit(model, Config(epochs=50, freeze_attention=True))
    frozen = attention_state(model)

    fit(model, Config(epochs=50))
    for before, after in zip(frozen, attention_state(model)):
        assert not torch.equal(before, after)


def test_optimizer_choice():
    model = build_model(Config(), seed=0)
    assert type(make_optimizer(model, Config())) is torch.optim.Adam
    assert type(make_optimizer(model, Config(weight_decay=0.01))) is torch.optim.AdamW


def test_optimizer_skips_frozen_parameters():
    model = build_model(Config(), seed=0)
    optimizer = make_optimizer(model, Config(freeze_attention=True))
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for parameter in model.attention_parameters():
        assert id(parameter) not in optimized
    assert len(optimized) == 4  # hidden and output weights and biases


# Logging


def test_silent_by_default(capsys):
    train(Config(epochs=150), seed=0)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_log_every_prints(capsys):
    result = train(Config(epochs=250), seed=0, log_every=100)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0] == f"epoch 100  loss {result.losses[99].item():.6f}"
    assert lines[1] == f"epoch 200  loss {result.losses[199].item():.6f}"


def test_log_goes_to_callable(capsys):
    lines = []
    train(Config(epochs=100), seed=0, log_every=25, log=lines.append)
    assert [line.split()[1] for line in lines] == ["25", "50", "75", "100"]
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("log_every", [0, -1, 2.5, True])
def test_log_every_invalid(log_every):
    with pytest.raises(ValueError, match=f"log_every must be an integer >= 1 or None, got {log_every!r}"):
        train(Config(epochs=10), seed=0, log_every=log_every)


# Snapshots


def test_snapshot_epochs_kept():
    result = train(Config(epochs=100), seed=0, snapshot_epochs=[0, 40, 100])
    assert sorted(result.snapshots) == [0, 40, 100]


def test_snapshot_zero_is_initial():
    result = train(Config(epochs=100), seed=2, snapshot_epochs=[0])
    assert_state_dicts_equal(result.snapshots[0], build_model(Config(), seed=2).state_dict())


def test_snapshot_last_is_final():
    result = train(Config(epochs=100), seed=2, snapshot_epochs=[100])
    assert_state_dicts_equal(result.snapshots[100], result.model.state_dict())


def test_snapshot_matches_shorter_run():
    result = train(Config(epochs=100), seed=2, snapshot_epochs=[40])
    shorter = train(Config(epochs=40), seed=2)
    assert_state_dicts_equal(result.snapshots[40], shorter.model.state_dict())


def test_snapshots_are_copies():
    result = train(Config(epochs=20), seed=0, snapshot_epochs=[20])
    saved = result.snapshots[20]["output.bias"].clone()
    with torch.no_grad():
        result.model.output.bias.add_(1.0)
    assert torch.equal(result.snapshots[20]["output.bias"], saved)


def test_no_snapshots_by_default():
    assert train(Config(epochs=10), seed=0).snapshots == {}


@pytest.mark.parametrize("epoch", [-1, 101, 2.0, True, "5"])
def test_snapshot_epoch_invalid(epoch):
    with pytest.raises(ValueError, match=f"snapshot epochs must be integers from 0 to 100, got {epoch!r}"):
        train(Config(epochs=100), seed=0, snapshot_epochs=[0, epoch])


# Invalid settings


@pytest.mark.parametrize(
    ("lr", "message"),
    [
        (0, "lr must be a finite number > 0, got 0"),
        (-0.1, "lr must be a finite number > 0, got -0.1"),
        (math.nan, "lr must be a finite number > 0, got nan"),
        (math.inf, "lr must be a finite number > 0, got inf"),
        ("0.1", "lr must be a number > 0, got '0.1'"),
        (True, "lr must be a number > 0, got True"),
    ],
)
def test_config_rejects_bad_lr(lr, message):
    with pytest.raises(ValueError, match=message):
        Config(lr=lr)


@pytest.mark.parametrize("epochs", [0, -5, 2.5, True, "100"])
def test_config_rejects_bad_epochs(epochs):
    with pytest.raises(ValueError, match=f"epochs must be an integer >= 1, got {epochs!r}"):
        Config(epochs=epochs)


@pytest.mark.parametrize("weight_decay", [-0.1, math.nan, math.inf, "0.1", True])
def test_config_rejects_bad_weight_decay(weight_decay):
    with pytest.raises(ValueError, match=f"weight_decay must be a finite number >= 0, got {weight_decay!r}"):
        Config(weight_decay=weight_decay)


@pytest.mark.parametrize("threshold", [0, -0.01, math.nan])
def test_config_rejects_bad_threshold(threshold):
    with pytest.raises(ValueError, match="solve_threshold must be a finite number > 0"):
        Config(solve_threshold=threshold)


# Divergence


def test_nan_parameter_diverges_at_epoch_one():
    model = build_model(Config(), seed=0)
    with torch.no_grad():
        model.output.bias.fill_(math.nan)
    with pytest.raises(TrainingDivergedError, match="the loss became nan at epoch 1;") as error:
        fit(model, Config(epochs=250))
    assert error.value.epoch == 1
    assert math.isnan(error.value.loss)


def test_overflow_diverges_at_epoch_one():
    model = build_model(Config(), seed=0)
    with torch.no_grad():
        model.output.weight.fill_(3e38)  # near the float32 maximum; the squared error overflows to inf
    with pytest.raises(TrainingDivergedError, match="the loss became inf at epoch 1;") as error:
        fit(model, Config(epochs=10))
    assert error.value.epoch == 1


@pytest.mark.parametrize("bad_epoch", [2, 99, 100, 101, 250])
def test_divergence_names_first_bad_epoch(bad_epoch):
    # From bad_epoch on, the output layer returns NaN; earlier epochs are normal.
    model = build_model(Config(), seed=0)
    calls = []

    def poison(module, inputs, output):
        calls.append(None)
        return output * math.nan if len(calls) >= bad_epoch else output

    model.output.register_forward_hook(poison)
    with pytest.raises(TrainingDivergedError, match=f"at epoch {bad_epoch};") as error:
        fit(model, Config(epochs=300))
    assert error.value.epoch == bad_epoch


def test_huge_lr_diverges_at_named_epoch():
    # A step size of 1e20 makes the weights overflow after a step or two. The
    # named epoch must be the first one whose loss is not finite.
    config = Config(lr=1e20, epochs=300)
    with pytest.raises(TrainingDivergedError, match="try a smaller learning rate") as error:
        train(config, seed=0)
    bad_epoch = error.value.epoch

    if bad_epoch > 1:
        before = train(Config(lr=1e20, epochs=bad_epoch - 1), seed=0)
        assert torch.isfinite(before.losses).all()
    with pytest.raises(TrainingDivergedError, match=f"at epoch {bad_epoch};"):
        train(Config(lr=1e20, epochs=bad_epoch), seed=0)
