"""Checkers for the exercises of notebook 02: when a run counts as solved, and why (0,0) is special."""

import copy
import math
from collections.abc import Callable, Iterable

import torch

from ..config import Config
from ..data import xor_dataset
from ..model import build_model
from ..training import TrainResult
from .result import CheckResult, Failure, call_student, checker, fmt, require_function

# Inputs of is_solved(predictions, targets, threshold): predictions for (0,0),
# (0,1), (1,0), (1,1), a threshold, the expected answer and the reason.
# A threshold of None means "exactly the loss of these predictions".
SOLVED_CASES = (
    ((-1.0, 1.0, 1.0, -1.0), 0.01, True, "every prediction equals its target"),
    ((-0.95, 0.95, 0.95, -0.95), 0.01, True, "every sign is right and the loss, 0.0025, is below 0.01"),
    ((-1.2, 1.1, 0.9, -1.0), 0.1, True, "every sign is right and the loss, 0.015, is below 0.1"),
    ((-0.8, 0.8, 0.8, -0.8), 0.01, False, "every sign is right but the loss, 0.04, is not below 0.01"),
    ((-0.9, 0.9, 0.9, -0.9), None, False, "the loss equals the threshold, and solved needs it below"),
    ((0.1, 1.0, 1.0, -1.0), 0.5, False, "the loss, 0.3025, is below 0.5 but (0,0) has the wrong sign"),
    ((0.0, 1.0, 1.0, -1.0), 0.5, False, "the loss, 0.25, is below 0.5 but a prediction of exactly 0 has no sign"),
)

# Inputs of first_epoch_below(losses, threshold) and the expected epoch.
EPOCH_CASES = (
    ((0.9, 0.5, 0.009, 0.005), 0.01, 3, "the loss first drops below 0.01 at the third epoch"),
    ((0.005, 0.004), 0.01, 1, "the loss is below 0.01 from the first epoch on"),
    ((0.5, 0.008, 0.02, 0.001), 0.01, 2, "the first epoch below counts, even if the loss rises again"),
    ((0.5, 0.01, 0.005), 0.01, 3, "a loss equal to the threshold is not below it"),
    ((0.9, 0.89, 0.889), 0.01, None, "the loss never gets below 0.01"),
)

# Models for check_zero_input_prediction: (config, seed).
ZERO_INPUT_MODELS = ((Config(), 0), (Config(), 1), (Config(d_v=3, d_repr=4), 2))
ATOL = 1e-5


def as_bool(answer, where: str) -> bool:
    """Return answer as a bool, or raise Failure if it is not one True or False."""
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise Failure(f"{where}: return one True or False for the whole run, got a tensor of shape {tuple(answer.shape)}.")
        answer = answer.item()
    if not isinstance(answer, bool) and type(answer).__name__ != "bool_":  # numpy.bool_ is fine too
        raise Failure(f"{where}: return True or False, got {answer!r}.")
    return bool(answer)


@checker
def check_solved_criterion(is_solved: Callable, results: Iterable[TrainResult] = ()) -> CheckResult:
    """Check is_solved(predictions (4, 1), targets (4, 1), threshold) -> bool.

    A run is solved when every prediction has its target's sign and the mean
    squared error is below the threshold. The function is tried on the cases
    in SOLVED_CASES and, if results are given, must agree with each run's
    result.solved.
    """
    require_function(is_solved, "check_solved_criterion", "is_solved")
    _, targets = xor_dataset()
    for values, threshold, expected, reason in SOLVED_CASES:
        predictions = torch.tensor(values).unsqueeze(-1)  # (4, 1)
        if threshold is None:
            threshold = torch.nn.functional.mse_loss(predictions, targets).item()
        where = f"For predictions {list(values)} and threshold {threshold:g}"
        answer = as_bool(call_student(is_solved, f"predictions {list(values)}, threshold {threshold:g}", predictions, targets, threshold), where)
        if answer != expected:
            raise Failure(f"{where} your function returned {answer}, expected {expected}: {reason}.")

    results = list(results)
    for result in results:
        threshold = result.config.solve_threshold
        where = f"For the run with seed {result.seed} (final loss {result.final_loss:.4f})"
        answer = as_bool(call_student(is_solved, f"the predictions of seed {result.seed}", result.predictions, targets, threshold), where)
        if answer != result.solved:
            raise Failure(f"{where} your function returned {answer}, but result.solved is {result.solved}.")

    agreement = f", and it agrees with result.solved on all {len(results)} runs" if results else ""
    return (
        f"Correct on all {len(SOLVED_CASES)} cases{agreement}. With the threshold of 0.01 the sign test "
        "never decides on its own: one wrong sign alone already costs a loss of at least 0.25."
    )


