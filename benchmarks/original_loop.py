"""A plain re-implementation of the original experiment's training loop, as the speed baseline.

It keeps the original's habits on purpose. It calls model.train() every
epoch and uses Adam's default implementation, which on a CPU updates one
parameter at a time. It rebuilds the scale factor as a tensor on every
forward pass and reads the loss back as a Python float every epoch. The layers are created in the same order
and with the same default initialisation as in xorattn, so with the same seed
both start from the same weights.
"""

import torch
import torch.nn.functional as F
from torch import nn


class OriginalSelfAttention(nn.Module):
    """Single-head self-attention with d_k = d_v = d_model, as the original wrote it."""

    def __init__(self, d_model: int = 2):
        super().__init__()
        self.d_model = d_model
        self.query = nn.Linear(1, d_model, bias=False)
        self.key = nn.Linear(1, d_model, bias=False)
        self.value = nn.Linear(1, d_model, bias=False)

    def forward(self, x):
        q = self.query(x)
        k = self.key(x)
        v = self.value(x)
        scale = torch.sqrt(torch.tensor(self.d_model, dtype=torch.float32))
        scores = torch.matmul(q, k.transpose(-2, -1)) / scale
        weights = F.softmax(scores, dim=-1)
        return torch.matmul(weights, v), weights


class OriginalModel(nn.Module):
    """Attention, then tanh, then two linear layers; returns (prediction, hidden, weights)."""

    def __init__(self, d_model: int = 2):
        super().__init__()
        self.attention = OriginalSelfAttention(d_model)
        self.fc1 = nn.Linear(2 * d_model, 2)
        self.fc2 = nn.Linear(2, 1)

    def forward(self, x):
        attended, weights = self.attention(x)
        hidden = self.fc1(torch.tanh(attended.reshape(x.shape[0], -1)))
        return self.fc2(hidden), hidden, weights


def train_original(model: OriginalModel, epochs: int = 2000, lr: float = 0.1) -> list[float]:
    """Train as the original did and return the loss of every epoch."""
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]).unsqueeze(-1)
    y = torch.tensor([[-1.0], [1.0], [1.0], [-1.0]])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.MSELoss()
    losses = []
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        prediction, _, _ = model(x)
        loss = criterion(prediction, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
