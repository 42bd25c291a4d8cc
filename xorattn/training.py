"""Full-batch training on the four XOR inputs, with a result that reports whether XOR was solved."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from .config import Config
from .data import xor_dataset
from .model import XorAttentionModel, build_model

# How often the loop checks the recorded losses for NaN or infinity. Checking
# reads the losses back as Python values, so doing it every epoch costs time.
FINITE_CHECK_EVERY = 100


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite. `epoch` is the first epoch (from 1) where it did."""

    def __init__(self, epoch: int, loss: float):
        super().__init__(
            f"training diverged: the loss became {loss} at epoch {epoch}; "
            "try a smaller learning rate"
        )
        self.epoch = epoch
        self.loss = loss


@dataclass
class TrainResult:
    """The outcome of one training run.

    Attributes
    ----------
    model : XorAttentionModel
        The trained model.
    config : Config
        The settings it was trained with.
    seed : int or None
        The seed of the initial weights, or None for a model passed in.
    losses : Tensor of shape (epochs,)
        losses[i] is the mean squared error computed at epoch i + 1, before that epoch's update.
    predictions : Tensor of shape (4, 1)
        Predictions of the trained model for (0,0), (0,1), (1,0), (1,1).
    final_loss : float
        Mean squared error of `predictions`.
    solved : bool
        All four predictions have the target's sign and final_loss < config.solve_threshold.
    solved_epoch : int or None
        First epoch whose loss was below the threshold with all four signs right.
        None if that never happened.
    snapshots : dict of int to state dict
        Copies of the model's parameters after the requested epochs (0 is the initial model).
    """

    model: XorAttentionModel
    config: Config
    seed: int | None
    losses: torch.Tensor
    predictions: torch.Tensor
    final_loss: float
    solved: bool
    solved_epoch: int | None
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)


