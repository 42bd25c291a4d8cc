"""Figures for the lessons: loss curve, attention weights, representation and decision boundary.

Each helper draws into the axes it is given, or into a new matplotlib Figure
made without pyplot, and returns the figure. None of them shows or saves a
figure, and none leaves a pyplot figure open, so the caller decides what
happens to it (display in a notebook, `fig.savefig(...)` in a script).

Colours are fixed across calls so that panels from different runs compare:
attention weights use the range [0, 1], and targets and predictions use a
diverging map from blue (-1) over white (0) to red (+1).
"""

from collections.abc import Callable, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from torch import nn

from .config import SOLVE_LOSS_THRESHOLD
from .data import XOR_BITS, XOR_LABELS, XOR_TARGETS, bits_to_tokens, check_finite, xor_dataset
from .model import XorAttentionModel
from .training import TrainResult

# Diverging colour map for signed values: blue below 0, white at 0, red above.
SIGNED_CMAP = "RdBu_r"

# Predictions are clipped to ±PREDICTION_LIMIT before colouring, so every
# decision-boundary plot uses the same colour scale whatever the model outputs.
PREDICTION_LIMIT = 1.5

# Input range of the decision-boundary grid: the unit square plus half a unit
# on every side, so the boundary is visible between and around the four inputs.
GRID_LIMITS = (-0.5, 1.5)

# Colour map of the attention weights, drawn on the fixed range [0, 1].
WEIGHTS_CMAP = "viridis"


def plot_loss_curve(
    losses: torch.Tensor | Sequence[float],
    ax: Axes | None = None,
    *,
    threshold: float = SOLVE_LOSS_THRESHOLD,
    solved_epoch: int | None = None,
    title: str = "Training loss",
) -> Figure:
    """Plot the mean squared error per epoch on a log scale.

    Parameters
    ----------
    losses : Tensor or sequence of float, shape (epochs,)
        losses[i] is the loss at epoch i + 1, as in `TrainResult.losses`.
    ax : Axes, optional
        Axes to draw into. A new figure is made if omitted.
    threshold : float, default SOLVE_LOSS_THRESHOLD
        Loss below which XOR counts as solved, drawn as a dashed line.
    solved_epoch : int, optional
        Epoch at which the run was first solved, drawn as a dotted line.
    title : str, default "Training loss"

    Returns
    -------
    Figure
        The figure containing the plot.
    """
    values = to_numpy(losses)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"losses must be a non-empty 1-D sequence, got shape {values.shape} instead")
    check_finite(torch.from_numpy(values), "losses")
    if (values < 0).any():
        raise ValueError(f"losses must be >= 0, got a value of {values.min()}")

    fig, ax = figure_and_axes(ax, figsize=(6.0, 4.0))
    epochs = np.arange(1, values.size + 1)
    # A loss of exactly 0 has no place on a log axis; matplotlib leaves such points out.
    ax.plot(epochs, values, color="tab:blue", label="loss (MSE)")
    ax.axhline(threshold, color="grey", linestyle="--", label=f"solve threshold ({threshold:g})")
    if solved_epoch is not None:
        ax.axvline(solved_epoch, color="tab:green", linestyle=":", label=f"solved at epoch {solved_epoch}")

    ax.set_yscale("log")
    ax.set_xlim(1, max(values.size, 2))
    ax.set_title(title)
    ax.set_xlabel("epoch (full-batch step)")
    ax.set_ylabel("mean squared error (log scale)")
    ax.legend(loc="best")
    return fig


