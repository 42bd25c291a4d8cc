"""Checkers for the exercises of notebook 01: attention by hand, in code, and with biases."""

import math
from collections.abc import Callable

import torch

from ..attention import SelfAttention, scaled_dot_product_attention
from ..data import xor_dataset
from ..model import init_linear_layers
from .result import (
    CheckResult,
    Failure,
    as_tensor,
    call_student,
    checker,
    fmt,
    require_answer,
    require_function,
    shape_text,
)

# The layer of the prediction exercise: one feature per token, d_k = 2.
PREDICTION_W_Q = (1.0, 2.0)
PREDICTION_W_K = (1.0, 1.0)
PREDICTION_INPUT = "(0,1)"
# A hand computation rounds to 2 or 3 decimals, so answers within this are right.
PREDICTION_TOLERANCE = 0.01

# Float32 results of different but correct formulas differ by about 1e-7.
ATOL = 1e-5
RTOL = 1e-4

# (batch, tokens, d_k, d_v) of the inputs check_attention tries. The second
# has d_k != d_v, the third has 5 tokens and a d_k large enough for the
# 1/√d_k scale to matter.
ATTENTION_CASES = ((1, 2, 2, 2), (4, 2, 3, 5), (3, 5, 16, 2))


def expected_prediction() -> torch.Tensor:
    """Return the attn_weights (2, 2) of input (0,1) for PREDICTION_W_Q and PREDICTION_W_K."""
    w_q = torch.tensor([PREDICTION_W_Q], dtype=torch.float64)  # (F, d_k)
    w_k = torch.tensor([PREDICTION_W_K], dtype=torch.float64)
    tokens = torch.tensor([[[0.0], [1.0]]], dtype=torch.float64)  # (1, T, F)
    queries, keys = tokens @ w_q, tokens @ w_k  # (1, T, d_k)
    values = keys  # any values: only the weights are needed
    return scaled_dot_product_attention(queries, keys, values)[1][0]


@checker
def check_attention_prediction(predicted_weights) -> CheckResult:
    """Check a prediction of the attn_weights (2, 2) of input (0,1) for W_q = [[1, 2]], W_k = [[1, 1]]."""
    require_answer(predicted_weights, "predicted_weights")
    answer = as_tensor(predicted_weights, "predicted_weights").squeeze()
    if answer.shape != (2, 2):
        raise Failure(
            f"predicted_weights must be 2 × 2 (row i: how much token i attends to tokens 0 and 1), "
            f"got shape {shape_text(answer.shape)}."
        )
    expected = expected_prediction()

    row_sums = answer.sum(dim=-1)
    if not torch.allclose(row_sums, torch.ones(2, dtype=torch.float64), atol=PREDICTION_TOLERANCE):
        raise Failure(f"Each row of attn_weights is a softmax and sums to 1, but your rows sum to {fmt(row_sums)}.")
    if not torch.allclose(answer[0], expected[0], atol=PREDICTION_TOLERANCE):
        raise Failure(
            f"Row 0 should be {fmt(expected[0])}, got {fmt(answer[0])}. "
            "Token 0 is the 0-bit token: its query is 0, so what are its two scores?"
        )
    if torch.allclose(answer[1], expected[1].flip(0), atol=PREDICTION_TOLERANCE):
        raise Failure(
            f"Row 1 is reversed: {fmt(answer[1])}. Column j is key token j, and token 1's score "
            "with its own key (column 1) is the larger one."
        )
    unscaled = torch.softmax(torch.tensor([0.0, 3.0], dtype=torch.float64), dim=0)
    if torch.allclose(answer[1], unscaled, atol=PREDICTION_TOLERANCE):
        raise Failure(f"Row 1 is softmax([0, 3]) = {fmt(unscaled)}: divide the scores by √d_k = √2 first.")
    if not torch.allclose(answer[1], expected[1], atol=PREDICTION_TOLERANCE):
        raise Failure(
            f"Row 1 should be {fmt(expected[1])}, got {fmt(answer[1])}. Token 1 has query [1, 2] and "
            "the keys are [0, 0] and [1, 1]: its scores are [0, 3/√2]."
        )
    return (
        f"Correct: {fmt(expected)}. The 0-bit token's query is 0, so its row is uniform for any weights; "
        "the 1-bit token's scores are [0, 3/√2], and softmax turns them into its row."
    )


