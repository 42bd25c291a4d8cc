"""Train many seeds at once, in one batched computation with a seed axis on every parameter.

Each seed's model starts from `build_model(config, seed)`, exactly as a
separate run does. The loss that is differentiated is the sum of the
per-seed losses, so the gradient of one seed's parameters is the gradient of
its own loss alone. Adam is elementwise, so one fused Adam step over the
stacked parameters applies to every seed the update of its separate run.

The sums inside the forward and backward pass run in a different order than
in a single run, so the two differ by rounding (about 1e-7 relative) after a
few epochs. Training is chaotic enough that such a difference can change a
seed's outcome after a few hundred epochs. So a sweep reproduces separate
runs seed by seed over short runs (tests/test_sweep.py checks 20 epochs),
while over long runs only the statistics carry over.

Why a hand-written batched forward and not torch.func (vmap over
functional_call, as in PyTorch's model-ensembling tutorial)? Here the seed
axis comes last, so every step below is one vectorised loop over the seeds.
Two facts about the model shrink the work further: a token has a single
feature, its bit, so q_i . k_j = x_i x_j (w_q . w_k), and the two readout
layers are linear, so their weights can be multiplied before the inputs.
vmap keeps the seed axis first, where softmax and the small matrix products
act on rows of two elements. For the original model with 1000 seeds, on one
thread of a 2-core AMD EPYC (AVX-512) with torch 2.13, an epoch took 3.5 ms of
CPU time with vmap and 0.7 ms here.

Shape letters: B inputs (4), T tokens (2), N rows of the batch (one per seed
and configuration), S seeds of one configuration. Inside the batch the row
axis N comes last; results have the seed axis first.
"""

import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from .config import Config
from .data import xor_dataset
from .model import XorAttentionModel, build_model
from .training import torch_threads
from .variants import CONFIGS, VARIANTS, check_variant, get_config, variant_config

# torch.Generator.manual_seed accepts seeds from 0 up to 2**64 - 1.
MAX_SEED = 2**64 - 1

# Value of solved_epoch and diverged_epoch for seeds where that never happened.
NOT_REACHED = -1

# Epochs between updates of the solved and diverged epochs and of the progress bar.
RECORD_EVERY = 100

# State-dict names of the attention parameters, which freezing keeps fixed.
QUERY_KEY_NAMES = ("attention.W_q.weight", "attention.W_k.weight")
VALUE_NAMES = ("attention.W_v.weight",)


@dataclass
class SweepResult:
    """The outcome of training one configuration on many seeds.

    Attributes
    ----------
    name : str
        Name of the configuration, for example a variant name.
    config : Config
        Settings every seed was trained with.
    seeds : Tensor of shape (S,), int64
        Seed of each row; row i of every other field belongs to seeds[i].
    solved : Tensor of shape (S,), bool
        All four final predictions have the target's sign and the final loss
        is below config.solve_threshold (as TrainResult.solved).
    solved_epoch : Tensor of shape (S,), int64
        First epoch (from 1) whose loss was below the threshold with all four
        signs right (as TrainResult.solved_epoch), NOT_REACHED if never.
    diverged_epoch : Tensor of shape (S,), int64
        First epoch whose loss was NaN or infinite, NOT_REACHED if none. From
        that epoch on the seed's parameters stay as they were.
    final_loss : Tensor of shape (S,)
        Mean squared error of the trained model.
    predictions : Tensor of shape (S, 4, 1)
        Predictions of the trained model for (0,0), (0,1), (1,0), (1,1).
    attn_weights : Tensor of shape (S, 4, 2, 2)
        Mixing weights of the trained model for the four inputs (B, T, T).
    losses : Tensor of shape (S, epochs) or None
        Loss at every epoch, before that epoch's update, if recorded.
    parameters : dict of str to Tensor of shape (S, ...) or None
        Trained parameters by state-dict name, if recorded.
    """

    name: str
    config: Config
    seeds: torch.Tensor
    solved: torch.Tensor
    solved_epoch: torch.Tensor
    diverged_epoch: torch.Tensor
    final_loss: torch.Tensor
    predictions: torch.Tensor
    attn_weights: torch.Tensor
    losses: torch.Tensor | None = None
    parameters: dict[str, torch.Tensor] | None = None

    @property
    def n_seeds(self) -> int:
        """Number of seeds trained."""
        return len(self.seeds)

    def model(self, index: int) -> XorAttentionModel:
        """Rebuild the trained model of row index, which needs record_parameters=True."""
        if self.parameters is None:
            raise ValueError("this result has no trained parameters. Train with record_parameters=True to rebuild models")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.n_seeds:
            raise ValueError(f"index must be an integer from 0 to {self.n_seeds - 1}, got {index!r} instead")
        model = build_model(self.config, int(self.seeds[index]))
        model.load_state_dict({name: values[index] for name, values in self.parameters.items()})
        return model


