"""Tests of the exercise checkers: right answers pass, usual mistakes fail with a message naming the case."""

import math

import pytest
import torch

from xorattn import Config, XorAttentionModel, bits_to_tokens, xor_dataset
from xorattn.checkers import (
    CheckResult,
    check_attention,
    check_attention_prediction,
    check_biased_projections,
    check_boundary_crossing,
    check_first_epoch_below,
    check_identity_mixing,
    check_interaction,
    check_prediction_grid,
    check_solved_criterion,
    check_uniform_mixing,
    check_wilson_interval,
    check_zero_input_prediction,
)
from xorattn.checkers.ablation import expected_mixing, wilson_formula

# Reference solutions, written independently of the checkers' own references.


def attention_solution(queries, keys, values):
    scores = queries @ keys.transpose(1, 2) / math.sqrt(queries.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    return weights @ values, weights


def attention_unscaled(queries, keys, values):
    weights = torch.softmax(queries @ keys.transpose(1, 2), dim=-1)
    return weights @ values, weights


def attention_scaled_by_d_v(queries, keys, values):
    weights = torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(values.shape[-1]), dim=-1)
    return weights @ values, weights


def attention_softmax_over_queries(queries, keys, values):
    weights = torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(queries.shape[-1]), dim=-2)
    return weights @ values, weights


def attention_in_place(queries, keys, values):
    queries /= math.sqrt(queries.shape[-1])
    weights = torch.softmax(queries @ keys.transpose(1, 2), dim=-1)
    return weights @ values, weights


def attention_swapped(queries, keys, values):
    output, weights = attention_solution(queries, keys, values)
    return weights, output


def attention_wrong_output(queries, keys, values):
    _, weights = attention_solution(queries, keys, values)
    return weights @ keys[..., :1].expand_as(values), weights


def stub(*args):
    raise NotImplementedError("write your solution here")


def crashing(*args):
    raise IndexError("tuple index out of range")


def test_check_result_repr_is_message():
    """A CheckResult shows only its message and is truthy when passed."""
    result = CheckResult(True, "Correct.")

    assert repr(result) == "Correct."
    assert str(result) == "Correct."
    assert bool(result)
    assert not CheckResult(False, "Not yet.")


def test_attention_solution_passes():
    """A correct scaled dot-product attention passes every case."""
    result = check_attention(attention_solution)

    assert result.passed
    assert "Correct on all 3 cases" in result.message


@pytest.mark.parametrize(
    ("function", "case", "hint"),
    [
        (attention_unscaled, "case 1 of 3", "not divided by √d_k"),
        (attention_scaled_by_d_v, "d_k=3, d_v=5", "divided by √d_v"),
        (attention_softmax_over_queries, "case 1 of 3", "over the queries (dim=-2)"),
        (attention_in_place, "case 1 of 3", "changed its input tensors in place"),
        (attention_swapped, "case 1 of 3", "order (attn_weights, output)"),
        (attention_wrong_output, "case 1 of 3", "attn_weights are right but output[0] should be"),
    ],
)
def test_attention_mistake_is_named(function, case, hint):
    """Each usual mistake fails with the case and a hint at its cause."""
    result = check_attention(function)

    assert not result.passed
    assert case in result.message
    assert hint in result.message


def test_attention_stub_not_implemented():
    """A stub gets advice to write the code, not a traceback."""
    result = check_attention(stub)

    assert not result.passed
    assert result.message.startswith("Not implemented yet")
    assert "NotImplementedError" in result.message


def test_attention_exception_is_reported():
    """An exception in the student's code becomes a sentence with its type and the input."""
    result = check_attention(crashing)

    assert not result.passed
    assert "IndexError: tuple index out of range" in result.message
    assert "queries and keys of shape (1, 2, 2)" in result.message


def test_attention_non_function_rejected():
    """Passing a result instead of the function is explained."""
    result = check_attention(attention_solution(*[torch.ones(1, 2, 2)] * 3))

    assert not result.passed
    assert "needs your function itself" in result.message


