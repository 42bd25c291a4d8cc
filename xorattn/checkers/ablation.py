"""Checkers for the exercises of notebook 03: mixing without attention, and counting successes."""

import math
from collections.abc import Callable

import torch

from ..config import MIXINGS, Config
from ..data import xor_dataset
from ..model import build_model
from .result import CheckResult, Failure, call_student, checker, fmt, require_function, shape_text

# Shapes (B, T, d_v) of the values the mixing checkers try; the second has
# 4 tokens, where uniform weights are 0.25 and not 0.5.
MIXING_SHAPES = ((3, 2, 2), (2, 4, 3))
ATOL = 1e-5

INTERACTION_SEEDS = (0, 1, 2)

# (successes, n) for check_wilson_interval: both ends, a single trial, and
# counts like those of a seed sweep.
WILSON_CASES = ((0, 10), (10, 10), (6, 10), (40, 100), (1, 1), (17, 50))
# A z of 1.96 and the exact 1.959964 differ in the 5th digit of the bounds.
WILSON_TOLERANCE = 1e-4
Z_95 = 1.96


def reference_wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """Return the 95% Wilson score interval, from xorattn.stats when the package has it."""
    try:
        from ..stats import wilson_interval
    except ImportError:  # a copy of xorattn from before its stats module
        return wilson_formula(successes, n, Z_95)
    return wilson_interval(successes, n)


