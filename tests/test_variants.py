"""Tests of the named variants and configurations, and of the claims the ablation lesson makes about them."""

import pytest
import torch

from xorattn import Config, build_model
from xorattn.sweep import train_sweep
from xorattn.variants import CONFIGS, VARIANTS, get_config, variant_config


@pytest.mark.parametrize(
    ("name", "mixing", "freeze_attention"),
    [
        ("trainable", "attention", False),
        ("frozen", "attention", True),
        ("uniform", "uniform", False),
        ("identity", "identity", False),
    ],
)
def test_variant_config_sets_mixing_and_freezing(name, mixing, freeze_attention):
    config = variant_config(name)
    assert config.mixing == mixing
    assert config.freeze_attention == freeze_attention


def test_variant_config_keeps_base_settings():
    base = Config(d_v=5, epochs=300, lr=0.02, weight_decay=0.1, freeze_attention=True)
    config = variant_config("uniform", base)
    assert (config.d_v, config.epochs, config.lr, config.weight_decay) == (5, 300, 0.02, 0.1)
    assert not config.freeze_attention


def test_trainable_variant_is_the_original_model():
    assert variant_config("trainable") == Config()


def test_variant_config_rejects_unknown_name():
    with pytest.raises(ValueError, match="variant must be one of trainable, frozen, uniform, identity, got 'none'"):
        variant_config("none")


def test_named_configs():
    assert get_config("original") == Config()
    improved = get_config("improved")
    assert (improved.d_v, improved.lr) == (16, 0.005)
    # The lesson's plots rely on the 2-D representation and the 2-D queries and keys.
    assert (improved.d_repr, improved.d_k) == (2, 2)
    assert set(CONFIGS) == {"original", "improved"}


def test_get_config_rejects_unknown_name():
    with pytest.raises(ValueError, match="config must be one of original, improved, got 'fast'"):
        get_config("fast")


@pytest.mark.parametrize("seed", range(5))
def test_variants_start_from_the_same_weights(seed):
    reference = build_model(variant_config("trainable"), seed).state_dict()
    for name in VARIANTS[1:]:
        weights = build_model(variant_config(name), seed).state_dict()
        for key, values in reference.items():
            assert torch.equal(weights[key], values), f"{name} {key}"


def test_identity_never_solves():
    """Without mixing the prediction is a(x1) + b(x2), whose best fit to XOR has a loss of exactly 1."""
    result = train_sweep({"identity": variant_config("identity")}, 200)["identity"]
    assert not result.solved.any()
    assert result.final_loss.min() > 0.999


@pytest.mark.parametrize("variant", ["trainable", "frozen", "uniform"])
def test_single_value_channel_never_solves(variant):
    """With d_v = 1 each token gives tanh one channel, too few to fit XOR with a linear readout."""
    config = variant_config(variant, Config(d_v=1))
    result = train_sweep({variant: config}, 200)[variant]
    assert not result.solved.any()


def test_improved_config_solves_nearly_every_seed():
    result = train_sweep({"trainable": get_config("improved")}, 200)["trainable"]
    assert result.solved.float().mean() >= 0.98


def test_package_exports_named_configs():
    import xorattn

    assert xorattn.get_config("improved") == CONFIGS["improved"]
    assert xorattn.VARIANTS == VARIANTS
    assert xorattn.variant_config("frozen").freeze_attention