@pytest.mark.parametrize(
    ("answer", "passed", "fragment"),
    [
        ([[0.5, 0.5], [0.107, 0.893]], True, "Correct"),
        (torch.tensor([[[0.5, 0.5], [0.11, 0.89]]]), True, "Correct"),
        ([[0.5, 0.5], [0.047, 0.953]], False, "divide the scores by √d_k"),
        ([[0.5, 0.5], [0.893, 0.107]], False, "Row 1 is reversed"),
        ([[0.4, 0.6], [0.107, 0.893]], False, "Row 0 should be [0.5, 0.5]"),
        ([[0.5, 0.5], [0.3, 0.9]], False, "rows sum to [1.0, 1.2]"),
        ([[0.5, 0.5], [0.2, 0.8]], False, "Row 1 should be [0.107, 0.893]"),
        ([0.5, 0.5], False, "got shape (2,)"),
        (..., False, "Not answered yet"),
        ("half", False, "must be a tensor or a list of numbers"),
    ],
)
def test_attention_prediction_answers(answer, passed, fragment):
    """The prediction for (0,1) is checked to 0.01 with a hint for each kind of mistake."""
    result = check_attention_prediction(answer)

    assert result.passed is passed
    assert fragment in result.message


def projection_solution(tokens, attention, query_bias, key_bias):
    queries, keys, values = attention.project(tokens)
    return queries + query_bias, keys + key_bias, values


def projection_without_bias(tokens, attention, query_bias, key_bias):
    return attention.project(tokens)


def projection_swapped_biases(tokens, attention, query_bias, key_bias):
    queries, keys, values = attention.project(tokens)
    return queries + key_bias, keys + query_bias, values


def projection_value_bias(tokens, attention, query_bias, key_bias):
    queries, keys, values = attention.project(tokens)
    return queries + query_bias, keys + key_bias, values + 1.0


def projection_key_bias_only(tokens, attention, query_bias, key_bias):
    queries, keys, values = attention.project(tokens)
    return queries, keys + key_bias, values


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (projection_without_bias, "the queries have no bias added"),
        (projection_key_bias_only, "the queries have no bias added"),
        (projection_swapped_biases, "the biases are swapped"),
        (projection_value_bias, "(tokens W_vᵀ, no bias)"),
        (lambda *args: args[0], "return (queries, keys, values)"),
    ],
)
def test_biased_projection_mistakes(function, fragment):
    """Each wrong projection fails and names the input and what is wrong."""
    result = check_biased_projections(function)

    assert not result.passed
    assert "four XOR inputs (d_k=2, d_v=2)" in result.message
    assert fragment in result.message


def test_biased_projection_solution_passes():
    """Biased queries and keys with bias-free values pass."""
    result = check_biased_projections(projection_solution)

    assert result.passed
    assert "no longer has to be uniform" in result.message


def solved_solution(predictions, targets, threshold):
    signs_right = bool((torch.sign(predictions) == torch.sign(targets)).all())
    return signs_right and torch.nn.functional.mse_loss(predictions, targets).item() < threshold


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (lambda p, t, h: torch.nn.functional.mse_loss(p, t).item() < h, "(0,0) has the wrong sign"),
        (
            lambda p, t, h: bool((torch.sign(p) == torch.sign(t)).all()) and torch.nn.functional.mse_loss(p, t).item() <= h,
            "the loss equals the threshold",
        ),
        (lambda p, t, h: bool((p * t >= 0).all()) and torch.nn.functional.mse_loss(p, t).item() < h, "exactly 0 has no sign"),
        (lambda p, t, h: torch.sign(p) == torch.sign(t), "return one True or False for the whole run"),
        (lambda p, t, h: "yes", "return True or False, got 'yes'"),
    ],
)
def test_solved_criterion_mistakes(function, fragment):
    """A criterion missing the sign test, using <= or returning a tensor fails with the case."""
    result = check_solved_criterion(function)

    assert not result.passed
    assert "For predictions [" in result.message
    assert fragment in result.message


