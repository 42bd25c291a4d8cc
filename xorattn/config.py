"""Experiment settings: model sizes, token mixing and training hyperparameters."""

import math
from dataclasses import dataclass

from .attention import check_dimension

# How the two tokens are mixed before the readout.
#   "attention": softmax(Q Kᵀ / √d_k) weights, computed from the tokens
#   "uniform":   every token takes the plain average of all value vectors
#   "identity":  every token keeps its own value vector (no mixing)
MIXINGS = ("attention", "uniform", "identity")

# XOR counts as solved when all four predictions have the target's sign and
# the mean squared error is below this value (a typical error of about 0.1).
SOLVE_LOSS_THRESHOLD = 0.01


@dataclass(frozen=True)
class Config:
    """One experiment: the model's shape and how it is trained.

    The defaults reproduce the original experiment: d_k = d_v = 2, a 2-D
    representation, trainable attention, Adam with learning rate 0.1 for 2000
    full-batch epochs on the mean squared error.

    Attributes
    ----------
    d_k : int
        Size of queries and keys.
    d_v : int
        Size of values. Each input gives 2 * d_v features to the readout.
    d_repr : int
        Size of the representation that the final linear layer reads.
    mixing : str
        One of MIXINGS.
    freeze_attention : bool
        Keep the query, key and value maps at their initial values.
    epochs : int
        Number of full-batch training steps.
    lr : float
        Adam learning rate.
    weight_decay : float
        Decoupled weight decay (AdamW); 0 gives plain Adam.
    solve_threshold : float
        Loss below which a run with all four signs right counts as solved.
    """

    d_k: int = 2
    d_v: int = 2
    d_repr: int = 2
    mixing: str = "attention"
    freeze_attention: bool = False
    epochs: int = 2000
    lr: float = 0.1
    weight_decay: float = 0.0
    solve_threshold: float = SOLVE_LOSS_THRESHOLD

    def __post_init__(self):
        for name in ("d_k", "d_v", "d_repr"):
            check_dimension(getattr(self, name), name)
        if self.mixing not in MIXINGS:
            raise ValueError(f"mixing must be one of {', '.join(MIXINGS)}, got {self.mixing!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        check_positive(self.lr, "lr")
        check_positive(self.solve_threshold, "solve_threshold")
        check_non_negative(self.weight_decay, "weight_decay")


def check_non_negative(value: float, name: str) -> None:
    """Raise ValueError unless value is a finite number of at least 0."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_positive(value: float, name: str) -> None:
    """Raise ValueError unless value is a finite number above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
