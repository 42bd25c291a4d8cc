"""Checkers for the exercises of notebook 04: evaluating a model on a grid, and finding its boundary."""

import math
from collections.abc import Callable

import torch

from ..data import bits_to_tokens
from ..model import build_model
from .result import CheckResult, Failure, as_tensor, call_student, checker, fmt, require_function, shape_text

# An untrained model whose predictions differ when x1 and x2 swap, so a
# transposed grid cannot pass by chance.
GRID_MODEL_SEED = 3
# (x1 values, x2 values): a 5 × 3 grid whose shape shows the orientation,
# then a square one where only the values do.
GRID_CASES = ((torch.linspace(-0.5, 1.5, 5), torch.linspace(0.0, 1.0, 3)), (torch.linspace(0.0, 1.0, 4), torch.linspace(0.0, 1.0, 4)))
ATOL = 1e-5

# A crossing found by bisection to 1e-4 is right if it is this close.
CROSSING_TOLERANCE = 1e-3


def reference_grid(model, x1_values: torch.Tensor, x2_values: torch.Tensor) -> torch.Tensor:
    """Return the predictions (len(x2_values), len(x1_values)): row i is x2_values[i], column j is x1_values[j]."""
    x1, x2 = torch.meshgrid(x1_values, x2_values, indexing="xy")  # each (n2, n1)
    bits = torch.stack([x1.flatten(), x2.flatten()], dim=-1)  # (n2 n1, 2)
    with torch.no_grad():
        predictions = model(bits_to_tokens(bits)).prediction  # (n2 n1, 1)
    return predictions.reshape(len(x2_values), len(x1_values))


@checker
def check_prediction_grid(prediction_grid: Callable) -> CheckResult:
    """Check prediction_grid(model, x1_values, x2_values) -> predictions of shape (len(x2_values), len(x1_values)).

    Entry [i, j] must be the prediction at x1 = x1_values[j], x2 = x2_values[i],
    so x1 runs along the rows (horizontal) as imshow and contourf expect.
    """
    require_function(prediction_grid, "check_prediction_grid", "prediction_grid")
    model = build_model(seed=GRID_MODEL_SEED)
    for x1_values, x2_values in GRID_CASES:
        expected = reference_grid(model, x1_values, x2_values)
        where = f"For {len(x1_values)} x1 values and {len(x2_values)} x2 values"
        description = f"x1_values {fmt(x1_values, 2)}, x2_values {fmt(x2_values, 2)}"
        with torch.no_grad():
            answer = as_tensor(call_student(prediction_grid, description, model, x1_values.clone(), x2_values.clone()), "the grid")
        expected = expected.to(answer.dtype)

        if answer.shape == (*expected.shape, 1):
            raise Failure(f"{where}, the grid has shape {shape_text(answer.shape)}: drop the last dimension, e.g. with [..., 0].")
        if answer.shape == expected.T.shape and answer.shape != expected.shape:
            raise Failure(
                f"{where}, the grid has shape {shape_text(answer.shape)} but should be {shape_text(expected.shape)}: "
                "rows follow x2 (the vertical axis) and columns follow x1 (the horizontal axis)."
            )
        if answer.shape != expected.shape:
            raise Failure(f"{where}, the grid should have shape {shape_text(expected.shape)}, got {shape_text(answer.shape)}.")
        square = answer.shape[0] == answer.shape[1]
        if square and torch.allclose(answer, expected.T, atol=ATOL) and not torch.allclose(answer, expected, atol=ATOL):
            raise Failure(f"{where}, the grid is transposed: entry [i, j] must be the prediction at x1 = x1_values[j], x2 = x2_values[i].")
        if not torch.allclose(answer, expected, atol=ATOL):
            raise Failure(f"{where}, row 0 (x2 = {x2_values[0].item():g}) should be {fmt(expected[0])}, got {fmt(answer[0])}.")
    return (
        "Correct: row i holds x2 = x2_values[i] and column j holds x1 = x1_values[j], the layout that "
        "imshow(grid, origin='lower') and contourf(x1_values, x2_values, grid) draw with x1 horizontal."
    )