def plot_attention_weights(
    attn_weights: torch.Tensor,
    axes: Sequence[Axes] | None = None,
    *,
    bits: Sequence[Sequence[float]] = XOR_BITS,
    title: str = "Attention weights",
    label: str = "attention weight",
) -> Figure:
    """Draw one 2x2 heatmap of attention weights per input, side by side.

    Rows are query tokens and columns are key tokens, so row i shows how
    token i spreads its attention. Each token is labelled by its position
    and bit value ("x1=0"). The colour range is fixed to [0, 1].

    Parameters
    ----------
    attn_weights : Tensor of shape (N, 2, 2)
        One weight matrix per input. N = 4 for the XOR inputs.
    axes : sequence of N Axes, optional
        Axes to draw into, all on one figure. A new figure is made if omitted.
    bits : sequence of N (x1, x2) pairs, default XOR_BITS
        The inputs the weights belong to, used for titles and token labels.
    title : str, default "Attention weights"
        Figure title; only set when this function makes the figure, since the
        caller's figure may hold other plots.
    label : str, default "attention weight"
        Colour bar label, for example "mixing weight" for the fixed mixings.

    Returns
    -------
    Figure
        The figure containing the heatmaps and one shared colour bar.
    """
    weights = to_numpy(attn_weights)
    n_inputs = len(bits)
    if weights.shape != (n_inputs, 2, 2):
        raise ValueError(
            f"attn_weights must have shape ({n_inputs}, 2, 2), one 2x2 matrix per input, "
            f"got {weights.shape} instead"
        )
    check_finite(torch.from_numpy(weights), "attn_weights")
    if weights.min() < 0 or weights.max() > 1 + 1e-6:
        raise ValueError(
            "attn_weights must lie in [0, 1] (weights after the softmax), "
            f"got values from {weights.min():.3g} to {weights.max():.3g}"
        )

    if axes is None:
        fig = Figure(figsize=(3.0 * n_inputs + 1.0, 3.4), layout="constrained")
        axes = fig.subplots(1, n_inputs, squeeze=False)[0]
        fig.suptitle(title)
    axes = list(np.ravel(axes))
    if len(axes) != n_inputs:
        raise ValueError(f"axes must hold {n_inputs} Axes, one per input, got {len(axes)} instead")
    fig = axes[0].figure

    for ax, matrix, input_bits in zip(axes, weights, bits):
        image = draw_weight_matrix(ax, matrix, input_bits)
    axes[0].set_ylabel("query token")
    fig.colorbar(image, ax=axes, label=label, shrink=0.8)
    return fig


def draw_weight_matrix(ax: Axes, matrix: np.ndarray, input_bits: Sequence[float]):
    """Draw one 2x2 weight matrix with its values written in the cells; return the image."""
    image = ax.imshow(matrix, cmap=WEIGHTS_CMAP, vmin=0.0, vmax=1.0)
    token_labels = [f"x{position + 1}={bit:g}" for position, bit in enumerate(input_bits)]
    ax.set_xticks(range(2), token_labels)
    ax.set_yticks(range(2), token_labels)
    ax.set_xlabel("key token")
    ax.set_title(f"input {format_bits(input_bits)}")

    for row in range(2):
        for column in range(2):
            weight = matrix[row, column]
            # Dark text on the light (high) end of viridis, light text on the dark end.
            color = "black" if weight > 0.6 else "white"
            ax.text(column, row, f"{weight:.2f}", ha="center", va="center", color=color)
    return image


def plot_representation(
    representation: torch.Tensor,
    ax: Axes | None = None,
    *,
    output_layer: nn.Linear | None = None,
    targets: Sequence[float] = XOR_TARGETS,
    labels: Sequence[str] = XOR_LABELS,
    title: str = "Representation read by the final linear layer",
) -> Figure:
    """Scatter the 2-D representation of the four inputs, coloured by target.

    With `output_layer`, the plot also shades each side of the line where the
    layer's output is 0. The model solves XOR only if that line puts the -1
    points on one side and the +1 points on the other.

    Parameters
    ----------
    representation : Tensor of shape (4, 2)
        `ModelOutput.representation` for the four XOR inputs (d_repr must be 2).
    ax : Axes, optional
        Axes to draw into. A new figure is made if omitted.
    output_layer : nn.Linear, optional
        The final linear layer (`model.output`), with 2 inputs and 1 output.
    targets : sequence of 4 float, default XOR_TARGETS
        Target of each point, which sets its colour (-1 blue, +1 red).
    labels : sequence of 4 str, default XOR_LABELS
        Text written next to each point.
    title : str

    Returns
    -------
    Figure
        The figure containing the plot.

    Raises
    ------
    ValueError
        If d_repr is not 2, or if output_layer does not map 2 inputs to 1 output.
    """
    points = to_numpy(representation)
    if points.ndim != 2 or points.shape[0] != len(labels):
        raise ValueError(
            f"representation must have shape ({len(labels)}, d_repr), got {points.shape} instead"
        )
    if points.shape[1] != 2:
        raise ValueError(
            f"plot_representation draws a 2-D representation, so d_repr must be 2, "
            f"got d_repr={points.shape[1]} instead"
        )
    check_finite(torch.from_numpy(points), "representation")
    if output_layer is not None and (output_layer.in_features, output_layer.out_features) != (2, 1):
        raise ValueError(
            "output_layer must be an nn.Linear with 2 inputs and 1 output, got "
            f"{output_layer.in_features} inputs and {output_layer.out_features} outputs instead"
        )

    fig, ax = figure_and_axes(ax, figsize=(5.5, 5.0))
    xlim, ylim = padded_limits(points)
    if output_layer is not None:
        draw_output_layer_sides(ax, output_layer, xlim, ylim)

    ax.scatter(
        points[:, 0], points[:, 1], c=list(targets), cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0,
        s=120, edgecolors="black", zorder=3,
    )
    annotate_points(ax, points, labels, targets)

    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_title(title)
    ax.set_xlabel("representation, unit 1")
    ax.set_ylabel("representation, unit 2")
    add_target_legend(ax, with_boundary=output_layer is not None)
    return fig


