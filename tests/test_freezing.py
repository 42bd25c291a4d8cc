"""Tests that frozen parameters stay bit-identical, in single runs and in sweeps."""

import pytest
import torch

from xorattn import Config, build_model, fit, train
from xorattn.sweep import SweepBatch, stack_initial_parameters, train_sweep
from xorattn.training import make_optimizer
from xorattn.variants import VARIANTS, variant_config
from xorattn.training import torch_threads

ATTENTION_NAMES = ("attention.W_q.weight", "attention.W_k.weight", "attention.W_v.weight")
READOUT_NAMES = ("hidden.weight", "hidden.bias", "output.weight", "output.bias")


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def attention_snapshot(model) -> dict[str, torch.Tensor]:
    return {name: values.detach().clone() for name, values in model.state_dict().items() if name in ATTENTION_NAMES}


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_frozen_attention_stays_bit_identical(weight_decay):
    config = Config(freeze_attention=True, weight_decay=weight_decay)
    initial = build_model(config, 3).state_dict()
    trained = train(config, 3).model.state_dict()
    for name in ATTENTION_NAMES:
        assert torch.equal(trained[name], initial[name]), name
    for name in READOUT_NAMES:
        assert not torch.equal(trained[name], initial[name]), name


def test_attention_frozen_part_way_keeps_its_values():
    model = build_model(Config(), 5)
    fit(model, Config(epochs=500))
    at_freeze = attention_snapshot(model)
    readout_at_freeze = {name: model.state_dict()[name].clone() for name in READOUT_NAMES}

    fit(model, Config(epochs=500, freeze_attention=True))
    for name, values in attention_snapshot(model).items():
        assert torch.equal(values, at_freeze[name]), name
    assert any(not torch.equal(model.state_dict()[name], readout_at_freeze[name]) for name in READOUT_NAMES)


def test_attention_trains_before_the_freeze():
    model = build_model(Config(), 5)
    initial = attention_snapshot(model)
    fit(model, Config(epochs=500))
    assert any(not torch.equal(values, initial[name]) for name, values in attention_snapshot(model).items())


def test_optimizer_of_frozen_run_holds_only_readout():
    model = build_model(Config(), 0)
    optimizer = make_optimizer(model, Config(freeze_attention=True, weight_decay=0.01))
    optimized_ids = {id(parameter) for group in optimizer.param_groups for parameter in group["params"]}
    for parameter in model.attention_parameters():
        assert id(parameter) not in optimized_ids
    assert optimized_ids == {id(getattr(model, layer).weight) for layer in ("hidden", "output")} | {
        id(getattr(model, layer).bias) for layer in ("hidden", "output")
    }


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_sweep_keeps_frozen_attention_bit_identical(weight_decay):
    config = Config(freeze_attention=True, weight_decay=weight_decay, epochs=500)
    initial = stack_initial_parameters(config, range(8))
    result = train_sweep({"frozen": config}, 8, record_parameters=True)["frozen"]
    for name in ATTENTION_NAMES:
        assert torch.equal(result.parameters[name], initial[name]), name
    for name in READOUT_NAMES:
        assert not torch.equal(result.parameters[name], initial[name]), name


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_sweep_leaves_unused_queries_and_keys_alone(weight_decay):
    """Without attention mixing W_q and W_k never reach the loss, so like a separate run the sweep leaves them unchanged."""
    configs = {name: variant_config(name, Config(epochs=300, weight_decay=weight_decay)) for name in ("uniform", "identity")}
    initial = stack_initial_parameters(Config(), range(8))
    results = train_sweep(configs, 8, record_parameters=True)
    for name, result in results.items():
        assert torch.equal(result.parameters["attention.W_q.weight"], initial["attention.W_q.weight"]), name
        assert torch.equal(result.parameters["attention.W_k.weight"], initial["attention.W_k.weight"]), name
        assert not torch.equal(result.parameters["attention.W_v.weight"], initial["attention.W_v.weight"]), name
        single = train(configs[name], 2).model.state_dict()
        assert torch.equal(single["attention.W_q.weight"], initial["attention.W_q.weight"][2]), name


def test_sweep_freezes_part_way():
    first = train_sweep({"t": Config(epochs=500)}, 8, record_parameters=True)["t"]
    second = train_sweep(
        {"t": Config(epochs=500, freeze_attention=True)}, 8,
        record_parameters=True, initial_parameters={"t": first.parameters},
    )["t"]
    for name in ATTENTION_NAMES:
        assert torch.equal(second.parameters[name], first.parameters[name]), name
    for name in READOUT_NAMES:
        assert not torch.equal(second.parameters[name], first.parameters[name]), name


def test_sweep_optimizers_hold_only_trainable_tensors():
    configs = {name: variant_config(name, Config(weight_decay=0.01)) for name in VARIANTS}
    batch = SweepBatch(configs, list(range(4)), {})
    optimized_ids = {
        id(values) for optimizer in batch.optimizers for group in optimizer.param_groups for values in group["params"]
    }
    for blocks in batch.blocks.values():
        for block in blocks:
            frozen_here = [name for name in block.names if block.parameter in frozen_names(configs[name])]
            if frozen_here:
                assert id(block.values) not in optimized_ids, (block.parameter, block.names)
                assert not block.values.requires_grad
            else:
                assert id(block.values) in optimized_ids, (block.parameter, block.names)


def frozen_names(config: Config) -> set[str]:
    """The parameters a separate run of config never changes, written out independently of the sweep code."""
    if config.freeze_attention:
        return set(ATTENTION_NAMES)
    if config.mixing != "attention":
        return {"attention.W_q.weight", "attention.W_k.weight"}
    return set()
