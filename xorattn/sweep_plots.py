"""Figures for sweeps over many seeds: success rates, epochs to solve and loss-curve bands.

Like xorattn.plotting, each helper draws into the axes it is given, or into
a new matplotlib Figure made without pyplot, and returns the figure. None of
them shows or saves it. Each variant keeps its colour in every figure.
"""

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .plotting import figure_and_axes, to_numpy
from .stats import SweepSummary
from .sweep import NOT_REACHED, SweepResult

# One colour per variant, the same in every figure. Other names take a colour
# from OTHER_COLOURS by their position.
VARIANT_COLOURS = {
    "trainable": "tab:blue",
    "frozen": "tab:orange",
    "uniform": "tab:green",
    "identity": "tab:red",
}
OTHER_COLOURS = ("tab:purple", "tab:brown", "tab:pink", "tab:grey", "tab:olive", "tab:cyan")

# Losses below this value are drawn at it: a loss of exactly 0 has no place
# on a log axis, and 1e-12 is far below any loss that matters here.
LOSS_FLOOR = 1e-12


def variant_colour(name: str, index: int) -> str:
    """Return the colour of variant name, or a colour by position for other names."""
    return VARIANT_COLOURS.get(name, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def plot_success_rates(
    summaries: Sequence[SweepSummary],
    ax: Axes | None = None,
    *,
    title: str = "Share of seeds that solve XOR",
) -> Figure:
    """Draw one bar per configuration with its success rate and confidence interval.

    Parameters
    ----------
    summaries : sequence of SweepSummary
        One per configuration, as returned by stats.summarize_sweep.
    ax : Axes, optional
        Axes to draw into. A new figure is made if omitted.
    title : str, default "Share of seeds that solve XOR"

    Returns
    -------
    Figure
        The figure containing the bars. The y axis always spans 0 to 1 so
        that charts of different sweeps compare.
    """
    if not summaries:
        raise ValueError("summaries must contain at least one SweepSummary, got none")
    fig, ax = figure_and_axes(ax, figsize=(1.6 * len(summaries) + 2.5, 4.0))

    positions = np.arange(len(summaries))
    rates = np.array([summary.success_rate for summary in summaries])
    lows = np.array([summary.interval[0] for summary in summaries])
    highs = np.array([summary.interval[1] for summary in summaries])
    colours = [variant_colour(summary.name, index) for index, summary in enumerate(summaries)]
    ax.bar(positions, rates, color=colours, width=0.6)
    errors = np.clip([rates - lows, highs - rates], 0, None)  # clip rounding errors at a rate of 0 or 1
    ax.errorbar(positions, rates, yerr=errors, fmt="none", ecolor="black", capsize=6)
    for position, summary, high in zip(positions, summaries, highs):
        ax.annotate(
            f"{summary.success_rate:.1%}\n{summary.n_solved}/{summary.n_seeds}", (position, high),
            xytext=(0, 4), textcoords="offset points", ha="center", va="bottom",
        )

    ax.set_xticks(positions, [summary.name for summary in summaries])
    ax.set_ylim(0, 1.25)  # room above a rate of 1 for the labels
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_title(title)
    ax.set_xlabel("variant")
    ax.set_ylabel("fraction of seeds solved (bars: 95% Wilson interval)")
    return fig


def plot_solved_epochs(
    results: Sequence[SweepResult],
    axes: Sequence[Axes] | None = None,
    *,
    title: str = "When each seed first solved XOR",
) -> Figure:
    """Draw one histogram per configuration of the epoch at which each seed first solved XOR.

    All panels share logarithmic bins from epoch 1 to the longest run, so
    their shapes compare. A configuration without solved seeds gets an
    empty panel with the text "no seed solved".

    Parameters
    ----------
    results : sequence of SweepResult
    axes : sequence of Axes, optional
        One Axes per result, all on one figure. A new figure is made if omitted.
    title : str, default "When each seed first solved XOR"
        Figure title; only set when this function makes the figure.

    Returns
    -------
    Figure
    """
    if not results:
        raise ValueError("results must contain at least one SweepResult, got none")
    if axes is None:
        fig = Figure(figsize=(3.2 * len(results) + 0.6, 3.4), layout="constrained")
        axes = fig.subplots(1, len(results), squeeze=False, sharey=True)[0]
        fig.suptitle(title)
    axes = list(np.ravel(axes))
    if len(axes) != len(results):
        raise ValueError(f"axes must hold {len(results)} Axes, one per result, got {len(axes)} instead")
    fig = axes[0].figure

    max_epochs = max(result.config.epochs for result in results)
    bins = np.geomspace(1, max_epochs + 1, 25)
    for index, (ax, result) in enumerate(zip(axes, results)):
        epochs = to_numpy(result.solved_epoch[result.solved & (result.solved_epoch != NOT_REACHED)])
        ax.hist(epochs, bins=bins, color=variant_colour(result.name, index))
        if epochs.size:
            ax.axvline(np.median(epochs), color="black", linestyle="--", label=f"median {np.median(epochs):.0f}")
            ax.legend(loc="upper right")
        else:
            ax.text(0.5, 0.5, "no seed solved", transform=ax.transAxes, ha="center", va="center")
        ax.set_xscale("log")
        ax.set_title(f"{result.name}: {epochs.size} of {result.n_seeds} seeds")
        ax.set_xlabel("first solved epoch (log scale)")
    axes[0].set_ylabel("seeds")
    return fig


def plot_loss_bands(
    results: Sequence[SweepResult],
    ax: Axes | None = None,
    *,
    quantiles: tuple[float, float] = (0.25, 0.75),
    title: str = "Loss over training: median and spread over seeds",
) -> Figure:
    """Draw each configuration's median loss per epoch and the band between two quantiles.

    Parameters
    ----------
    results : sequence of SweepResult
        Each trained with record_losses=True. Diverged seeds (NaN losses)
        are left out of the quantiles.
    ax : Axes, optional
        Axes to draw into. A new figure is made if omitted.
    quantiles : (float, float), default (0.25, 0.75)
        Lower and upper edge of the shaded band, between 0 and 1.
    title : str

    Returns
    -------
    Figure
    """
    if not results:
        raise ValueError("results must contain at least one SweepResult, got none")
    for result in results:
        if result.losses is None:
            raise ValueError(f"result {result.name!r} has no loss curves. Train it with record_losses=True")
    low_q, high_q = quantiles
    if not 0 <= low_q < high_q <= 1:
        raise ValueError(f"quantiles must be two numbers with 0 <= low < high <= 1, got {quantiles!r} instead")

    fig, ax = figure_and_axes(ax, figsize=(8.2, 4.2))
    levels = torch.tensor([low_q, 0.5, high_q], dtype=torch.float64)
    for index, result in enumerate(results):
        colour = variant_colour(result.name, index)
        low, median, high = np.clip(to_numpy(torch.nanquantile(result.losses.double(), levels, dim=0)), LOSS_FLOOR, None)
        epochs = np.arange(1, median.size + 1)
        ax.fill_between(epochs, low, high, color=colour, alpha=0.2, linewidth=0)
        ax.plot(epochs, median, color=colour, label=f"{result.name}")

    threshold = results[0].config.solve_threshold
    ax.axhline(threshold, color="grey", linestyle="--", label=f"solve threshold ({threshold:g})")
    ax.set_yscale("log")
    ax.set_ylim(LOSS_FLOOR, 10)
    ax.set_xlim(1, max(result.config.epochs for result in results))
    ax.set_title(title)
    ax.set_xlabel("epoch (full-batch step)")
    ax.set_ylabel("mean squared error (log scale)")
    ax.legend(
        loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small",
        title=f"median,\nshaded {low_q:.0%} to {high_q:.0%}", title_fontsize="small",
    )
    return fig


def plot_value_weights(
    result: SweepResult,
    axes: Sequence[Axes] | None = None,
    *,
    zoom: float = 0.4,
    title: str = "Value weights after training",
) -> Figure:
    """Scatter the first two components of each seed's trained W_v, coloured by outcome.

    The left panel shows all seeds, the right panel the square of half-width
    zoom around the origin. The dashed diagonals mark |w_1| = |w_2|, where
    the two value channels have the same gain and tanh treats them as one.

    Parameters
    ----------
    result : SweepResult
        Trained with record_parameters=True and d_v >= 2.
    axes : two Axes, optional
        Axes for the full and the zoomed view. A new figure is made if omitted.
    zoom : float, default 0.4
        Half-width of the zoomed view, > 0.
    title : str, default "Value weights after training"
        Figure title; only set when this function makes the figure.

    Returns
    -------
    Figure
    """
    if result.parameters is None:
        raise ValueError(f"result {result.name!r} has no parameters. Train it with record_parameters=True")
    w_v = to_numpy(result.parameters["attention.W_v.weight"][..., 0])  # (S, d_v)
    if w_v.shape[1] < 2:
        raise ValueError(f"W_v must have at least 2 components to scatter, got d_v = {w_v.shape[1]}")
    if not zoom > 0:
        raise ValueError(f"zoom must be a number > 0, got {zoom!r} instead")
    if axes is None:
        fig = Figure(figsize=(10.0, 5.0), layout="constrained")
        axes = fig.subplots(1, 2)
        fig.suptitle(title)
    axes = list(np.ravel(axes))
    if len(axes) != 2:
        raise ValueError(f"axes must hold 2 Axes, got {len(axes)} instead")
    fig = axes[0].figure

    solved = to_numpy(result.solved).astype(bool)
    full_limit = max(np.abs(w_v[:, :2]).max() * 1.05, zoom)
    for ax, limit, panel in ((axes[0], full_limit, "all seeds"), (axes[1], zoom, "around the origin")):
        ax.plot([-limit, limit], [-limit, limit], color="grey", linestyle="--", linewidth=1)
        ax.plot([-limit, limit], [limit, -limit], color="grey", linestyle="--", linewidth=1, label="|w_1| = |w_2|")
        ax.scatter(w_v[solved, 0], w_v[solved, 1], s=8, color="tab:green", alpha=0.6, label=f"solved ({solved.sum()})")
        ax.scatter(
            w_v[~solved, 0], w_v[~solved, 1], s=8, color="tab:red", alpha=0.6, label=f"not solved ({(~solved).sum()})"
        )
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_title(panel)
        ax.set_xlabel("w_1, first component of W_v")
        ax.set_ylabel("w_2, second component of W_v")
    axes[0].legend(loc="upper left", fontsize="small")
    return fig


def plot_training_path(
    snapshots: dict[int, dict[str, torch.Tensor]],
    axes: Sequence[Axes] | None = None,
    *,
    title: str = "How one run gets stuck",
) -> Figure:
    """Draw the attention score q·k/√d_k of a 1-bit token with itself, and the value weights, over epochs.

    A token with bit 1 has query w_q and key w_k, so its score with itself
    is c = w_q·w_k/√d_k, and with a 0-bit token (key 0) it is 0. Its weight
    on itself is therefore the logistic function of c.

    Parameters
    ----------
    snapshots : dict of int to state dict
        Parameters after each epoch, as in TrainResult.snapshots.
    axes : two Axes, optional
        Axes for the score and for the value weights. A new figure is made if omitted.
    title : str, default "How one run gets stuck"
        Figure title; only set when this function makes the figure.

    Returns
    -------
    Figure
    """
    if len(snapshots) < 2:
        raise ValueError(f"snapshots must hold at least 2 epochs, got {len(snapshots)}")
    if axes is None:
        fig = Figure(figsize=(10.0, 3.8), layout="constrained")
        axes = fig.subplots(1, 2)
        fig.suptitle(title)
    axes = list(np.ravel(axes))
    if len(axes) != 2:
        raise ValueError(f"axes must hold 2 Axes, got {len(axes)} instead")
    fig = axes[0].figure

    epochs = np.array(sorted(snapshots))
    w_q = np.stack([to_numpy(snapshots[epoch]["attention.W_q.weight"][:, 0]) for epoch in epochs])
    w_k = np.stack([to_numpy(snapshots[epoch]["attention.W_k.weight"][:, 0]) for epoch in epochs])
    w_v = np.stack([to_numpy(snapshots[epoch]["attention.W_v.weight"][:, 0]) for epoch in epochs])
    score = (w_q * w_k).sum(axis=1) / np.sqrt(w_q.shape[1])

    axes[0].plot(epochs, score, color="tab:blue")
    axes[0].axhline(0, color="grey", linewidth=1)
    axes[0].set_title("score c of a 1-bit token with itself")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("c = w_q·w_k / √d_k")
    for component in range(w_v.shape[1]):
        axes[1].plot(epochs, w_v[:, component], label=f"w_{component + 1}")
    axes[1].axhline(0, color="grey", linewidth=1)
    axes[1].set_title("value weights W_v")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("weight")
    axes[1].legend(loc="best")
    return fig