def draw_output_layer_sides(ax: Axes, output_layer: nn.Linear, xlim, ylim) -> None:
    """Shade where the output layer is above and below 0, and draw the line where it is 0."""
    weight = output_layer.weight.detach().double().numpy()[0]  # (1, 2) -> (2,)
    bias = output_layer.bias.detach().double().item() if output_layer.bias is not None else 0.0

    x = np.linspace(*xlim, 200)
    y = np.linspace(*ylim, 200)
    grid_x, grid_y = np.meshgrid(x, y)  # (200, 200): rows follow y, columns follow x
    output = weight[0] * grid_x + weight[1] * grid_y + bias

    levels = np.linspace(-PREDICTION_LIMIT, PREDICTION_LIMIT, 13)
    clipped = np.clip(output, -PREDICTION_LIMIT, PREDICTION_LIMIT)
    ax.contourf(x, y, clipped, levels=levels, cmap=SIGNED_CMAP, alpha=0.35)
    if output.min() < 0 < output.max():
        ax.contour(x, y, output, levels=[0.0], colors="black", linewidths=2)


def plot_decision_boundary(
    model_or_function: XorAttentionModel | Callable[[torch.Tensor], torch.Tensor],
    ax: Axes | None = None,
    *,
    resolution: int = 101,
    limits: tuple[float, float] = GRID_LIMITS,
    title: str = "Decision boundary over the input plane",
) -> Figure:
    """Colour the input plane by the model's prediction and draw where it is 0.

    The first bit x1 runs along the horizontal axis and the second bit x2
    along the vertical axis. Predictions are clipped to ±1.5 so the colours
    mean the same in every plot. The four XOR inputs are marked with their
    targets.

    Parameters
    ----------
    model_or_function : XorAttentionModel or callable
        The model, or any function that maps a float tensor of bit values of
        shape (N, 2) to predictions of shape (N,) or (N, 1), for example an MLP.
    ax : Axes, optional
        Axes to draw into. A new figure is made if omitted.
    resolution : int, default 101
        Grid points per axis.
    limits : (float, float), default (-0.5, 1.5)
        Range of both x1 and x2.
    title : str

    Returns
    -------
    Figure
        The figure containing the plot and its colour bar.
    """
    x1, x2, predictions = evaluate_on_grid(model_or_function, resolution=resolution, limits=limits)
    fig, ax = figure_and_axes(ax, figsize=(6.0, 5.0))

    levels = np.linspace(-PREDICTION_LIMIT, PREDICTION_LIMIT, 13)
    clipped = np.clip(predictions, -PREDICTION_LIMIT, PREDICTION_LIMIT)
    filled = ax.contourf(x1, x2, clipped, levels=levels, cmap=SIGNED_CMAP)
    # contour() finds nothing to draw when the prediction never changes sign.
    if predictions.min() < 0 < predictions.max():
        ax.contour(x1, x2, predictions, levels=[0.0], colors="black", linewidths=2)

    bits = np.array(XOR_BITS)
    ax.scatter(
        bits[:, 0], bits[:, 1], c=list(XOR_TARGETS), cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0,
        s=120, edgecolors="black", zorder=3,
    )
    annotate_points(ax, bits, XOR_LABELS, XOR_TARGETS)

    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xlabel("x1 (first bit)")
    ax.set_ylabel("x2 (second bit)")
    add_target_legend(ax, with_boundary=True)
    fig.colorbar(filled, ax=ax, label=f"prediction (clipped to ±{PREDICTION_LIMIT:g})")
    return fig