def wilson_formula(successes: int, n: int, z: float) -> tuple[float, float]:
    """Return the Wilson score interval (centre ± half-width, clipped to [0, 1]) for z standard errors."""
    rate = successes / n
    shrink = 1 + z**2 / n
    centre = (rate + z**2 / (2 * n)) / shrink
    half_width = z / shrink * math.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def expected_mixing(values: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the mixed values (B, T, d_v) and weights (B, T, T) of identity or uniform mixing."""
    batch, tokens, _ = values.shape
    if kind == "identity":
        weights = torch.eye(tokens, dtype=values.dtype)
    else:
        weights = torch.full((tokens, tokens), 1.0 / tokens, dtype=values.dtype)
    weights = weights.expand(batch, tokens, tokens)
    return weights @ values, weights  # (B, T, T) @ (B, T, d_v) -> (B, T, d_v)


def check_mixing(mixing: Callable, kind: str) -> str:
    """Compare mixing(values) with the identity or uniform mixing on MIXING_SHAPES; return the success message."""
    for number, shape in enumerate(MIXING_SHAPES, start=1):
        values = torch.randn(*shape, generator=torch.Generator().manual_seed(number))
        expected_mixed, expected_weights = expected_mixing(values, kind)
        where = f"For values of shape {shape_text(shape)} (B, T, d_v)"
        result = call_student(mixing, f"values of shape {shape_text(shape)}", values.clone())
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Failure(f"{where}, return a pair (mixed, weights); your function returned a {type(result).__name__}.")
        mixed, weights = (torch.as_tensor(item).detach() for item in result)

        batch, tokens, _ = shape
        if weights.shape == (tokens, tokens):
            raise Failure(f"{where}, weights have shape {shape_text(weights.shape)}: give them the batch dimension, (B, T, T), e.g. with .expand.")
        if weights.shape != expected_weights.shape:
            raise Failure(f"{where}, weights should have shape {shape_text(expected_weights.shape)}, got {shape_text(weights.shape)}.")
        if kind == "uniform" and tokens != 2 and torch.allclose(weights, torch.full_like(weights, 0.5)):
            raise Failure(f"{where}, every weight is 0.5, but with {tokens} tokens uniform weights are 1/T = {1 / tokens:g}.")
        if not torch.allclose(weights.to(values.dtype), expected_weights, atol=ATOL):
            raise Failure(f"{where}, weights[0] should be {fmt(expected_weights[0])}, got {fmt(weights[0])}.")
        if mixed.shape != expected_mixed.shape or not torch.allclose(mixed.to(values.dtype), expected_mixed, atol=ATOL):
            raise Failure(
                f"{where}, the weights are right but mixed[0] should be {fmt(expected_mixed[0])}, "
                f"got {fmt(mixed[0]) if mixed.ndim == 3 else shape_text(mixed.shape)}. mixed is weights @ values."
            )
    return f"Correct for values of shapes {', '.join(shape_text(shape) for shape in MIXING_SHAPES)}."


@checker
def check_identity_mixing(identity_mixing: Callable) -> CheckResult:
    """Check identity_mixing(values (B, T, d_v)) -> (mixed (B, T, d_v), weights (B, T, T)): no mixing."""
    require_function(identity_mixing, "check_identity_mixing", "identity_mixing")
    return check_mixing(identity_mixing, "identity") + " Every token keeps its own value: weights are the identity matrix."


@checker
def check_uniform_mixing(uniform_mixing: Callable) -> CheckResult:
    """Check uniform_mixing(values (B, T, d_v)) -> (mixed, weights): every token gets the mean of all values."""
    require_function(uniform_mixing, "check_uniform_mixing", "uniform_mixing")
    return check_mixing(uniform_mixing, "uniform") + " Every token gets the mean of all values, whatever the input."


def reference_interaction(model) -> float:
    """Return prediction(0,0) - prediction(0,1) - prediction(1,0) + prediction(1,1) of model."""
    tokens, _ = xor_dataset()
    with torch.no_grad():
        predictions = model(tokens).prediction[:, 0].tolist()  # (0,0), (0,1), (1,0), (1,1)
    return predictions[0] - predictions[1] - predictions[2] + predictions[3]


@checker
def check_interaction(interaction: Callable) -> CheckResult:
    """Check interaction(model) -> prediction(0,0) - prediction(0,1) - prediction(1,0) + prediction(1,1).

    It is tried on untrained models of every mixing for INTERACTION_SEEDS.
    The success message lists the values, which are 0 for identity mixing.
    """
    require_function(interaction, "check_interaction", "interaction")
    found = {}
    for mixing in MIXINGS:
        for seed in INTERACTION_SEEDS:
            model = build_model(Config(mixing=mixing), seed)
            expected = reference_interaction(model)
            where = f"For the {mixing} model with seed {seed}"
            with torch.no_grad():
                answer = call_student(interaction, f"the {mixing} model of seed {seed}", model)
            if isinstance(answer, torch.Tensor) and answer.numel() == 1:
                answer = answer.item()
            if isinstance(answer, bool) or not isinstance(answer, (int, float)):
                raise Failure(f"{where}, return one number, got {answer!r}.")
            if math.isclose(answer, -expected, abs_tol=ATOL) and abs(expected) > ATOL:
                raise Failure(f"{where}, you returned {answer:.4f}, the negative of {expected:.4f}: (0,0) and (1,1) count +, (0,1) and (1,0) count −.")
            if not math.isclose(answer, expected, abs_tol=ATOL):
                raise Failure(f"{where}, you returned {answer:.4f}, expected {expected:.4f}.")
            found.setdefault(mixing, []).append(answer)

    listed = "; ".join(f"{mixing} {fmt(values, 4)}" for mixing, values in found.items())
    return (
        f"Correct. Interaction of the untrained models of seeds {', '.join(map(str, INTERACTION_SEEDS))}: {listed}. "
        "With identity mixing each token's features depend on its own bit only and the readout adds them, "
        "so the interaction is 0 for any weights. XOR's targets have an interaction of −1 − 1 − 1 − 1 = −4."
    )


@checker
def check_wilson_interval(my_wilson_interval: Callable) -> CheckResult:
    """Check my_wilson_interval(successes, n) -> (low, high), the 95% Wilson score interval of successes / n.

    The reference is xorattn.stats.wilson_interval, with z = 1.96 for 95%.
    """
    require_function(my_wilson_interval, "check_wilson_interval", "wilson_interval")
    for successes, n in WILSON_CASES:
        expected = reference_wilson_interval(successes, n)
        where = f"For {successes} successes in {n} trials"
        answer = call_student(my_wilson_interval, f"successes={successes}, n={n}", successes, n)
        low, high = as_bounds(answer, where)

        if math.isclose(low, 100 * expected[0], abs_tol=0.01) and math.isclose(high, 100 * expected[1], abs_tol=0.01) and high > 1:
            raise Failure(f"{where}, you returned ({low:.2f}, {high:.2f}) in percent: return rates between 0 and 1.")
        if close_pair((high, low), expected) and not close_pair((low, high), expected):
            raise Failure(f"{where}, the bounds come in the order (high, low): return (low, high).")
        if not close_pair((low, high), expected):
            hint = wald_hint(low, high, successes, n)
            raise Failure(
                f"{where}, the interval should be ({expected[0]:.4f}, {expected[1]:.4f}), "
                f"got ({low:.4f}, {high:.4f}).{hint}"
            )
    low, high = reference_wilson_interval(0, 10)
    return (
        f"Correct on all {len(WILSON_CASES)} cases. Even 0 successes in 10 runs gives ({low:.3f}, {high:.3f}): "
        f"ten failures still allow a success rate of up to {100 * high:.0f}%."
    )


def as_bounds(answer, where: str) -> tuple[float, float]:
    """Return (low, high) as floats, or raise Failure if answer is not a pair of numbers."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Failure(f"{where}, return a pair (low, high), got {answer!r}.")
    try:
        return float(answer[0]), float(answer[1])
    except (TypeError, ValueError):
        raise Failure(f"{where}, low and high must be numbers, got {answer!r}.") from None


def close_pair(pair: tuple[float, float], expected: tuple[float, float]) -> bool:
    """Return whether both bounds are within WILSON_TOLERANCE of the expected ones."""
    return all(math.isclose(a, b, abs_tol=WILSON_TOLERANCE) for a, b in zip(pair, expected))


def wald_hint(low: float, high: float, successes: int, n: int) -> str:
    """Return a hint if (low, high) is the normal-approximation (Wald) interval, else ""."""
    rate = successes / n
    half_width = Z_95 * math.sqrt(rate * (1 - rate) / n)
    wald = (rate - half_width, rate + half_width)
    clipped = (max(0.0, wald[0]), min(1.0, wald[1]))
    if close_pair((low, high), wald) or close_pair((low, high), clipped):
        return (
            " That is the normal approximation p̂ ± z√(p̂(1 − p̂)/n), which shrinks to a point at 0 or n "
            "successes; Wilson's interval solves |p̂ − p| ≤ z√(p(1 − p)/n) for p instead."
        )
    return ""