def test_solved_criterion_agrees_with_results(default_result):
    """The solution passes the table and agrees with a real training run."""
    result = check_solved_criterion(solved_solution, results=[default_result])

    assert result.passed
    assert "agrees with result.solved on all 1 runs" in result.message


def test_solved_criterion_disagreement_names_seed(default_result):
    """A criterion that passes the table but disagrees with a run names that run's seed."""

    def always_false_for_runs(predictions, targets, threshold):
        if predictions.dtype == torch.float32 and predictions.requires_grad is False and threshold == 0.01:
            if torch.allclose(predictions, default_result.predictions):
                return False
        return solved_solution(predictions, targets, threshold)

    result = check_solved_criterion(always_false_for_runs, results=[default_result])

    assert not result.passed
    assert "seed 0" in result.message
    assert "result.solved is True" in result.message


def first_epoch_solution(losses, threshold):
    for index, loss in enumerate(losses):
        if loss < threshold:
            return index + 1
    return None


def test_first_epoch_matches_training(default_result):
    """The solution passes and finds the solved epoch of the original run."""
    result = check_first_epoch_below(first_epoch_solution, result=default_result)

    assert result.passed
    assert f"epoch {default_result.solved_epoch}" in result.message


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (lambda losses, threshold: (first_epoch_solution(losses, threshold) or 1) - 1, "add 1 to the index"),
        (lambda losses, threshold: first_epoch_solution(losses, threshold) or -1, "expected None"),
        (lambda losses, threshold: next((i + 1 for i, v in enumerate(losses) if v <= threshold), None), "equal to the threshold"),
        (lambda losses, threshold: 2.5, "as a whole number"),
    ],
)
def test_first_epoch_mistakes(function, fragment):
    """Counting from 0, returning -1 or using <= fails with the losses of the case."""
    result = check_first_epoch_below(function)

    assert not result.passed
    assert "For losses [" in result.message
    assert fragment in result.message


def zero_input_solution(model):
    return (model.output.weight @ model.hidden.bias + model.output.bias).item()


def test_zero_input_solution_passes():
    """The prediction from the readout's biases alone passes for every model."""
    result = check_zero_input_prediction(zero_input_solution)

    assert result.passed
    assert "output.weight @ hidden.bias + output.bias" in result.message


def test_zero_input_using_attention_fails():
    """Running the model itself gives the right number but is caught by NaN attention weights."""

    def through_the_model(model):
        tokens, _ = xor_dataset()
        return model(tokens[:1]).prediction.item()

    result = check_zero_input_prediction(through_the_model)

    assert not result.passed
    assert "W_q, W_k, W_v set to NaN" in result.message
    assert "seed 0" in result.message


def test_zero_input_wrong_value_fails():
    """Forgetting the output bias fails with the model and the expected value."""
    result = check_zero_input_prediction(lambda model: (model.output.weight @ model.hidden.bias).item())

    assert not result.passed
    assert "model with seed 0" in result.message
    assert "the model predicts" in result.message


def identity_solution(values):
    batch, tokens, _ = values.shape
    weights = torch.eye(tokens).expand(batch, tokens, tokens)
    return weights @ values, weights


def uniform_solution(values):
    batch, tokens, _ = values.shape
    weights = torch.full((tokens, tokens), 1.0 / tokens).expand(batch, tokens, tokens)
    return weights @ values, weights


def test_mixing_reference_matches_model():
    """The checkers' identity and uniform mixing equal XorAttentionModel.mix on real tokens."""
    tokens, _ = xor_dataset()
    for kind in ("identity", "uniform"):
        model = XorAttentionModel(Config(mixing=kind), torch.Generator().manual_seed(0))
        with torch.no_grad():
            mixed, weights = model.mix(tokens)
            values = model.attention.W_v(tokens)
        expected_mixed, expected_weights = expected_mixing(values, kind)

        assert torch.allclose(mixed, expected_mixed), kind
        assert torch.equal(weights, expected_weights), kind