def train(
    config: Config = Config(),
    seed: int = 0,
    *,
    log_every: int | None = None,
    snapshot_epochs: Iterable[int] = (),
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Build a model from config and seed, and train it on the XOR data set.

    Parameters
    ----------
    config : Config, default Config()
        Model sizes and training settings; the default is the original experiment.
    seed : int, default 0
        Seed of the initial weights. Training itself is full-batch and has no
        other randomness, so the same config and seed give the same result.
    log_every : int, optional
        Report the loss through `log` every this many epochs. Silent by default.
    snapshot_epochs : iterable of int
        Epochs after which to keep a copy of the parameters (0 = before training).
    log : callable, default print
        Receives each progress line.

    Raises
    ------
    TrainingDivergedError
        If the loss becomes NaN or infinite.
    """
    model = build_model(config, seed)
    result = fit(model, config, log_every=log_every, snapshot_epochs=snapshot_epochs, log=log)
    result.seed = seed
    return result


def fit(
    model: XorAttentionModel,
    config: Config = Config(),
    *,
    log_every: int | None = None,
    snapshot_epochs: Iterable[int] = (),
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train an existing model in place from its current weights.

    Takes the same settings as `train`, except that the model's sizes come
    from the model, not from config. Calling fit twice continues training
    with a new optimizer, for example with the attention frozen the second time.
    """
    snapshot_epochs = check_snapshot_epochs(snapshot_epochs, config.epochs)
    if log_every is not None and (isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1):
        raise ValueError(f"log_every must be an integer >= 1 or None, got {log_every!r}")

    tokens, targets = xor_dataset()
    optimizer = make_optimizer(model, config)
    trainable = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    # Per-epoch tensors are kept in lists and stacked once at the end, which
    # costs less than writing each into a preallocated tensor.
    losses, predictions = [], []
    snapshots = {0: copy_parameters(model)} if 0 in snapshot_epochs else {}

    # Every tensor here has at most 16 elements, too few for a second thread
    # to help. Some CPU kernels (softmax among them) still split such tensors
    # across all threads, and waking the others costs more than the work. On
    # a busy 2-core machine, two threads made each step several times slower.
    with torch_threads(1):
        for epoch in range(1, config.epochs + 1):
            prediction = model.compute(tokens).prediction
            loss = nn.functional.mse_loss(prediction, targets)

            # The same as optimizer.zero_grad(), without the wrappers around
            # that call, which cost about 7% of a step here (torch 2.13).
            for parameter in trainable:
                parameter.grad = None
            loss.backward()
            optimizer.step()

            losses.append(loss.detach())
            predictions.append(prediction.detach())
            if epoch % FINITE_CHECK_EVERY == 0 or epoch == config.epochs:
                recent = losses[-FINITE_CHECK_EVERY:]
                check_losses_finite(recent, first_epoch=epoch - len(recent) + 1)
            if log_every is not None and epoch % log_every == 0:
                log(f"epoch {epoch:>{len(str(config.epochs))}}  loss {losses[-1].item():.6f}")
            if epoch in snapshot_epochs:
                snapshots[epoch] = copy_parameters(model)

    losses = torch.stack(losses)
    reached = (losses < config.solve_threshold) & signs_match(torch.stack(predictions), targets)
    return summarize(model, config, losses, reached, snapshots)


def make_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """Create Adam (or AdamW with weight decay) over the parameters that train.

    With freeze_attention the attention parameters get requires_grad=False and
    are left out of the optimizer, so neither gradients nor weight decay reach them.
    """
    for parameter in model.attention_parameters():
        parameter.requires_grad_(not config.freeze_attention)
    trainable = [p for p in model.parameters() if p.requires_grad]

    # The fused kernel updates all parameters in one call instead of a handful
    # of small operations per parameter, which dominates the cost of a step here.
    if config.weight_decay > 0:
        return torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.Adam(trainable, lr=config.lr, fused=True)


@contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with num_threads intra-op threads, then restore the caller's number.

    None leaves the number unchanged.
    """
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def signs_match(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return whether every prediction has its target's sign.

    predictions has shape (..., 4, 1) and targets (4, 1); the result has shape (...).
    """
    same = torch.sign(predictions) == torch.sign(targets)
    return same.flatten(start_dim=-2).all(dim=-1)


def check_losses_finite(losses: list[torch.Tensor], first_epoch: int) -> None:
    """Raise TrainingDivergedError for the first non-finite loss; losses[0] is from first_epoch."""
    finite = torch.isfinite(torch.stack(losses))
    if finite.all():
        return
    index = int((~finite).nonzero()[0])
    raise TrainingDivergedError(first_epoch + index, losses[index].item())


def check_snapshot_epochs(epochs: Iterable[int], n_epochs: int) -> frozenset[int]:
    """Return the snapshot epochs as a set, or raise ValueError for one outside 0..n_epochs."""
    epochs = frozenset(epochs)
    for epoch in epochs:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= n_epochs:
            raise ValueError(f"snapshot epochs must be integers from 0 to {n_epochs}, got {epoch!r}")
    return epochs


def copy_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return a detached copy of the model's parameters."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def summarize(
    model: XorAttentionModel,
    config: Config,
    losses: torch.Tensor,
    reached: torch.Tensor,
    snapshots: dict[int, dict[str, torch.Tensor]],
) -> TrainResult:
    """Evaluate the trained model and collect the result."""
    tokens, targets = xor_dataset()
    with torch.no_grad():
        predictions = model(tokens).prediction
    final_loss = nn.functional.mse_loss(predictions, targets).item()
    solved = final_loss < config.solve_threshold and bool(signs_match(predictions, targets))
    solved_epoch = int(reached.nonzero()[0]) + 1 if reached.any() else None
    return TrainResult(
        model=model,
        config=config,
        seed=None,
        losses=losses,
        predictions=predictions,
        final_loss=final_loss,
        solved=solved,
        solved_epoch=solved_epoch,
        snapshots=snapshots,
    )
