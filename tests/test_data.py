"""Tests of the XOR data set and of turning bits into tokens."""

import math

import pytest
import torch

from xorattn.data import XOR_BITS, XOR_LABELS, XOR_TARGETS, bits_to_tokens, check_finite, xor_dataset


def test_dataset_shapes():
    tokens, targets = xor_dataset()
    assert tokens.shape == (4, 2, 1)
    assert targets.shape == (4, 1)


def test_dataset_tokens_are_bits():
    tokens, _ = xor_dataset()
    assert torch.equal(tokens[:, :, 0], torch.tensor(XOR_BITS))


def test_dataset_targets_are_xor():
    tokens, targets = xor_dataset()
    bits = tokens[:, :, 0].int()
    expected = torch.where((bits[:, 0] ^ bits[:, 1]) == 1, 1.0, -1.0)
    assert torch.equal(targets[:, 0], expected)
    assert targets[:, 0].tolist() == list(XOR_TARGETS)


def test_dataset_dtype():
    tokens, targets = xor_dataset(dtype=torch.float64)
    assert tokens.dtype == torch.float64
    assert targets.dtype == torch.float64
    assert xor_dataset()[0].dtype == torch.float32


def test_labels_match_bits():
    expected = [f"({int(a)},{int(b)})" for a, b in XOR_BITS]
    assert list(XOR_LABELS) == expected


def test_bits_to_tokens_continuous_values():
    bits = torch.tensor([[0.25, -0.5], [1.5, 0.0], [0.0, 1.0]])
    tokens = bits_to_tokens(bits)
    assert tokens.shape == (3, 2, 1)
    assert torch.equal(tokens[:, :, 0], bits)


@pytest.mark.parametrize("shape", [(4,), (4, 3), (4, 1), (4, 2, 1)])
def test_bits_to_tokens_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"bits must have shape \(batch, 2\), got"):
        bits_to_tokens(torch.zeros(shape))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_bits_to_tokens_non_finite(bad):
    bits = torch.tensor([[0.0, 1.0], [bad, 0.0]])
    with pytest.raises(ValueError, match=f"bits must be finite, got a value of {bad}"):
        bits_to_tokens(bits)


def test_check_finite_accepts_finite():
    check_finite(torch.tensor([0.0, -1e30, 1e30]), "values")