def evaluate_on_grid(
    model_or_function: XorAttentionModel | Callable[[torch.Tensor], torch.Tensor],
    *,
    resolution: int = 101,
    limits: tuple[float, float] = GRID_LIMITS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate predictions on a square grid of inputs, without tracking gradients.

    Returns
    -------
    x1 : ndarray of shape (resolution,)
        Values of the first bit, left to right.
    x2 : ndarray of shape (resolution,)
        Values of the second bit, bottom to top.
    predictions : ndarray of shape (resolution, resolution)
        predictions[i, j] is the prediction for the input (x1[j], x2[i]), the
        layout that `contourf(x1, x2, predictions)` expects.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    low, high = limits
    if not low < high:
        raise ValueError(f"limits must be (low, high) with low < high, got {limits!r}")

    values = torch.linspace(low, high, resolution)
    grid_x2, grid_x1 = torch.meshgrid(values, values, indexing="ij")  # (R, R): rows follow x2
    bits = torch.stack([grid_x1.flatten(), grid_x2.flatten()], dim=1)  # (R*R, 2)

    with torch.no_grad():
        predictions = predict(model_or_function, bits)  # (R*R,)
    check_finite(predictions, "predictions")
    grid = predictions.reshape(resolution, resolution).double().numpy()
    axis = values.double().numpy()
    return axis, axis.copy(), grid


def predict(model_or_function, bits: torch.Tensor) -> torch.Tensor:
    """Return predictions of shape (N,) for inputs of shape (N, 2)."""
    if isinstance(model_or_function, XorAttentionModel):
        return model_or_function(bits_to_tokens(bits)).prediction.flatten()

    predictions = torch.as_tensor(model_or_function(bits))
    n_inputs = bits.shape[0]
    if predictions.shape not in ((n_inputs,), (n_inputs, 1)):
        raise ValueError(
            f"the function must return predictions of shape ({n_inputs},) or ({n_inputs}, 1) "
            f"for {n_inputs} inputs, got {tuple(predictions.shape)} instead"
        )
    return predictions.flatten()


def plot_result(result: TrainResult) -> Figure:
    """Summarise a training run in one figure.

    The top row shows the loss curve, the representation (when d_repr is 2)
    and the decision boundary. The bottom row shows the mixing weights for
    the four inputs.
    """
    tokens, _ = xor_dataset()
    with torch.no_grad():
        output = result.model(tokens)

    fig = Figure(figsize=(15.0, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 12)
    loss_ax = fig.add_subplot(grid[0, 0:4])
    representation_ax = fig.add_subplot(grid[0, 4:8])
    boundary_ax = fig.add_subplot(grid[0, 8:12])
    weight_axes = [fig.add_subplot(grid[1, 3 * i : 3 * i + 3]) for i in range(4)]

    plot_loss_curve(result.losses, loss_ax, threshold=result.config.solve_threshold, solved_epoch=result.solved_epoch)
    if result.config.d_repr == 2:
        plot_representation(output.representation, representation_ax, output_layer=result.model.output)
    else:
        representation_ax.set_title("Representation")
        representation_ax.text(
            0.5, 0.5, f"d_repr = {result.config.d_repr}: no 2-D plot",
            ha="center", va="center", transform=representation_ax.transAxes,
        )
        representation_ax.set_axis_off()
    plot_decision_boundary(result.model, boundary_ax)
    label = "attention weight" if result.config.mixing == "attention" else "mixing weight"
    plot_attention_weights(output.attn_weights, weight_axes, label=label)

    outcome = f"solved at epoch {result.solved_epoch}" if result.solved else "not solved"
    seed = "" if result.seed is None else f"seed {result.seed}, "
    fig.suptitle(
        f"{seed}mixing {result.config.mixing}: {outcome}, final loss {result.final_loss:.2g}"
    )
    return fig


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ax and its figure, or a new figure with one axes (made without pyplot)."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def annotate_points(ax: Axes, points: np.ndarray, labels: Sequence[str], targets: Sequence[float]) -> None:
    """Write "input → target" next to each point, on alternating sides.

    Inputs that the model maps to the same place (a common way to get stuck)
    then keep readable labels.
    """
    for index, (label, target, (x, y)) in enumerate(zip(labels, targets, points)):
        offset, align = ((8, 8), "left") if index % 2 == 0 else ((-8, -16), "right")
        ax.annotate(
            f"{label} → {target:+g}", (x, y), xytext=offset, textcoords="offset points", ha=align,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.75, "linewidth": 0},
        )


def add_target_legend(ax: Axes, with_boundary: bool) -> None:
    """Add a legend for the target colours, and for the prediction-0 line if drawn, below the axes."""
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=9, markeredgecolor="black",
               markerfacecolor=cmap(position), label=f"target {target}")
        for target, position in (("-1", 0.0), ("+1", 1.0))  # -1 and +1 are the ends of the scale
    ]
    if with_boundary:
        handles.append(Line2D([], [], color="black", linewidth=2, label="prediction = 0"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=len(handles))


def padded_limits(points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits that hold all points with a margin, equal in size on both axes."""
    low = points.min(axis=0)
    high = points.max(axis=0)
    center = (low + high) / 2
    half_span = max((high - low).max() / 2, 0.5) * 1.3
    return (
        (center[0] - half_span, center[0] + half_span),
        (center[1] - half_span, center[1] + half_span),
    )


def format_bits(bits: Sequence[float]) -> str:
    """Format an input as in XOR_LABELS, for example "(0,1)"."""
    return "(" + ",".join(f"{bit:g}" for bit in bits) + ")"


def to_numpy(values) -> np.ndarray:
    """Return a float64 NumPy copy of a tensor (detached) or of any array-like."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    return np.array(values, dtype=np.float64)