def train_sweep(
    configs: Mapping[str, Config],
    seeds: int | Sequence[int] = 100,
    *,
    first_seed: int = 0,
    record_losses: bool = False,
    record_parameters: bool = False,
    initial_parameters: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
    progress: bool = False,
    num_threads: int | None = 1,
) -> dict[str, SweepResult]:
    """Train every configuration on every seed, batched, and return the results by name.

    Configurations with the same model sizes and number of epochs train in
    one batched computation. Within it each may have its own mixing,
    freezing, learning rate, weight decay and solve threshold.

    Parameters
    ----------
    configs : mapping of str to Config
        The configurations to train, by name.
    seeds : int or sequence of int, default 100
        Either a number of seeds, which trains first_seed, first_seed + 1, ...,
        or the seeds themselves (distinct integers from 0 to MAX_SEED).
    first_seed : int, default 0
        First seed when seeds is a number.
    record_losses : bool, default False
        Keep every seed's loss curve (4 bytes per seed and epoch).
    record_parameters : bool, default False
        Keep every seed's trained parameters.
    initial_parameters : mapping of str to (mapping of str to Tensor), optional
        Starting parameters for some configurations, by configuration name and
        then by state-dict name, each with shape (S, ...). Configurations left
        out start from build_model(config, seed).
    progress : bool, default False
        Show a progress bar on standard error.
    num_threads : int or None, default 1
        PyTorch threads used during training, restored afterwards. None keeps
        the current setting. One thread is the default because every operation
        here is small. On a 2-core CPU shared with other jobs (load average 3
        to 5), two threads made an epoch 4 to 25 times slower than one.

    Returns
    -------
    dict of str to SweepResult
        One result per configuration, in the order of configs.
    """
    seed_list = check_seeds(seeds, first_seed)
    check_configs(configs)
    initial_parameters = dict(initial_parameters or {})
    for name in initial_parameters:
        if name not in configs:
            raise ValueError(
                f"initial_parameters names must be among the configs ({', '.join(configs)}), "
                f"got {name!r} instead"
            )
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r} instead")

    results = {}
    with torch_threads(num_threads):
        for group in group_configs(configs):
            batch = SweepBatch(group, seed_list, initial_parameters)
            results.update(batch.train(record_losses, record_parameters, progress))
    return {name: results[name] for name in configs}


def sweep_variants(
    variants: Sequence[str] = VARIANTS,
    seeds: int | Sequence[int] = 1000,
    *,
    config: Config | str = "original",
    first_seed: int = 0,
    record_losses: bool = False,
    record_parameters: bool = False,
    progress: bool = False,
    num_threads: int | None = 1,
) -> dict[str, SweepResult]:
    """Train token-mixing variants of one configuration on the same seeds, in one batch.

    Parameters
    ----------
    variants : sequence of str, default VARIANTS
        Names from VARIANTS: "trainable", "frozen", "uniform", "identity".
    seeds : int or sequence of int, default 1000
        Number of seeds, or the seeds themselves, as in train_sweep.
    config : Config or str, default "original"
        Sizes and training settings shared by the variants, or the name of
        one of CONFIGS.

    The other parameters are those of train_sweep.

    Returns
    -------
    dict of str to SweepResult
        One result per variant, in the order given.
    """
    if isinstance(variants, str) or not isinstance(variants, Sequence) or not variants:
        raise ValueError(f"variants must be a non-empty list of names from {', '.join(VARIANTS)}, got {variants!r} instead")
    seen = set()
    for name in variants:
        check_variant(name)
        if name in seen:
            raise ValueError(f"variants must be distinct, got {name!r} more than once")
        seen.add(name)
    base = get_config(config) if isinstance(config, str) else config
    if not isinstance(base, Config):
        raise ValueError(f"config must be a Config or one of {', '.join(CONFIGS)}, got {config!r} instead")

    return train_sweep(
        {name: variant_config(name, base) for name in variants},
        seeds,
        first_seed=first_seed,
        record_losses=record_losses,
        record_parameters=record_parameters,
        progress=progress,
        num_threads=num_threads,
    )