def attention_inputs(batch: int, tokens: int, d_k: int, d_v: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Return random queries, keys (B, T, d_k) and values (B, T, d_v) from a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    # A spread of 2 makes the scores large enough that a missing scale shows.
    queries = 2 * torch.randn(batch, tokens, d_k, generator=generator)
    keys = 2 * torch.randn(batch, tokens, d_k, generator=generator)
    values = torch.randn(batch, tokens, d_v, generator=generator)
    return queries, keys, values


def describe_case(batch: int, tokens: int, d_k: int, d_v: int) -> str:
    """Return e.g. "batch 4, 2 tokens, d_k=3, d_v=5"."""
    return f"batch {batch}, {tokens} tokens, d_k={d_k}, d_v={d_v}"


def diagnose_weights(weights: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor, d_v: int) -> str:
    """Return a hint naming the usual mistake whose attn_weights equal weights, or "" if none does."""
    d_k = queries.shape[-1]
    scores = queries @ keys.transpose(1, 2)  # (B, T, d_k) @ (B, d_k, T) -> (B, T, T)
    mistakes = (
        (torch.softmax(scores, dim=-1), "the scores were not divided by √d_k"),
        (torch.softmax(scores / d_k, dim=-1), "the scores were divided by d_k instead of √d_k"),
        (torch.softmax(scores / math.sqrt(d_v), dim=-1), "the scores were divided by √d_v; the scale uses d_k"),
        (
            torch.softmax(scores / math.sqrt(d_k), dim=-2),
            "the softmax ran over the queries (dim=-2); it must run over the keys (dim=-1), so each row sums to 1",
        ),
    )
    for candidate, hint in mistakes:
        if candidate.shape == weights.shape and torch.allclose(weights, candidate, atol=ATOL, rtol=RTOL):
            return f" It looks as if {hint}."
    return ""


@checker
def check_attention(my_attention: Callable) -> CheckResult:
    """Check my_attention(queries, keys, values) -> (output, attn_weights) against xorattn's attention.

    It is called on random inputs of several batch sizes, token counts, d_k
    and d_v (see ATTENTION_CASES), and must not change its inputs in place.
    """
    require_function(my_attention, "check_attention", "my_attention")
    for number, case in enumerate(ATTENTION_CASES, start=1):
        batch, tokens, d_k, d_v = case
        queries, keys, values = attention_inputs(*case, seed=number)
        expected_output, expected_weights = scaled_dot_product_attention(queries, keys, values)
        where = f"case {number} of {len(ATTENTION_CASES)} ({describe_case(*case)})"
        description = f"queries and keys of shape {shape_text(queries.shape)} and values of shape {shape_text(values.shape)}"

        given = (queries.clone(), keys.clone(), values.clone())
        result = call_student(my_attention, description, *given)
        if any(not torch.equal(before, after) for before, after in zip((queries, keys, values), given)):
            raise Failure(
                f"In {where}, my_attention changed its input tensors in place (as `queries /= ...` does). "
                "Compute new tensors instead."
            )
        output, weights = unpack_pair(result, where)

        if same_values(weights, expected_output) and same_values(output, expected_weights):
            raise Failure(f"In {where}, the results come in the order (attn_weights, output); return (output, attn_weights).")
        if weights.shape != expected_weights.shape:
            raise Failure(
                f"In {where}, attn_weights should have shape {shape_text(expected_weights.shape)} (B, T, T), "
                f"got {shape_text(weights.shape)}."
            )
        if not torch.allclose(weights.to(expected_weights.dtype), expected_weights, atol=ATOL, rtol=RTOL):
            hint = diagnose_weights(weights.to(expected_weights.dtype), queries, keys, d_v)
            raise Failure(
                f"In {where}, attn_weights[0] should be {fmt(expected_weights[0])}, got {fmt(weights[0])}.{hint}"
            )
        if output.shape != expected_output.shape:
            raise Failure(
                f"In {where}, output should have shape {shape_text(expected_output.shape)} (B, T, d_v), "
                f"got {shape_text(output.shape)}."
            )
        if not torch.allclose(output.to(expected_output.dtype), expected_output, atol=ATOL, rtol=RTOL):
            raise Failure(
                f"In {where}, attn_weights are right but output[0] should be {fmt(expected_output[0])}, "
                f"got {fmt(output[0])}. The output is attn_weights @ values."
            )
    return (
        f"Correct on all {len(ATTENTION_CASES)} cases, including d_k != d_v, 5 tokens and a batch of 4: "
        "your attention matches xorattn.scaled_dot_product_attention."
    )


def same_values(given: torch.Tensor, expected: torch.Tensor) -> bool:
    """Return whether given has expected's shape and values, within ATOL and RTOL."""
    return given.shape == expected.shape and torch.allclose(given.to(expected.dtype), expected, atol=ATOL, rtol=RTOL)


def unpack_pair(result, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the two tensors of a (output, attn_weights) result, or raise Failure saying what came back."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Failure(f"In {where}, return a pair (output, attn_weights); your function returned a {type(result).__name__}.")
    if not all(isinstance(item, torch.Tensor) for item in result):
        kinds = ", ".join(type(item).__name__ for item in result)
        raise Failure(f"In {where}, output and attn_weights must be tensors, got ({kinds}).")
    return result[0].detach(), result[1].detach()


def seeded_attention(d_k: int, d_v: int, seed: int) -> SelfAttention:
    """Return a SelfAttention(d_in=1) whose weights depend only on seed."""
    attention = SelfAttention(d_in=1, d_k=d_k, d_v=d_v)
    init_linear_layers(attention, torch.Generator().manual_seed(seed))
    return attention


@checker
def check_biased_projections(project_with_bias: Callable) -> CheckResult:
    """Check project_with_bias(tokens, attention, query_bias, key_bias) -> (queries, keys, values).

    The expected queries are tokens W_qᵀ + query_bias, the keys tokens W_kᵀ +
    key_bias and the values tokens W_vᵀ, with no bias. It is tried on the
    four XOR inputs and on random tokens, with d_k = 2 and with d_k = 3, d_v = 4.
    """
    require_function(project_with_bias, "check_biased_projections", "project_with_bias")
    xor_tokens, _ = xor_dataset()
    random_tokens = torch.randn(3, 2, 1, generator=torch.Generator().manual_seed(5))
    cases = ((xor_tokens, 2, 2, "the four XOR inputs"), (random_tokens, 3, 4, "random tokens of shape (3, 2, 1)"))

    for seed, (tokens, d_k, d_v, what) in enumerate(cases):
        attention = seeded_attention(d_k, d_v, seed)
        generator = torch.Generator().manual_seed(100 + seed)
        query_bias, key_bias = torch.randn(d_k, generator=generator), torch.randn(d_k, generator=generator)
        with torch.no_grad():
            plain_queries, plain_keys, plain_values = attention.project(tokens)
        expected = (plain_queries + query_bias, plain_keys + key_bias, plain_values)

        where = f"{what} (d_k={d_k}, d_v={d_v})"
        with torch.no_grad():
            result = call_student(project_with_bias, f"{where} and query_bias {fmt(query_bias)}", tokens, attention, query_bias, key_bias)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise Failure(f"For {where}, return (queries, keys, values); your function returned a {type(result).__name__}.")
        names = ("queries", "keys", "values")
        for name, given, wanted in zip(names, result, expected):
            if not isinstance(given, torch.Tensor):
                raise Failure(f"For {where}, {name} must be a tensor, got a {type(given).__name__}.")
            given = given.detach()
            if given.shape != wanted.shape:
                raise Failure(f"For {where}, {name} should have shape {shape_text(wanted.shape)}, got {shape_text(given.shape)}.")
        queries, keys, values = (item.detach() for item in result)
        diagnose_biases(queries, keys, values, expected, (plain_queries, plain_keys, plain_values), (query_bias, key_bias), where)
    return (
        "Correct: queries and keys now carry their biases and the values do not. "
        "A 0-bit token's query is query_bias instead of 0, so its row of attn_weights no longer has to be uniform."
    )


def diagnose_biases(queries, keys, values, expected, plain, biases, where: str) -> None:
    """Raise Failure naming which projection is wrong and how, or return if all three are right."""
    expected_queries, expected_keys, expected_values = expected
    plain_queries, plain_keys, plain_values = plain
    query_bias, key_bias = biases

    def close(a, b):
        return torch.allclose(a, b, atol=ATOL, rtol=RTOL)

    if close(queries, plain_keys + key_bias) and close(keys, plain_queries + query_bias):
        raise Failure(f"For {where}, queries and keys are swapped: queries use W_q and query_bias, keys W_k and key_bias.")
    if close(queries, plain_queries + key_bias) or close(keys, plain_keys + query_bias):
        raise Failure(f"For {where}, the biases are swapped: query_bias belongs to the queries, key_bias to the keys.")
    for name, given, wanted, without in (
        ("queries", queries, expected_queries, plain_queries),
        ("keys", keys, expected_keys, plain_keys),
    ):
        if close(given, without):
            raise Failure(f"For {where}, the {name} have no bias added: they equal the bias-free projection.")
        if not close(given, wanted):
            raise Failure(f"For {where}, {name}[0] should be {fmt(wanted[0])}, got {fmt(given[0])}.")
    if not close(values, expected_values):
        raise Failure(
            f"For {where}, values[0] should be {fmt(expected_values[0])} (tokens W_vᵀ, no bias), got {fmt(values[0])}."
        )
