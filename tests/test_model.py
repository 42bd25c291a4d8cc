"""Tests of the XOR model: output shapes, token mixings, seeding and input checks."""

import math

import pytest
import torch
from torch.nn import functional

from xorattn.config import Config
from xorattn.data import bits_to_tokens, xor_dataset
from xorattn.model import ModelOutput, XorAttentionModel, build_model

CONFIGS = [
    Config(),
    Config(d_k=3, d_v=5, d_repr=4),
    Config(d_k=1, d_v=1, d_repr=1),
    Config(mixing="uniform", d_v=3),
    Config(mixing="identity", d_repr=3),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_output_shapes(config):
    tokens, _ = xor_dataset()
    output = build_model(config, seed=0)(tokens)
    assert isinstance(output, ModelOutput)
    assert output.prediction.shape == (4, 1)
    assert output.attn_weights.shape == (4, 2, 2)
    assert output.representation.shape == (4, config.d_repr)


def test_output_shapes_other_batch():
    bits = torch.rand(7, 2, generator=torch.Generator().manual_seed(0))
    output = build_model(Config(d_repr=3), seed=0)(bits_to_tokens(bits))
    assert output.prediction.shape == (7, 1)
    assert output.attn_weights.shape == (7, 2, 2)
    assert output.representation.shape == (7, 3)


def test_layer_sizes():
    model = build_model(Config(d_k=3, d_v=5, d_repr=4), seed=0)
    assert model.attention.W_q.weight.shape == (3, 1)
    assert model.attention.W_k.weight.shape == (3, 1)
    assert model.attention.W_v.weight.shape == (5, 1)
    assert model.hidden.weight.shape == (4, 10)
    assert model.output.weight.shape == (1, 4)


def test_prediction_is_affine_in_representation():
    tokens, _ = xor_dataset()
    model = build_model(Config(), seed=0)
    output = model(tokens)
    expected = functional.linear(output.representation, model.output.weight, model.output.bias)
    torch.testing.assert_close(output.prediction, expected)


def test_attention_weights_match_layer():
    tokens, _ = xor_dataset()
    model = build_model(Config(d_k=3, d_v=2), seed=4)
    _, expected = model.attention(tokens)
    assert torch.equal(model(tokens).attn_weights, expected)


def test_forward_equals_compute():
    tokens, _ = xor_dataset()
    model = build_model(Config(), seed=2)
    for checked, unchecked in zip(model(tokens), model.compute(tokens)):
        assert torch.equal(checked, unchecked)


def test_attention_rows_sum_to_one():
    bits = 3.0 * torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    attn_weights = build_model(Config(), seed=0)(bits_to_tokens(bits)).attn_weights
    torch.testing.assert_close(attn_weights.sum(dim=-1), torch.ones(50, 2))


def test_uniform_mixing_weights():
    tokens, _ = xor_dataset()
    attn_weights = build_model(Config(mixing="uniform"), seed=0)(tokens).attn_weights
    assert torch.equal(attn_weights, torch.full((4, 2, 2), 0.5))


def test_uniform_mixing_averages_values():
    tokens, _ = xor_dataset()
    model = build_model(Config(mixing="uniform", d_v=3), seed=0)
    mixed, _ = model.mix(tokens)
    values = model.attention.W_v(tokens)  # (4, 2, 3)
    expected = values.mean(dim=1, keepdim=True).expand(4, 2, 3)
    torch.testing.assert_close(mixed, expected)


def test_identity_mixing_weights():
    tokens, _ = xor_dataset()
    attn_weights = build_model(Config(mixing="identity"), seed=0)(tokens).attn_weights
    assert torch.equal(attn_weights, torch.eye(2).expand(4, 2, 2))


def test_identity_mixing_keeps_values():
    tokens, _ = xor_dataset()
    model = build_model(Config(mixing="identity", d_v=3), seed=0)
    mixed, _ = model.mix(tokens)
    assert torch.equal(mixed, model.attention.W_v(tokens))


def test_same_seed_same_weights():
    first = build_model(Config(d_k=3, d_v=5), seed=7).state_dict()
    second = build_model(Config(d_k=3, d_v=5), seed=7).state_dict()
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_different_seeds_differ():
    first = build_model(Config(), seed=0).state_dict()
    second = build_model(Config(), seed=1).state_dict()
    for name in first:
        assert not torch.equal(first[name], second[name]), name


def test_build_ignores_global_rng():
    torch.manual_seed(123)
    first = build_model(Config(), seed=5).state_dict()
    torch.manual_seed(456)
    second = build_model(Config(), seed=5).state_dict()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_init_within_default_bounds():
    # PyTorch's default init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    model = build_model(Config(d_v=5, d_repr=3), seed=0)
    for layer in (model.attention.W_q, model.hidden, model.output):
        bound = 1 / math.sqrt(layer.in_features)
        assert layer.weight.abs().max() <= bound
    assert model.hidden.bias.abs().max() <= 1 / math.sqrt(10)


def test_generator_constructor_matches_build():
    generator = torch.Generator().manual_seed(3)
    direct = XorAttentionModel(Config(), generator).state_dict()
    built = build_model(Config(), seed=3).state_dict()
    for name in built:
        assert torch.equal(direct[name], built[name]), name


def test_attention_parameters():
    model = build_model(Config(), seed=0)
    expected = [model.attention.W_q.weight, model.attention.W_k.weight, model.attention.W_v.weight]
    parameters = model.attention_parameters()
    assert len(parameters) == 3
    for parameter, reference in zip(parameters, expected):
        assert parameter is reference


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((4, 2), r"tokens must have shape \(batch, tokens, 1\), got \(4, 2\) instead"),
        ((4, 2, 2), r"tokens must have shape \(batch, tokens, 1\), got \(4, 2, 2\) instead"),
        ((4, 3, 1), r"tokens must have shape \(batch, 2, 1\), got \(4, 3, 1\) instead"),
        ((4, 1, 1), r"tokens must have shape \(batch, 2, 1\), got \(4, 1, 1\) instead"),
    ],
)
def test_forward_rejects_wrong_shape(shape, message):
    model = build_model(Config(), seed=0)
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_forward_rejects_non_finite(bad):
    model = build_model(Config(), seed=0)
    tokens, _ = xor_dataset()
    tokens[1, 0, 0] = bad
    with pytest.raises(ValueError, match=f"tokens must be finite, got a value of {bad}"):
        model(tokens)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"d_k": 0}, "d_k must be an integer >= 1, got 0"),
        ({"d_v": -1}, "d_v must be an integer >= 1, got -1"),
        ({"d_repr": 0}, "d_repr must be an integer >= 1, got 0"),
        ({"d_repr": 1.5}, "d_repr must be an integer >= 1, got 1.5"),
        ({"d_k": False}, "d_k must be an integer >= 1, got False"),
    ],
)
def test_config_rejects_bad_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        Config(**sizes)


@pytest.mark.parametrize("mixing", ["softmax", "Attention", "", None])
def test_config_rejects_unknown_mixing(mixing):
    with pytest.raises(ValueError, match=f"mixing must be one of attention, uniform, identity, got {mixing!r}"):
        Config(mixing=mixing)