def group_configs(configs: Mapping[str, Config]) -> list[dict[str, Config]]:
    """Split configs into groups that can share one batch: same sizes and epochs."""
    groups: dict[tuple, dict[str, Config]] = {}
    for name, config in configs.items():
        key = (config.d_k, config.d_v, config.d_repr, config.epochs)
        groups.setdefault(key, {})[name] = config
    return list(groups.values())


@dataclass
class ParameterBlock:
    """One parameter for a run of adjacent configurations that train it alike.

    values has shape (*shape, S * len(names)): the state-dict shape with the
    rows of those configurations appended, seeds in order within each.
    """

    parameter: str
    names: list[str]
    rows: slice
    values: torch.Tensor


class SweepBatch:
    """The parameters of several configurations times several seeds, and their training loop.

    Every parameter has the row axis N last. Parameters that a configuration
    does not train stay out of the optimizer: W_q, W_k and W_v with frozen
    attention, and W_q and W_k without attention mixing, because they never
    reach the loss and a separate run gives them no gradient. Adjacent
    configurations that train a parameter alike (same learning rate and
    weight decay, or both frozen) share one tensor for it, which keeps the
    number of tensors, and so the work per epoch, small.
    """

    def __init__(self, configs: dict[str, Config], seeds: list[int], initial: Mapping):
        # Rows with attention mixing come first, so that the scores and the
        # softmax run once over one contiguous block of rows. Among them frozen
        # attention comes first, so that the rows with a trainable W_v are adjacent.
        self.names = sorted(
            configs, key=lambda name: (configs[name].mixing != "attention", not configs[name].freeze_attention)
        )
        self.configs = configs
        self.seeds = seeds
        self.epochs = configs[self.names[0]].epochs
        self.shapes = parameter_shapes(configs[self.names[0]])

        n_seeds = len(seeds)
        n_attention_configs = sum(configs[name].mixing == "attention" for name in self.names)
        self.n_attention = n_seeds * n_attention_configs
        self.fixed_weights = torch.cat(
            [fixed_mixing_weights(configs[name].mixing, n_seeds) for name in self.names[n_attention_configs:]]
            or [torch.empty(4, 2, 2, 0)],
            dim=-1,
        )  # (B, T, T, N - N_att)
        tokens, targets = xor_dataset()
        self.tokens = tokens.view(4, 2, 1)  # (B, T, 1), the bits, broadcast over the rows
        self.targets = targets.view(4, 1)  # (B, 1), broadcast over the rows
        self.thresholds = torch.tensor([configs[name].solve_threshold for name in self.names]).repeat_interleave(n_seeds)

        self.blocks = self.initial_blocks(initial)  # parameter name -> blocks in row order
        self.optimizers = make_optimizers(
            [(configs[block.names[0]], block.values) for block in self.trainable_blocks()]
        )

    def initial_blocks(self, initial: Mapping) -> dict[str, list[ParameterBlock]]:
        """Return every parameter's starting values, split into blocks of rows that train alike."""
        starts, built = {}, None
        for name in self.names:
            if name in initial:
                starts[name] = seed_last(check_parameters(initial[name], self.shapes, len(self.seeds), name))
            else:
                # build_model draws the same weights whatever the mixing and
                # freezing (tests check it), so the models are built once per
                # seed for all configurations of this group.
                built = built if built is not None else seed_last(stack_initial_parameters(self.configs[name], self.seeds))
                starts[name] = built

        blocks = {}
        for parameter in self.shapes:
            runs: list[list[str]] = []
            for name in self.names:
                if runs and self.training_key(runs[-1][-1], parameter) == self.training_key(name, parameter):
                    runs[-1].append(name)
                else:
                    runs.append([name])
            blocks[parameter], start = [], 0
            for names in runs:
                values = torch.cat([starts[name][parameter] for name in names], dim=-1)  # (*shape, S * len(names))
                trains = self.training_key(names[0], parameter) is not None
                rows = slice(start, start + values.shape[-1])
                blocks[parameter].append(ParameterBlock(parameter, names, rows, values.clone().requires_grad_(trains)))
                start = rows.stop
        return blocks

    def training_key(self, name: str, parameter: str) -> tuple[float, float] | None:
        """Return the learning rate and weight decay that train parameter under config name, None if frozen."""
        config = self.configs[name]
        if parameter in frozen_parameter_names(config):
            return None
        return (config.lr, config.weight_decay)

    def trainable_blocks(self) -> list[ParameterBlock]:
        """Return the blocks that an optimizer updates."""
        return [block for blocks in self.blocks.values() for block in blocks if block.values.requires_grad]

    def joined(self, parameter: str, n_rows: int | None = None) -> torch.Tensor:
        """Return a parameter for the first n_rows rows (all rows if None), shape (*shape, n_rows)."""
        parts, covered = [], 0
        for block in self.blocks[parameter]:
            if n_rows is not None and covered >= n_rows and parts:
                break
            values = block.values
            if n_rows is not None and covered + values.shape[-1] > n_rows:
                values = values[..., : n_rows - covered]
            parts.append(values)
            covered += values.shape[-1]
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the predictions (B, N) and the mixing weights (B, T, T, N) for the four XOR inputs."""
        x = self.tokens
        w_q = self.joined("attention.W_q.weight", self.n_attention)  # (d_k, 1, N_att)
        w_k = self.joined("attention.W_k.weight", self.n_attention)  # (d_k, 1, N_att)
        w_v = self.joined("attention.W_v.weight")  # (d_v, 1, N)

        # Scores. A token carries one feature, its bit x, so its query is
        # x w_q and its key x w_k, and q_i . k_j = x_i x_j (w_q . w_k).
        d_k = w_q.shape[0]
        query_key = (w_q * w_k).sum(dim=0) / math.sqrt(d_k)  # (d_k, 1, N_att) -> (1, N_att)
        bit_products = x.unsqueeze(2) * x.unsqueeze(1)  # (B, T, 1, 1) * (B, 1, T, 1) -> (B, T, T, 1)
        attn_scores = bit_products * query_key  # (B, T, T, N_att)

        # Softmax over the keys, for the rows with attention mixing.
        attn_weights = torch.softmax(attn_scores, dim=2)
        weights = torch.cat([attn_weights, self.fixed_weights], dim=-1)  # (B, T, T, N)

        # Mixing. The values are x_j w_v, so sum_j weights[i, j] x_j w_v
        # mixes the bits first and projects the mixed bit with w_v.
        key_bits = x.transpose(1, 2).unsqueeze(-1)  # (B, 1, T, 1), the bit of key j
        mixed_bits = (weights * key_bits).sum(dim=2)  # (B, T, T, N) -> (B, T, N)
        mixed = mixed_bits.unsqueeze(2) * w_v.view(w_v.shape[0], -1)  # (B, T, 1, N) * (d_v, N) -> (B, T, d_v, N)

        # Readout: tanh, then the hidden and output linear layers. With nothing
        # between the two layers, W_o (W_h h + b_h) + b_o = (W_o W_h) h + (W_o b_h + b_o),
        # and multiplying the weights first touches fewer numbers than computing
        # the representation of every input.
        features = torch.tanh(mixed.flatten(start_dim=1, end_dim=2))  # (B, T d_v, N)
        hidden_weight = self.joined("hidden.weight")  # (d_repr, T d_v, N)
        hidden_bias = self.joined("hidden.bias")  # (d_repr, N)
        output_weight = self.joined("output.weight").view(hidden_bias.shape)  # (1, d_repr, N) -> (d_repr, N)
        output_bias = self.joined("output.bias")  # (1, N)
        readout_weight = (output_weight.unsqueeze(1) * hidden_weight).sum(dim=0)  # (d_repr, 1, N) * (d_repr, T d_v, N) -> (T d_v, N)
        readout_bias = (output_weight * hidden_bias).sum(dim=0) + output_bias  # (d_repr, N) -> (1, N)
        prediction = (features * readout_weight).sum(dim=1) + readout_bias  # (B, T d_v, N) -> (B, N)
        return prediction, weights

    def train(self, record_losses: bool, record_parameters: bool, progress: bool) -> dict[str, SweepResult]:
        """Train every row for the group's epochs and return one result per configuration."""
        n_rows = len(self.thresholds)
        history = TrainingHistory(n_rows, self.targets, self.thresholds, record_losses)
        alive = torch.ones(n_rows, dtype=torch.bool)
        n_diverged = 0
        bar = tqdm(total=self.epochs, desc=", ".join(self.names), unit="epoch", file=sys.stderr, disable=not progress)

        for epoch in range(1, self.epochs + 1):
            prediction, _ = self.forward()
            loss = (prediction - self.targets).pow(2).mean(dim=0)  # (N,)

            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            if n_diverged == 0 and bool(torch.isfinite(loss).all()):
                loss.sum().backward()
                self.step()
            else:
                # A seed whose loss is NaN or infinite stops here: its loss is
                # left out of the sum, its gradient is cleared and its update undone.
                alive = alive & torch.isfinite(loss)
                n_diverged = int((~alive).sum())
                torch.where(alive, loss, 0.0).sum().backward()
                self.step_alive_rows(alive)

            history.append(loss.detach(), prediction.detach())
            if epoch % RECORD_EVERY == 0 or epoch == self.epochs:
                history.flush()
                bar.update(epoch - bar.n)
        bar.close()

        return self.collect(history, record_parameters)

    def step(self) -> None:
        """Update every trainable parameter with its optimizer."""
        for optimizer in self.optimizers:
            optimizer.step()

    def step_alive_rows(self, alive: torch.Tensor) -> None:
        """Update the rows that are alive (N,) and leave the other rows exactly as they are."""
        saved = []
        for block in self.trainable_blocks():
            alive_rows = alive[block.rows]
            # masked_fill also clears NaN gradients, which multiplying by 0 would keep.
            block.values.grad.masked_fill_(~alive_rows, 0.0)  # (*shape, rows)
            saved.append((block.values, alive_rows, block.values.detach().clone()))
        self.step()
        with torch.no_grad():
            for values, alive_rows, before in saved:
                values.copy_(torch.where(alive_rows, values, before))

    def row_blocks(self) -> Iterator[tuple[str, slice]]:
        """Yield each configuration's name and its slice of the row axis."""
        n_seeds = len(self.seeds)
        for index, name in enumerate(self.names):
            yield name, slice(index * n_seeds, (index + 1) * n_seeds)

    def collect(self, history: "TrainingHistory", record_parameters: bool) -> dict[str, SweepResult]:
        """Evaluate the trained rows and split everything into one result per configuration."""
        with torch.no_grad():
            prediction, weights = self.forward()  # (B, N), (B, T, T, N)
        final_loss = (prediction - self.targets).pow(2).mean(dim=0)  # (N,)
        signs_right = (prediction * self.targets > 0).all(dim=0)  # targets are -1/+1
        solved = signs_right & (final_loss < self.thresholds)
        losses = history.losses()  # (epochs, N) or None

        results = {}
        seeds = torch.tensor(self.seeds, dtype=torch.int64)
        for name, rows in self.row_blocks():
            parameters = None
            if record_parameters:
                parameters = {
                    key: self.joined(key).detach()[..., rows].movedim(-1, 0).contiguous() for key in self.shapes
                }
            results[name] = SweepResult(
                name=name,
                config=self.configs[name],
                seeds=seeds.clone(),
                solved=solved[rows].clone(),
                solved_epoch=history.solved_epoch[rows].clone(),
                diverged_epoch=history.diverged_epoch[rows].clone(),
                final_loss=final_loss[rows].clone(),
                predictions=prediction[:, rows].T.unsqueeze(-1).contiguous(),  # (S, B, 1)
                attn_weights=weights[..., rows].permute(3, 0, 1, 2).contiguous(),  # (S, B, T, T)
                losses=losses[:, rows].T.contiguous() if losses is not None else None,  # (S, epochs)
                parameters=parameters,  # each (S, *shape)
            )
        return results


