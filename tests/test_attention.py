"""Tests of scaled dot-product attention and the SelfAttention layer.

The reference is PyTorch's own torch.nn.functional.scaled_dot_product_attention.
It returns only the output. With the identity matrix as the values, that
output equals the attention weights, so it is a reference for those too.
"""

import math

import pytest
import torch
from torch.nn import functional

from xorattn.attention import SelfAttention, scaled_dot_product_attention
from xorattn.data import xor_dataset
from xorattn.model import init_linear_layers

# (B, T, d_k, d_v): the XOR shape, d_k != d_v both ways, one token, longer sequences.
SHAPES = [(4, 2, 2, 2), (3, 4, 3, 5), (2, 3, 5, 3), (1, 1, 4, 2), (5, 7, 8, 8)]


def random_qkv(batch, n_tokens, d_k, d_v, seed=0, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    queries = scale * torch.randn(batch, n_tokens, d_k, generator=generator, dtype=torch.float64)
    keys = scale * torch.randn(batch, n_tokens, d_k, generator=generator, dtype=torch.float64)
    values = torch.randn(batch, n_tokens, d_v, generator=generator, dtype=torch.float64)
    return queries, keys, values


def seeded_layer(d_in=1, d_k=2, d_v=2, seed=0, dtype=torch.float32):
    """A SelfAttention layer whose weights come from a seeded generator, not the global one."""
    layer = SelfAttention(d_in=d_in, d_k=d_k, d_v=d_v).to(dtype)
    init_linear_layers(layer, torch.Generator().manual_seed(seed))
    return layer


def reference_weights(queries, keys):
    """Attention weights from PyTorch's implementation, via identity values."""
    batch, n_tokens, _ = keys.shape
    identity = torch.eye(n_tokens, dtype=keys.dtype).expand(batch, n_tokens, n_tokens)
    return functional.scaled_dot_product_attention(queries, keys, identity)


@pytest.mark.parametrize("shape", SHAPES)
def test_output_matches_pytorch(shape):
    queries, keys, values = random_qkv(*shape)
    output, _ = scaled_dot_product_attention(queries, keys, values)
    expected = functional.scaled_dot_product_attention(queries, keys, values)
    torch.testing.assert_close(output, expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_weights_match_pytorch(shape):
    queries, keys, values = random_qkv(*shape)
    _, attn_weights = scaled_dot_product_attention(queries, keys, values)
    torch.testing.assert_close(attn_weights, reference_weights(queries, keys))


@pytest.mark.parametrize("shape", SHAPES)
def test_output_shapes(shape):
    batch, n_tokens, d_k, d_v = shape
    output, attn_weights = scaled_dot_product_attention(*random_qkv(*shape))
    assert output.shape == (batch, n_tokens, d_v)
    assert attn_weights.shape == (batch, n_tokens, n_tokens)


@pytest.mark.parametrize("shape", SHAPES)
def test_weight_rows_sum_to_one(shape):
    _, attn_weights = scaled_dot_product_attention(*random_qkv(*shape, scale=3.0))
    torch.testing.assert_close(attn_weights.sum(dim=-1), torch.ones(attn_weights.shape[:2], dtype=torch.float64))
    assert (attn_weights >= 0).all()


def test_gradients_match_pytorch():
    inputs = [t.requires_grad_() for t in random_qkv(3, 4, 3, 5, seed=1)]
    reference_inputs = [t.detach().clone().requires_grad_() for t in inputs]
    upstream = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    output, _ = scaled_dot_product_attention(*inputs)
    (output * upstream).sum().backward()
    expected = functional.scaled_dot_product_attention(*reference_inputs)
    (expected * upstream).sum().backward()

    for tensor, reference in zip(inputs, reference_inputs):
        torch.testing.assert_close(tensor.grad, reference.grad)


def test_layer_scales_by_sqrt_d_k():
    # d_in = d_model = 4, d_k = 3, d_v = 5: the three candidate scales all differ.
    d_model, d_k, d_v = 4, 3, 5
    layer = seeded_layer(d_model, d_k, d_v, seed=3, dtype=torch.float64)
    generator = torch.Generator().manual_seed(4)
    # Inputs of size 3 give scores of several units, where the scales' softmaxes clearly differ.
    x = 3.0 * torch.randn(2, 3, d_model, generator=generator, dtype=torch.float64)

    _, attn_weights = layer(x)
    queries, keys, _ = layer.project(x)
    attn_scores = queries @ keys.transpose(1, 2)

    def weights_with_scale(size):
        return torch.softmax(attn_scores / math.sqrt(size), dim=-1)

    torch.testing.assert_close(attn_weights, weights_with_scale(d_k))
    assert not torch.allclose(attn_weights, weights_with_scale(d_v), atol=1e-3)
    assert not torch.allclose(attn_weights, weights_with_scale(d_model), atol=1e-3)
    assert not torch.allclose(attn_weights, weights_with_scale(1), atol=1e-3)


def test_layer_matches_pytorch():
    layer = seeded_layer(d_k=3, d_v=5)
    tokens, _ = xor_dataset()
    output, attn_weights = layer(tokens)
    queries, keys, values = layer.project(tokens)
    torch.testing.assert_close(output, functional.scaled_dot_product_attention(queries, keys, values))
    torch.testing.assert_close(attn_weights, reference_weights(queries, keys))


def test_layer_projection_shapes():
    layer = seeded_layer(d_k=3, d_v=5)
    tokens, _ = xor_dataset()
    queries, keys, values = layer.project(tokens)
    assert queries.shape == (4, 2, 3)
    assert keys.shape == (4, 2, 3)
    assert values.shape == (4, 2, 5)


def test_layer_has_no_biases():
    layer = seeded_layer(d_k=3, d_v=5)
    for linear in (layer.W_q, layer.W_k, layer.W_v):
        assert linear.bias is None


def test_zero_bit_token_is_zero():
    layer = seeded_layer(d_k=3, d_v=5)
    tokens, _ = xor_dataset()
    queries, keys, values = layer.project(tokens)
    zero_bit = tokens[..., 0] == 0  # (4, 2)

    assert zero_bit.sum() == 4
    assert torch.equal(queries[zero_bit], torch.zeros(4, 3))
    assert torch.equal(keys[zero_bit], torch.zeros(4, 3))
    assert torch.equal(values[zero_bit], torch.zeros(4, 5))
    assert (queries[~zero_bit].abs().sum(dim=-1) > 0).all()


def test_zero_bit_query_attends_uniformly():
    # A zero query gives equal scores to every key, so its weights are 1/T each.
    layer = seeded_layer()
    tokens, _ = xor_dataset()
    _, attn_weights = layer(tokens)
    zero_bit = tokens[..., 0] == 0
    assert torch.equal(attn_weights[zero_bit], torch.full((4, 2), 0.5))


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((4, 2), r"tokens must have shape \(batch, tokens, 1\), got \(4, 2\) instead"),
        ((4, 2, 3), r"tokens must have shape \(batch, tokens, 1\), got \(4, 2, 3\) instead"),
        ((2, 4, 2, 1), r"tokens must have shape \(batch, tokens, 1\), got \(2, 4, 2, 1\) instead"),
    ],
)
def test_layer_rejects_wrong_shape(shape, message):
    layer = seeded_layer()
    with pytest.raises(ValueError, match=message):
        layer(torch.zeros(shape))


def test_layer_rejects_non_finite():
    layer = seeded_layer()
    tokens, _ = xor_dataset()
    tokens[2, 1, 0] = math.nan
    with pytest.raises(ValueError, match="tokens must be finite, got a value of nan"):
        layer(tokens)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"d_k": 0}, "d_k must be an integer >= 1, got 0"),
        ({"d_v": -2}, "d_v must be an integer >= 1, got -2"),
        ({"d_in": 0}, "d_in must be an integer >= 1, got 0"),
        ({"d_k": 2.0}, "d_k must be an integer >= 1, got 2.0"),
        ({"d_v": True}, "d_v must be an integer >= 1, got True"),
    ],
)
def test_layer_rejects_bad_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        SelfAttention(**sizes)
