"""Self-attention on the 2-D XOR problem: data, attention layer, model and training."""

from .attention import SelfAttention, scaled_dot_product_attention
from .config import MIXINGS, SOLVE_LOSS_THRESHOLD, Config
from .data import XOR_BITS, XOR_LABELS, XOR_TARGETS, bits_to_tokens, xor_dataset
from .model import ModelOutput, XorAttentionModel, build_model
from .training import TrainingDivergedError, TrainResult, fit, train
from .variants import CONFIGS, VARIANTS, get_config, variant_config

__all__ = [
    "CONFIGS",
    "MIXINGS",
    "SOLVE_LOSS_THRESHOLD",
    "XOR_BITS",
    "XOR_LABELS",
    "XOR_TARGETS",
    "Config",
    "ModelOutput",
    "SelfAttention",
    "TrainResult",
    "TrainingDivergedError",
    "VARIANTS",
    "XorAttentionModel",
    "bits_to_tokens",
    "build_model",
    "fit",
    "get_config",
    "scaled_dot_product_attention",
    "train",
    "variant_config",
    "xor_dataset",
]