class TrainingHistory:
    """Per-epoch losses and predictions, reduced every RECORD_EVERY epochs to what a sweep reports.

    Reducing a block of epochs at a time replaces a handful of small
    operations per epoch by the same operations on a (epochs, N) block.
    """

    def __init__(self, n_rows: int, targets: torch.Tensor, thresholds: torch.Tensor, keep_losses: bool):
        self.targets = targets  # (B, 1)
        self.thresholds = thresholds  # (N,)
        self.keep_losses = keep_losses
        self.solved_epoch = torch.full((n_rows,), NOT_REACHED, dtype=torch.int64)
        self.diverged_epoch = torch.full((n_rows,), NOT_REACHED, dtype=torch.int64)
        self.loss_blocks: list[torch.Tensor] = []
        self.block_losses: list[torch.Tensor] = []
        self.block_predictions: list[torch.Tensor] = []
        self.epochs_done = 0

    def append(self, loss: torch.Tensor, prediction: torch.Tensor) -> None:
        """Store one epoch's losses (N,) and predictions (B, N), computed before its update."""
        self.block_losses.append(loss)
        self.block_predictions.append(prediction)

    def flush(self) -> None:
        """Update the first solved and diverged epochs with the stored block of epochs."""
        if not self.block_losses:
            return
        losses = torch.stack(self.block_losses)  # (E_block, N)
        predictions = torch.stack(self.block_predictions)  # (E_block, B, N)
        signs_right = (predictions * self.targets > 0).all(dim=1)  # (E_block, N)
        reached = signs_right & (losses < self.thresholds)
        update_first_epoch(self.solved_epoch, reached, self.epochs_done)
        update_first_epoch(self.diverged_epoch, ~torch.isfinite(losses), self.epochs_done)

        if self.keep_losses:
            self.loss_blocks.append(losses)
        self.epochs_done += len(losses)
        self.block_losses, self.block_predictions = [], []

    def losses(self) -> torch.Tensor | None:
        """Return the losses of all epochs (epochs, N) if they were kept, else None."""
        return torch.cat(self.loss_blocks) if self.keep_losses else None


