"""Scaled dot-product self-attention, written out step by step.

Shape letters: B batch, T tokens, F features per token, d_k query/key size,
d_v value size.
"""

import math

import torch
from torch import nn

from .data import check_finite


def scaled_dot_product_attention(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix the values with softmax(Q Kᵀ / √d_k).

    Parameters
    ----------
    queries, keys : Tensor of shape (B, T, d_k)
    values : Tensor of shape (B, T, d_v)

    Returns
    -------
    output : Tensor of shape (B, T, d_v)
        Row i is the attention-weighted average of the value vectors for token i.
    attn_weights : Tensor of shape (B, T, T)
        Row i contains how much token i attends to each token. Rows sum to 1.
    """
    d_k = queries.shape[-1]

    # torch.bmm is the batched form of Q @ Kᵀ; it builds a smaller autograd
    # graph than the general @ operator, which matters in a 2000-step loop.
    attn_scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d_k)  # (B, T, T)
    attn_weights = torch.softmax(attn_scores, dim=-1)  # softmax over the keys

    output = torch.bmm(attn_weights, values)  # (B, T, T) @ (B, T, d_v) -> (B, T, d_v)
    return output, attn_weights


class SelfAttention(nn.Module):
    """Single-head self-attention with bias-free query, key and value maps.

    Without biases a token whose features are all zero (a 0 bit) has a zero
    query, key and value.

    Parameters
    ----------
    d_in : int, default 1
        Features per input token.
    d_k : int, default 2
        Size of queries and keys.
    d_v : int, default 2
        Size of values, and so of the output per token.
    """

    def __init__(self, d_in: int = 1, d_k: int = 2, d_v: int = 2):
        super().__init__()
        for name, size in (("d_in", d_in), ("d_k", d_k), ("d_v", d_v)):
            check_dimension(size, name)
        self.d_k = d_k
        self.d_v = d_v
        self.W_q = nn.Linear(d_in, d_k, bias=False)
        self.W_k = nn.Linear(d_in, d_k, bias=False)
        self.W_v = nn.Linear(d_in, d_v, bias=False)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the queries (B, T, d_k), keys (B, T, d_k) and values (B, T, d_v) of x (B, T, F)."""
        return self.W_q(x), self.W_k(x), self.W_v(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the output (B, T, d_v) and attention weights (B, T, T) for tokens x (B, T, F)."""
        check_tokens(x, self.W_q.in_features)
        queries, keys, values = self.project(x)
        return scaled_dot_product_attention(queries, keys, values)


def check_tokens(x: torch.Tensor, d_in: int) -> None:
    """Raise ValueError unless x is a finite tensor of shape (B, T, d_in)."""
    if x.ndim != 3 or x.shape[-1] != d_in:
        raise ValueError(
            f"tokens must have shape (batch, tokens, {d_in}), got {tuple(x.shape)} instead"
        )
    check_finite(x, "tokens")


def check_dimension(size: int, name: str) -> None:
    """Raise ValueError unless size is a whole number of at least 1."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {size!r}")
