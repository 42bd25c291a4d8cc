"""The XOR data set, with each input bit as one token.

Shape letters used across the package:
    B  batch size (4 for the XOR data set)
    T  number of tokens per input (2, one per bit)
    F  features per token (1, the bit value)
"""

import torch

# The four inputs in the order (0,0), (0,1), (1,0), (1,1).
XOR_BITS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))

# XOR targets on a symmetric scale: -1 where the bits agree, +1 where they differ.
XOR_TARGETS = (-1.0, 1.0, 1.0, -1.0)

# Labels for printing and plotting, in the same order as XOR_BITS.
XOR_LABELS = ("(0,0)", "(0,1)", "(1,0)", "(1,1)")


def xor_dataset(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the four XOR inputs as tokens and their targets.

    Returns
    -------
    tokens : Tensor of shape (4, 2, 1)
        One token per bit, one feature per token.
    targets : Tensor of shape (4, 1)
        -1 for (0,0) and (1,1), +1 for (0,1) and (1,0).
    """
    tokens = bits_to_tokens(torch.tensor(XOR_BITS, dtype=dtype))
    targets = torch.tensor(XOR_TARGETS, dtype=dtype).unsqueeze(-1)
    return tokens, targets


def bits_to_tokens(bits: torch.Tensor) -> torch.Tensor:
    """Turn inputs of shape (B, 2) into tokens of shape (B, 2, 1).

    The values need not be 0 or 1: plots evaluate the model on a continuous grid.
    """
    if bits.ndim != 2 or bits.shape[1] != 2:
        raise ValueError(f"bits must have shape (batch, 2), got {tuple(bits.shape)} instead")
    check_finite(bits, "bits")
    return bits.unsqueeze(-1)


def check_finite(values: torch.Tensor, name: str) -> None:
    """Raise ValueError if `values` contains NaN or an infinity."""
    if not torch.isfinite(values).all():
        bad = values[~torch.isfinite(values)].flatten()[0].item()
        raise ValueError(f"{name} must be finite, got a value of {bad}")