def update_first_epoch(first_epoch: torch.Tensor, flags: torch.Tensor, epochs_before: int) -> None:
    """Set first_epoch (N,) where it is NOT_REACHED and flags (E_block, N) has a True.

    Epochs count from 1, and row e of flags is epoch epochs_before + e + 1.
    """
    any_true = flags.any(dim=0)
    first_index = flags.to(torch.uint8).argmax(dim=0)  # argmax returns the first maximum
    new = any_true & (first_epoch == NOT_REACHED)
    first_epoch[new] = first_index[new] + epochs_before + 1


def stack_initial_parameters(config: Config, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
    """Return the parameters of build_model(config, seed) for every seed, stacked.

    Parameters
    ----------
    config : Config
        Model sizes.
    seeds : sequence of int
        Seeds of the initial weights.

    Returns
    -------
    dict of str to Tensor of shape (S, ...)
        State-dict names to parameters with a leading seed axis.
    """
    models = [build_model(config, seed) for seed in check_seeds(seeds, 0)]
    names = [name for name, _ in models[0].named_parameters()]
    return {name: torch.stack([model.get_parameter(name).detach() for model in models]) for name in names}


def parameter_shapes(config: Config) -> dict[str, tuple[int, ...]]:
    """Return the state-dict name and shape of every parameter of a model built from config."""
    model = XorAttentionModel(config, torch.Generator().manual_seed(0))
    return {name: tuple(values.shape) for name, values in model.named_parameters()}


def frozen_parameter_names(config: Config) -> set[str]:
    """Return the names of the parameters that training under config leaves unchanged."""
    if config.freeze_attention:
        return {*QUERY_KEY_NAMES, *VALUE_NAMES}
    if config.mixing != "attention":
        return set(QUERY_KEY_NAMES)
    return set()


def seed_last(parameters: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Move the seed axis of parameters (S, ...) to the end: (..., S), contiguous."""
    return {name: values.detach().to(torch.float32).movedim(0, -1).contiguous() for name, values in parameters.items()}


def check_parameters(
    parameters: Mapping[str, torch.Tensor], shapes: dict[str, tuple[int, ...]], n_seeds: int, config_name: str
) -> Mapping[str, torch.Tensor]:
    """Raise ValueError unless parameters has every entry of shapes with shape (n_seeds, *shape)."""
    if not isinstance(parameters, Mapping) or set(parameters) != set(shapes):
        got = ", ".join(parameters) if isinstance(parameters, Mapping) else repr(parameters)
        raise ValueError(
            f"initial_parameters[{config_name!r}] must have the entries {', '.join(shapes)}, got {got} instead"
        )
    for name, shape in shapes.items():
        values = parameters[name]
        if not isinstance(values, torch.Tensor) or tuple(values.shape) != (n_seeds, *shape):
            got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(
                f"initial_parameters[{config_name!r}][{name!r}] must be a tensor of shape "
                f"{(n_seeds, *shape)}, got {got} instead"
            )
    return parameters


def make_optimizers(blocks: list[tuple[Config, torch.Tensor]]) -> list[torch.optim.Optimizer]:
    """Create fused Adam for tensors without weight decay and fused AdamW for the others.

    This is the choice training.make_optimizer makes for a single run. Each
    tensor is trained with the learning rate and weight decay of its Config,
    and tensors with equal settings share a parameter group.
    """
    groups: dict[tuple[float, float], list[torch.Tensor]] = {}
    for config, values in blocks:
        groups.setdefault((config.lr, config.weight_decay), []).append(values)

    plain = [{"params": params, "lr": lr} for (lr, decay), params in groups.items() if decay == 0]
    decayed = [{"params": params, "lr": lr, "weight_decay": decay} for (lr, decay), params in groups.items() if decay > 0]
    optimizers = []
    if plain:
        optimizers.append(torch.optim.Adam(plain, fused=True))
    if decayed:
        optimizers.append(torch.optim.AdamW(decayed, fused=True))
    return optimizers


def fixed_mixing_weights(mixing: str, n_seeds: int) -> torch.Tensor:
    """Return the constant mixing weights of "uniform" or "identity" mixing, shape (B, T, T, S)."""
    if mixing == "uniform":
        weights = torch.full((2, 2), 0.5)
    elif mixing == "identity":
        weights = torch.eye(2)
    else:
        raise ValueError(f"mixing must be 'uniform' or 'identity', got {mixing!r} instead")
    return weights.view(1, 2, 2, 1).expand(4, 2, 2, n_seeds)


def check_seeds(seeds: int | Sequence[int], first_seed: int) -> list[int]:
    """Return the seeds as a list, or raise ValueError for a bad count, seed or duplicate."""
    if isinstance(first_seed, bool) or not isinstance(first_seed, int) or not 0 <= first_seed <= MAX_SEED:
        raise ValueError(f"first_seed must be an integer from 0 to {MAX_SEED}, got {first_seed!r} instead")
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a number of seeds or a list of seeds, got {seeds!r} instead")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"number of seeds must be at least 1, got {seeds} instead")
        if first_seed + seeds - 1 > MAX_SEED:
            raise ValueError(f"seeds must be at most {MAX_SEED}, got {seeds} seeds from {first_seed}")
        return list(range(first_seed, first_seed + seeds))

    seed_list = list(seeds)
    if not seed_list:
        raise ValueError("seeds must contain at least one seed, got an empty list")
    seen = set()
    for seed in seed_list:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ValueError(f"each seed must be an integer from 0 to {MAX_SEED}, got {seed!r} instead")
        if seed in seen:
            raise ValueError(f"seeds must be distinct, got seed {seed} more than once")
        seen.add(seed)
    return seed_list


def check_configs(configs: Mapping[str, Config]) -> None:
    """Raise ValueError unless configs maps at least one name to a Config."""
    if not isinstance(configs, Mapping) or not configs:
        raise ValueError(f"configs must be a non-empty mapping of names to Config, got {configs!r} instead")
    for name, config in configs.items():
        if not isinstance(config, Config):
            raise ValueError(f"configs[{name!r}] must be a Config, got {type(config).__name__} instead")