def test_mixing_solutions_pass():
    """The identity and uniform solutions pass their checkers."""
    assert check_identity_mixing(identity_solution).passed
    assert check_uniform_mixing(uniform_solution).passed


def test_uniform_mixing_half_named():
    """Uniform weights of 0.5 fail for 4 tokens with the 1/T hint."""

    def halves(values):
        batch, tokens, _ = values.shape
        weights = torch.full((batch, tokens, tokens), 0.5)
        return weights @ values, weights

    result = check_uniform_mixing(halves)

    assert not result.passed
    assert "shape (2, 4, 3)" in result.message
    assert "1/T = 0.25" in result.message


def test_identity_mixing_without_batch():
    """Weights without the batch dimension fail with the .expand hint."""
    result = check_identity_mixing(lambda values: (values, torch.eye(values.shape[1])))

    assert not result.passed
    assert "give them the batch dimension" in result.message


def test_identity_mixing_uniform_fails():
    """Uniform weights are not identity weights, and the message shows weights[0]."""
    result = check_identity_mixing(uniform_solution)

    assert not result.passed
    assert "weights[0] should be [[1.0, 0.0], [0.0, 1.0]]" in result.message


def interaction_solution(model):
    tokens, _ = xor_dataset()
    predictions = model(tokens).prediction[:, 0]
    return (predictions[0] - predictions[1] - predictions[2] + predictions[3]).item()


def test_interaction_solution_lists_values():
    """The solution passes and the message shows identity mixing at exactly 0."""
    result = check_interaction(interaction_solution)

    assert result.passed
    assert "identity [0.0, 0.0, 0.0]" in result.message


def test_interaction_sign_mistake_named():
    """The negated interaction fails with the sign hint."""
    result = check_interaction(lambda model: -interaction_solution(model))

    assert not result.passed
    assert "attention model with seed 0" in result.message
    assert "count +" in result.message


def test_interaction_is_zero_for_identity():
    """With identity mixing the interaction is 0 for any weights, as the success message claims."""
    for seed in range(5):
        model = XorAttentionModel(Config(mixing="identity"), torch.Generator().manual_seed(seed))
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(5.0)  # far from the initial scale, where tanh is not linear
            value = interaction_solution(model)

        assert abs(value) < 1e-5, seed


def wilson_solution(successes, n, z=1.96):
    rate = successes / n
    denominator = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denominator
    return centre - spread, centre + spread


def test_wilson_solution_passes():
    """The Wilson formula with z = 1.96 passes within the tolerance."""
    result = check_wilson_interval(wilson_solution)

    assert result.passed
    assert "(0.000, 0.278)" in result.message


def test_wilson_fallback_matches_stats():
    """The checker's own formula agrees with xorattn.stats where that module exists."""
    stats = pytest.importorskip("xorattn.stats")
    for successes, n in ((0, 10), (6, 10), (40, 100), (1, 1)):
        ours = wilson_formula(successes, n, 1.959963984540054)
        theirs = stats.wilson_interval(successes, n)

        assert ours == pytest.approx(theirs, abs=1e-12), (successes, n)


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (lambda s, n: (s / n - 1.96 * math.sqrt(s / n * (1 - s / n) / n), s / n + 1.96 * math.sqrt(s / n * (1 - s / n) / n)), "normal approximation"),
        (lambda s, n: tuple(100 * bound for bound in wilson_solution(s, n)), "in percent"),
        (lambda s, n: tuple(reversed(wilson_solution(s, n))), "order (high, low)"),
        (lambda s, n: wilson_solution(s, n, z=1.0), "should be (0.0000, 0.2775)"),
        (lambda s, n: s / n, "return a pair (low, high)"),
    ],
)
def test_wilson_mistakes(function, fragment):
    """The Wald interval, percentages, swapped bounds and a wrong z fail with the count."""
    result = check_wilson_interval(function)

    assert not result.passed
    assert "For 0 successes in 10 trials" in result.message
    assert fragment in result.message