def crossing_cases() -> list[tuple[str, Callable, tuple[float, float], tuple[float, float], tuple[float, float] | None]]:
    """Return (description, predict, start, end, expected crossing or None) for check_boundary_crossing."""

    def columns(bits):
        bits = torch.as_tensor(bits, dtype=torch.float64).reshape(-1, 2)  # (B, 2)
        return bits[:, 0], bits[:, 1]

    def linear_rising(bits):
        x1, _ = columns(bits)
        return (x1 - 0.3).unsqueeze(-1)  # (B, 1), zero at x1 = 0.3

    def linear_falling(bits):
        x1, _ = columns(bits)
        return (0.7 - x1).unsqueeze(-1)  # positive at the start

    def steep_diagonal(bits):
        x1, x2 = columns(bits)
        return torch.tanh(4 * (x1 + x2 - 1.2)).unsqueeze(-1)  # zero where x1 + x2 = 1.2

    def cubic(bits):
        _, x2 = columns(bits)
        return ((x2 - 0.8) ** 3).unsqueeze(-1)  # flat near its zero, so one secant step misses it

    def positive(bits):
        x1, _ = columns(bits)
        return (1.0 + x1).unsqueeze(-1)  # no zero on the unit square

    return [
        ("prediction x1 - 0.3 from (0,0) to (1,0)", linear_rising, (0.0, 0.0), (1.0, 0.0), (0.3, 0.0)),
        ("prediction 0.7 - x1 from (0,0) to (1,0)", linear_falling, (0.0, 0.0), (1.0, 0.0), (0.7, 0.0)),
        ("prediction tanh(4 (x1 + x2 - 1.2)) from (0,0) to (1,1)", steep_diagonal, (0.0, 0.0), (1.0, 1.0), (0.6, 0.6)),
        ("prediction (x2 - 0.8)³ from (1,0) to (0,1)", cubic, (1.0, 0.0), (0.0, 1.0), (0.2, 0.8)),
        ("prediction 1 + x1 from (0,0) to (1,1)", positive, (0.0, 0.0), (1.0, 1.0), None),
    ]


@checker
def check_boundary_crossing(find_crossing: Callable) -> CheckResult:
    """Check find_crossing(predict, start, end) -> the point (x1, x2) where the prediction changes sign, or None.

    predict maps inputs of shape (B, 2) to predictions of shape (B, 1). start
    and end are (x1, x2) pairs. None is expected when the prediction has the
    same sign at both ends.
    """
    require_function(find_crossing, "check_boundary_crossing", "find_crossing")
    cases = crossing_cases()
    for description, predict, start, end, expected in cases:
        where = f"For the {description}"
        answer = call_student(find_crossing, f"the {description}", predict, torch.tensor(start), torch.tensor(end))
        if expected is None:
            if answer is not None:
                raise Failure(f"{where}, the prediction is positive at both ends, so return None; you returned {answer!r}.")
            continue
        if answer is None:
            raise Failure(f"{where}, the prediction changes sign, so there is a crossing near {expected}; you returned None.")
        point = as_tensor(answer, "the crossing").flatten()
        if point.shape != (2,):
            raise Failure(f"{where}, return the crossing as a point (x1, x2), got shape {shape_text(point.shape)}.")
        distance = math.dist(point.tolist(), expected)
        if distance > CROSSING_TOLERANCE:
            raise Failure(f"{where}, the crossing is at {expected}, but you returned {fmt(point, 4)} ({distance:.3g} away).")
    return (
        f"Correct on all {len(cases)} segments, including one with no crossing. A sign change between two "
        "ends means the decision boundary, where the prediction is 0, crosses the segment in between."
    )
