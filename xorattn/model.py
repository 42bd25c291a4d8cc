"""The XOR model: token mixing, then a small readout.

    tokens (B, 2, 1) -> mixing -> (B, 2, d_v) -> flatten -> tanh -> (B, 2 d_v)
    -> Linear -> representation (B, d_repr) -> Linear -> prediction (B, 1)

There is no nonlinearity between the representation and the prediction, so
the prediction is an affine function of the representation: the model can
only solve XOR if the representation makes the four inputs linearly separable.
"""

import math
from typing import NamedTuple

import torch
from torch import nn

from .attention import SelfAttention, check_tokens, scaled_dot_product_attention
from .config import Config


class ModelOutput(NamedTuple):
    """Outputs of one forward pass, for training and for teaching."""

    prediction: torch.Tensor  # (B, 1), trained towards the -1/+1 targets
    attn_weights: torch.Tensor  # (B, T, T), rows sum to 1
    representation: torch.Tensor  # (B, d_repr), input of the final linear layer


class XorAttentionModel(nn.Module):
    """Self-attention over the two bit tokens followed by a small readout.

    Parameters
    ----------
    config : Config, default Config()
        Sizes and token mixing. Training settings in it are not used here.
    generator : torch.Generator, optional
        Source of the initial weights. Two models built from generators with
        the same seed are identical. Without one, PyTorch's global generator
        is used.
    """

    def __init__(self, config: Config = Config(), generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        self.n_tokens = 2
        self.attention = SelfAttention(d_in=1, d_k=config.d_k, d_v=config.d_v)
        self.hidden = nn.Linear(self.n_tokens * config.d_v, config.d_repr)
        self.output = nn.Linear(config.d_repr, 1)
        init_linear_layers(self, generator)

    def mix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mixed tokens (B, T, d_v) and the mixing weights (B, T, T)."""
        if self.config.mixing == "attention":
            return scaled_dot_product_attention(*self.attention.project(x))

        values = self.attention.W_v(x)  # (B, T, d_v)
        batch, n_tokens, _ = values.shape
        if self.config.mixing == "uniform":
            weights = torch.full((n_tokens, n_tokens), 1.0 / n_tokens, dtype=x.dtype)
        else:
            weights = torch.eye(n_tokens, dtype=x.dtype)
        weights = weights.expand(batch, n_tokens, n_tokens)
        return weights @ values, weights

    def forward(self, x: torch.Tensor) -> ModelOutput:
        """Run the model on tokens x of shape (B, 2, 1)."""
        check_tokens(x, d_in=1)
        if x.shape[1] != self.n_tokens:
            raise ValueError(f"tokens must have shape (batch, 2, 1), got {tuple(x.shape)} instead")
        return self.compute(x)

    def compute(self, x: torch.Tensor) -> ModelOutput:
        """Run the model without checking x, for training loops that checked it once."""
        mixed, attn_weights = self.mix(x)  # (B, 2, d_v), (B, 2, 2)
        features = torch.tanh(mixed.flatten(start_dim=1))  # (B, 2 d_v)
        representation = self.hidden(features)  # (B, d_repr)
        prediction = self.output(representation)  # (B, 1)
        return ModelOutput(prediction, attn_weights, representation)

    def attention_parameters(self) -> list[nn.Parameter]:
        """Return the query, key and value weights, the parameters that freezing keeps fixed."""
        return list(self.attention.parameters())


def build_model(config: Config = Config(), seed: int = 0) -> XorAttentionModel:
    """Build a model whose initial weights depend only on config and seed."""
    generator = torch.Generator().manual_seed(seed)
    return XorAttentionModel(config, generator)


def init_linear_layers(module: nn.Module, generator: torch.Generator | None) -> None:
    """Initialise every nn.Linear in module as PyTorch does, drawing from generator.

    PyTorch's default is kaiming_uniform_ with a = √5 for the weight, which is
    U(-1/√fan_in, 1/√fan_in), and the same range for the bias.
    """
    for layer in module.modules():
        if not isinstance(layer, nn.Linear):
            continue
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        if layer.bias is not None:
            bound = 1.0 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