def grid_solution(model, x1_values, x2_values):
    rows = []
    for x2 in x2_values:
        bits = torch.stack([x1_values, torch.full_like(x1_values, x2.item())], dim=-1)  # (n1, 2)
        rows.append(model(bits_to_tokens(bits)).prediction[:, 0])
    return torch.stack(rows)  # (n2, n1)


def grid_with_ij_indexing(model, x1_values, x2_values):
    x1, x2 = torch.meshgrid(x1_values, x2_values, indexing="ij")
    bits = torch.stack([x1.flatten(), x2.flatten()], dim=-1)
    return model(bits_to_tokens(bits)).prediction.reshape(x1.shape)


def test_grid_solution_passes():
    """A row-by-row grid with rows along x2 passes."""
    result = check_prediction_grid(grid_solution)

    assert result.passed
    assert "x1 horizontal" in result.message


def test_grid_transposed_shape_named():
    """An (n1, n2) grid fails on its shape with the orientation rule."""
    result = check_prediction_grid(grid_with_ij_indexing)

    assert not result.passed
    assert "shape (5, 3) but should be (3, 5)" in result.message


def test_grid_transposed_square_named():
    """A square grid with swapped axes fails on its values."""

    def transposed_when_square(model, x1_values, x2_values):
        if len(x1_values) == len(x2_values):
            return grid_with_ij_indexing(model, x1_values, x2_values)
        return grid_solution(model, x1_values, x2_values)

    result = check_prediction_grid(transposed_when_square)

    assert not result.passed
    assert "4 x1 values and 4 x2 values" in result.message
    assert "the grid is transposed" in result.message


def test_grid_trailing_dimension_named():
    """A grid of shape (n2, n1, 1) fails with the hint to drop the last dimension."""
    result = check_prediction_grid(lambda *args: grid_solution(*args).unsqueeze(-1))

    assert not result.passed
    assert "drop the last dimension" in result.message


def bisection_solution(predict, start, end, tolerance=1e-4):
    def sign_at(point):
        return torch.sign(predict(point.unsqueeze(0))[0, 0])

    if sign_at(start) == sign_at(end):
        return None
    low, high = start.double(), end.double()
    while torch.dist(low, high) > tolerance:
        middle = (low + high) / 2
        if sign_at(middle) == sign_at(low):
            low = middle
        else:
            high = middle
    return (low + high) / 2


def secant_step(predict, start, end):
    first = predict(start.unsqueeze(0))[0, 0]
    last = predict(end.unsqueeze(0))[0, 0]
    if torch.sign(first) == torch.sign(last):
        return None
    return start + first / (first - last) * (end - start)


def test_crossing_bisection_passes():
    """Bisection finds every crossing and returns None where there is none."""
    result = check_boundary_crossing(bisection_solution)

    assert result.passed
    assert "Correct on all 5 segments" in result.message


def test_crossing_single_secant_fails():
    """One linear interpolation is wrong on a curved prediction, and the case is named."""
    result = check_boundary_crossing(secant_step)

    assert not result.passed
    assert "tanh(4 (x1 + x2 - 1.2))" in result.message
    assert "(0.6, 0.6)" in result.message


def test_crossing_midpoint_fails():
    """Returning the midpoint of every segment fails on the first one, which crosses elsewhere."""
    result = check_boundary_crossing(lambda predict, start, end: (start + end) / 2)

    assert not result.passed
    assert "x1 - 0.3 from (0,0) to (1,0)" in result.message
    assert "the crossing is at (0.3, 0.0)" in result.message


def test_crossing_missing_none_fails():
    """A function that always returns a point fails on the segment without a crossing."""

    def never_none(predict, start, end):
        crossing = bisection_solution(predict, start, end)
        return start if crossing is None else crossing

    result = check_boundary_crossing(never_none)

    assert not result.passed
    assert "positive at both ends, so return None" in result.message