def as_epoch(answer, where: str) -> int | None:
    """Return answer as an int epoch or None, or raise Failure for anything else."""
    if answer is None:
        return None
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    whole_number = isinstance(answer, (int, float)) and not isinstance(answer, bool) and float(answer).is_integer()
    if not whole_number:
        raise Failure(f"{where}: return the epoch as a whole number, or None, got {answer!r}.")
    return int(answer)


@checker
def check_first_epoch_below(first_epoch_below: Callable, result: TrainResult | None = None) -> CheckResult:
    """Check first_epoch_below(losses, threshold) -> first epoch (from 1) with a loss below threshold, or None.

    losses[i] is the loss of epoch i + 1, as in TrainResult.losses. With a
    result, the answer for its losses must equal result.solved_epoch.
    """
    require_function(first_epoch_below, "check_first_epoch_below", "first_epoch_below")
    for values, threshold, expected, reason in EPOCH_CASES:
        losses = torch.tensor(values, dtype=torch.float64)
        where = f"For losses {list(values)} and threshold {threshold}"
        answer = as_epoch(call_student(first_epoch_below, f"losses {list(values)}, threshold {threshold}", losses, threshold), where)
        if answer == expected:
            continue
        at_or_below = next((epoch for epoch, loss in enumerate(values, start=1) if loss <= threshold), None)
        if answer == at_or_below:
            raise Failure(f"{where} you returned {answer}, expected {expected}: a loss equal to the threshold is not below it.")
        if expected is not None and answer == expected - 1:
            raise Failure(f"{where} you returned {answer}, expected {expected}: losses[0] is epoch 1, so add 1 to the index.")
        if expected is None:
            raise Failure(f"{where} you returned {answer}, expected None: {reason}.")
        raise Failure(f"{where} you returned {answer}, expected {expected}: {reason}.")

    if result is not None:
        where = f"For the losses of the run with seed {result.seed}"
        description = f"the losses of seed {result.seed}"
        answer = as_epoch(call_student(first_epoch_below, description, result.losses, result.config.solve_threshold), where)
        if answer != result.solved_epoch:
            raise Failure(f"{where} you returned {answer}, but result.solved_epoch is {result.solved_epoch}.")
        return (
            f"Correct on all {len(EPOCH_CASES)} cases, and for seed {result.seed} you found epoch {answer}, "
            "the run's solved_epoch: below a threshold of 0.25 a low loss already implies that every sign is right."
        )
    return f"Correct on all {len(EPOCH_CASES)} cases."


@checker
def check_zero_input_prediction(zero_input_prediction: Callable) -> CheckResult:
    """Check zero_input_prediction(model) -> the prediction for (0,0), computed from the readout alone.

    The answer must match the model's own prediction for (0,0), and must not
    change when W_q, W_k and W_v are set to NaN.
    """
    require_function(zero_input_prediction, "check_zero_input_prediction", "zero_input_prediction")
    tokens, _ = xor_dataset()
    for config, seed in ZERO_INPUT_MODELS:
        model = build_model(config, seed)
        with torch.no_grad():
            expected = model(tokens[:1]).prediction.item()  # tokens[:1] is (0,0)
        where = f"For the model with seed {seed}, d_v={config.d_v} and d_repr={config.d_repr}"
        with torch.no_grad():
            answer = as_number(call_student(zero_input_prediction, f"the model of seed {seed}", model), where)
        if not math.isclose(answer, expected, abs_tol=ATOL):
            raise Failure(f"{where} your function returned {answer:.4f}, but the model predicts {expected:.4f} for (0,0).")

        blinded = copy.deepcopy(model)
        with torch.no_grad():
            for parameter in blinded.attention_parameters():
                parameter.fill_(math.nan)
            answer = as_number(call_student(zero_input_prediction, "a model whose W_q, W_k, W_v are NaN", blinded), where)
        if not math.isclose(answer, expected, abs_tol=ATOL):
            raise Failure(
                f"{where} and W_q, W_k, W_v set to NaN your function returned {answer:.4f}, not {expected:.4f}: "
                "it still runs the attention. Use model.hidden and model.output only."
            )
    bias = fmt(expected, 4)
    return (
        f"Correct for all {len(ZERO_INPUT_MODELS)} models (the last predicts {bias} for (0,0)). For (0,0) every "
        "value is 0 and tanh(0) = 0, so the prediction is output.weight @ hidden.bias + output.bias: "
        "no attention weight can move it, only the readout's biases can."
    )


def as_number(answer, where: str) -> float:
    """Return answer as a float, or raise Failure if it is not a single number."""
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise Failure(f"{where}: return one number, got a tensor of shape {tuple(answer.shape)}.")
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise Failure(f"{where}: return one number, got {answer!r}.")
    return float(answer)
