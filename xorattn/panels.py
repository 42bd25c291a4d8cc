"""Figures behind the notebook sliders, each redrawn in place when a value changes.

Three panels, one Figure each:

- `TrainingScrubber`: one training run at its saved epochs (decision boundary,
  attention weights of the four inputs, loss curve with the current epoch).
- `InputInspector`: every intermediate of the model for one continuous input
  (queries, keys, values, attn_scores, attn_weights, representation, prediction).
- `ExperimentPanel`: trains with new settings and shows whether XOR was solved.

Every panel has `update(...)`, which takes the slider values, changes the
figure's artists and returns the numbers it drew, and `render_png()`, which
returns the figure as PNG bytes. widgets.py puts those bytes into an
ipywidgets.Image; this module does not import ipywidgets, so tests and
scripts call the panels directly.

Redraws are fast because only the changing artists are drawn (blitting). The
axes, ticks, labels and colour bars are drawn once and kept as pixels, which
are restored before the changing artists are drawn over them.
"""

import io
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from PIL import Image

from .config import Config
from .data import XOR_BITS, XOR_LABELS, XOR_TARGETS, bits_to_tokens, xor_dataset
from .model import XorAttentionModel, build_model
from .plotting import (
    GRID_LIMITS,
    PREDICTION_LIMIT,
    SIGNED_CMAP,
    WEIGHTS_CMAP,
    evaluate_on_grid,
    padded_limits,
)
from .training import TrainingDivergedError, TrainResult, torch_threads, train
from .variants import VARIANT_SETTINGS

# Grid points per axis for the decision boundary. 81 x 81 = 6561 inputs go
# through the model in one batched forward pass, and the 0.025 spacing keeps
# the contour smooth at the size the panels are drawn.
PANEL_RESOLUTION = 81

# Pixels per inch of the panel figures. A 13-inch-wide panel is 1040 pixels,
# about the width of a notebook cell on a laptop screen.
PANEL_DPI = 80

# zlib level for the PNG bytes. On a 936 x 288 test figure, level 1 took
# about 6 ms against 11 ms at the default level 6, for a file about 5% larger.
PNG_COMPRESS_LEVEL = 1

# Colour bands of the prediction, the same 13 levels from -1.5 to +1.5 that
# plot_decision_boundary uses, so panels and static plots look alike.
BOUNDARY_LEVELS = np.linspace(-PREDICTION_LIMIT, PREDICTION_LIMIT, 13)

# Colour bar label of every decision-boundary plot.
PREDICTION_LABEL = f"prediction (clipped to ±{PREDICTION_LIMIT:g})"

# Attention weights above this are written in black, below it in white, to
# stay readable on the light and dark ends of the viridis colour map.
DARK_TEXT_ABOVE = 0.6

# Points per side of the grid over the unit square whose representations
# set the inspector's representation limits. 21 points are 0.05 apart, the
# step of the x1 and x2 sliders.
SQUARE_POINTS = 21

# Lowest loss shown by the experiment panel's log axis unless a run goes lower.
LOSS_FLOOR = 1e-8


class BlittedFigure:
    """A Figure drawn in two layers: a background kept as pixels, and the artists that change.

    Artists passed to `track` are drawn on every render, in the order they
    were tracked; everything else is drawn once into the background. The
    figure stays an ordinary Figure: displaying or saving it draws everything.

    Parameters
    ----------
    figsize : (float, float)
        Figure size in inches.
    """

    def __init__(self, figsize: tuple[float, float]):
        self.figure = Figure(figsize=figsize, dpi=PANEL_DPI, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic: list[Artist] = []
        self.background = None
        self.renderer = None

    def track(self, artist: Artist, after: Artist | None = None) -> Artist:
        """Draw artist on every render, last or right after another tracked artist."""
        position = len(self.dynamic) if after is None else self.dynamic.index(after) + 1
        self.dynamic.insert(position, artist)
        return artist

    def untrack(self, artist: Artist) -> None:
        """Move a tracked artist into the background, for one that no longer changes."""
        self.dynamic.remove(artist)
        self.redraw_background()

    def discard(self, artist: Artist) -> None:
        """Stop drawing a tracked artist and remove it from its axes."""
        self.dynamic.remove(artist)
        artist.remove()

    def redraw_background(self) -> None:
        """Draw the background again on the next render, after a static artist changed."""
        self.background = None

    def render_png(self) -> bytes:
        """Draw the changing artists over the background and return the figure as PNG bytes."""
        # Saving or displaying the figure at another size replaces the canvas's
        # renderer, and the saved pixels belong to the old one.
        if self.background is None or self.canvas.get_renderer() is not self.renderer:
            self.draw_background()
        else:
            self.canvas.restore_region(self.background)

        for artist in self.dynamic:
            self.figure.draw_artist(artist)  # draws nothing for an artist set invisible
        return encode_png(self.canvas)

    def draw_background(self) -> None:
        """Draw the figure without the tracked artists and keep the pixels."""
        # Lay the figure out while every artist is visible, since the layout
        # leaves no room for hidden ones such as the title. Then keep those
        # positions, so that later renders line up with the saved background.
        layout = self.figure.get_layout_engine()
        if layout is not None:
            layout.execute(self.figure)
        self.figure.set_layout_engine("none")

        visible = [artist.get_visible() for artist in self.dynamic]
        for artist in self.dynamic:
            artist.set_visible(False)
        self.canvas.draw()
        for artist, was_visible in zip(self.dynamic, visible):
            artist.set_visible(was_visible)
        self.renderer = self.canvas.get_renderer()
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """Return the canvas pixels as PNG bytes."""
    width, height = canvas.get_width_height()
    # frombuffer reads the canvas memory in place, without a copy.
    pixels = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    pixels.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


class BoundaryView:
    """A decision-boundary plot whose colours and prediction-0 contour are replaced in place.

    x1 runs along the horizontal axis and x2 along the vertical axis over
    GRID_LIMITS, with the four XOR inputs marked with their targets.

    Parameters
    ----------
    plot : BlittedFigure
        The figure that ax belongs to.
    ax : Axes
    resolution : int, default PANEL_RESOLUTION
        Grid points per axis.
    title : str
    colorbar : bool, default True
        Draw a colour bar next to ax. Plots that share one colour bar pass False.
    """

    def __init__(
        self, plot: BlittedFigure, ax: Axes, resolution: int = PANEL_RESOLUTION, title: str = "", colorbar: bool = True
    ):
        self.plot = plot
        self.ax = ax
        self.resolution = resolution
        self.x1 = np.linspace(*GRID_LIMITS, resolution)
        self.x2 = self.x1.copy()
        self.contour = None

        # Each grid value fills a square cell centred on its grid point.
        half_cell = (self.x1[1] - self.x1[0]) / 2
        low, high = GRID_LIMITS[0] - half_cell, GRID_LIMITS[1] + half_cell
        norm = BoundaryNorm(BOUNDARY_LEVELS, ncolors=256, clip=True)
        self.image = ax.imshow(
            np.zeros((resolution, resolution)), origin="lower", extent=(low, high, low, high),
            cmap=SIGNED_CMAP, norm=norm, interpolation="bilinear", interpolation_stage="data",
        )
        if colorbar:
            plot.figure.colorbar(self.image, ax=ax, label=PREDICTION_LABEL, shrink=0.85)

        # The XOR inputs, their labels and the axes frame are drawn over the colours.
        self.overlays: list[Artist] = list(ax.spines.values())
        bits = np.array(XOR_BITS)
        self.overlays.append(ax.scatter(
            bits[:, 0], bits[:, 1], c=list(XOR_TARGETS), cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0,
            s=90, edgecolors="black", zorder=3,
        ))
        for label, target, (b1, b2) in zip(XOR_LABELS, XOR_TARGETS, bits):
            self.overlays.append(
                ax.annotate(f"{label} → {target:+g}", (b1, b2), xytext=(6, 6), textcoords="offset points")
            )
        for artist in (self.image, *self.overlays):
            plot.track(artist)

        ax.set_xlim(GRID_LIMITS)
        ax.set_ylim(GRID_LIMITS)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_xlabel("x1 (first bit)")
        ax.set_ylabel("x2 (second bit)")

    def update(self, predictions: np.ndarray) -> None:
        """Show new grid predictions of shape (resolution, resolution), rows following x2."""
        expected = (self.resolution, self.resolution)
        if predictions.shape != expected:
            raise ValueError(f"predictions must have shape {expected}, got {predictions.shape} instead")

        self.image.set_data(np.clip(predictions, -PREDICTION_LIMIT, PREDICTION_LIMIT))

        self.remove_contour()
        # contour() finds nothing to draw when the prediction never changes sign.
        if predictions.min() < 0 < predictions.max():
            contour = self.ax.contour(self.x1, self.x2, predictions, levels=[0.0], colors="black", linewidths=2)
            self.contour = self.plot.track(contour, after=self.image)

    def clear(self) -> None:
        """Show an empty plane, for a model that has no predictions to show."""
        self.image.set_data(np.full((self.resolution, self.resolution), np.nan))
        self.remove_contour()

    def remove_contour(self) -> None:
        """Remove the prediction-0 contour, if one is drawn."""
        if self.contour is None:
            return
        if self.contour in self.plot.dynamic:
            self.plot.discard(self.contour)
        else:
            self.contour.remove()
            self.plot.redraw_background()
        self.contour = None

    def freeze(self) -> None:
        """Move the whole plot into the background, for a model that no longer changes."""
        for artist in (self.image, self.contour, *self.overlays):
            if artist is not None:
                self.plot.untrack(artist)


class WeightsView:
    """A 2x2 attention-weight heatmap with its values written in the cells, updated in place.

    Rows are query tokens and columns are key tokens; colours span [0, 1].
    """

    def __init__(self, plot: BlittedFigure, ax: Axes, title: str, token_labels: tuple[str, str] = ("x1", "x2")):
        self.image = plot.track(ax.imshow(np.zeros((2, 2)), cmap=WEIGHTS_CMAP, vmin=0.0, vmax=1.0))
        self.texts = [
            [plot.track(ax.text(column, row, "", ha="center", va="center")) for column in range(2)]
            for row in range(2)
        ]
        ax.set_xticks(range(2), token_labels)
        ax.set_yticks(range(2), token_labels)
        ax.set_title(title, fontsize="medium")

    def update(self, matrix: np.ndarray) -> None:
        """Show a new (2, 2) weight matrix."""
        self.image.set_data(matrix)
        for row in range(2):
            for column in range(2):
                weight = matrix[row, column]
                text = self.texts[row][column]
                text.set_text(f"{weight:.2f}")
                text.set_color("black" if weight > DARK_TEXT_ABOVE else "white")


def compare_boundaries(
    models: Mapping[str, XorAttentionModel | Callable[[torch.Tensor], torch.Tensor]],
    resolution: int = PANEL_RESOLUTION,
) -> Figure:
    """Draw the decision boundaries of several models side by side with one colour bar.

    Parameters
    ----------
    models : mapping of str to XorAttentionModel or callable
        Title of each plot and its model, or a function that maps bits of
        shape (N, 2) to predictions of shape (N,) or (N, 1).
    resolution : int, default PANEL_RESOLUTION
        Grid points per axis.

    Returns
    -------
    Figure
        One row of plots sharing the colour scale of every boundary plot.
    """
    if not models:
        raise ValueError("models must name at least one model, got an empty mapping")
    plot = BlittedFigure(figsize=(3.7 * len(models) + 1.0, 4.0))
    axes = plot.figure.subplots(1, len(models), squeeze=False)[0]
    for ax, (title, model) in zip(axes, models.items()):
        view = BoundaryView(plot, ax, resolution, title=title, colorbar=False)
        predictions = evaluate_grid(model, resolution)
        view.update(predictions)
    for ax in axes[1:]:
        ax.set_ylabel("")
    plot.figure.colorbar(view.image, ax=axes, label=PREDICTION_LABEL, shrink=0.85)
    return plot.figure


def evaluate_grid(
    model: XorAttentionModel | Callable[[torch.Tensor], torch.Tensor], resolution: int
) -> np.ndarray:
    """Return the model's predictions on the boundary grid, shape (resolution, resolution), rows following x2.

    The forward pass runs on one thread. The model is too small for a second
    thread to help, and on a busy 2-core machine two threads made an 81 x 81
    grid about ten times slower (27 ms against 2.3 ms, measured with torch 2.13).
    """
    with torch_threads(1):
        _, _, predictions = evaluate_on_grid(model, resolution=resolution)
    return predictions


def mean_squared_error(predictions: torch.Tensor) -> float:
    """Return the mean squared error of (4, 1) predictions against the XOR targets."""
    _, targets = xor_dataset()
    return torch.nn.functional.mse_loss(predictions, targets).item()


def count_right_signs(predictions: torch.Tensor) -> int:
    """Return how many of the (4, 1) predictions have their target's sign."""
    _, targets = xor_dataset()
    return int((torch.sign(predictions) == torch.sign(targets)).sum())


# ---------------------------------------------------------------- training scrubber


class ScrubberFrame(NamedTuple):
    """The data the training scrubber draws for one saved epoch."""

    epoch: int
    grid_predictions: np.ndarray  # (resolution, resolution), rows follow x2
    attn_weights: np.ndarray  # (4, 2, 2) for the four XOR inputs
    predictions: np.ndarray  # (4,) for (0,0), (0,1), (1,0), (1,1)
    loss: float  # mean squared error of the saved parameters


class TrainingScrubber:
    """One training run seen at its saved epochs.

    Shows the decision boundary, the attention weights of the four XOR inputs
    and the loss curve with a marker at the chosen epoch.

    Parameters
    ----------
    result : TrainResult
        A run trained with `snapshot_epochs`. Only the saved epochs can be
        shown, and each is evaluated on the grid when the scrubber is built
        (building it took about 1 s for 121 saved epochs on a 2-core CPU).
    resolution : int, default PANEL_RESOLUTION
        Grid points per axis of the decision boundary.
    """

    def __init__(self, result: TrainResult, resolution: int = PANEL_RESOLUTION):
        if not result.snapshots:
            raise ValueError(
                "result must contain parameter snapshots, got a run without any; "
                "train with snapshot_epochs=... to scrub through it"
            )
        self.result = result
        self.resolution = resolution
        self.epochs = sorted(result.snapshots)
        self.model = build_model(result.config)  # receives each snapshot's parameters
        # Every saved epoch is evaluated here, once, so that a slider move only draws.
        self.frames = {epoch: self.compute_frame(epoch) for epoch in self.epochs}

        self.plot = BlittedFigure(figsize=(13.0, 4.3))
        figure = self.plot.figure
        grid = figure.add_gridspec(1, 3, width_ratios=(1.25, 1.0, 1.25))
        self.boundary = BoundaryView(
            self.plot, figure.add_subplot(grid[0]), resolution, title="Decision boundary (black: prediction = 0)"
        )
        weight_axes = grid[1].subgridspec(2, 2).subplots()
        self.weights = [
            WeightsView(self.plot, ax, f"input {label}") for ax, label in zip(weight_axes.flat, XOR_LABELS)
        ]
        for ax in weight_axes[:, 0]:
            ax.set_ylabel("query token")
        for ax in weight_axes[1, :]:
            ax.set_xlabel("key token")
        self.loss_ax = figure.add_subplot(grid[2])
        self.marker, self.epoch_line = self.draw_loss_curve(self.loss_ax)
        self.title = self.plot.track(figure.suptitle(""))
        self.update(self.epochs[-1])

    @property
    def figure(self) -> Figure:
        """The one figure that every update redraws."""
        return self.plot.figure

    def draw_loss_curve(self, ax: Axes):
        """Draw the run's loss curve once; return the marker and line that follow the epoch."""
        losses = self.result.losses.numpy()
        ax.plot(np.arange(1, losses.size + 1), losses, color="tab:blue", label="loss (MSE)")
        threshold = self.result.config.solve_threshold
        ax.axhline(threshold, color="grey", linestyle="--", label=f"solve threshold ({threshold:g})")
        ax.set_yscale("log")
        ax.set_xlim(0, self.result.config.epochs)
        ax.set_title("Training loss")
        ax.set_xlabel("epoch (full-batch step)")
        ax.set_ylabel("mean squared error (log scale)")
        ax.legend(loc="upper right")

        epoch_line = self.plot.track(ax.axvline(0, color="tab:orange", linewidth=1))
        (marker,) = ax.plot([], [], "o", color="tab:orange", markersize=8, clip_on=False)
        return self.plot.track(marker), epoch_line

    def frame(self, epoch: int) -> ScrubberFrame:
        """Return what the panel shows at a saved epoch."""
        if epoch not in self.frames:
            raise ValueError(
                f"epoch must be one of the saved epochs {self.epochs[0]}..{self.epochs[-1]} "
                f"({len(self.epochs)} in all), got {epoch!r} instead"
            )
        return self.frames[epoch]

    def compute_frame(self, epoch: int) -> ScrubberFrame:
        """Load the parameters saved at epoch and evaluate them on the grid and the four XOR inputs."""
        self.model.load_state_dict(self.result.snapshots[epoch])
        grid_predictions = evaluate_grid(self.model, self.resolution)
        tokens, _ = xor_dataset()
        with torch.no_grad():
            output = self.model(tokens)
        return ScrubberFrame(
            epoch=epoch,
            grid_predictions=grid_predictions,
            attn_weights=output.attn_weights.numpy(),
            predictions=output.prediction.flatten().numpy(),
            loss=mean_squared_error(output.prediction),
        )

    def update(self, epoch: int) -> ScrubberFrame:
        """Show the run at a saved epoch and return what is shown."""
        frame = self.frame(epoch)

        self.boundary.update(frame.grid_predictions)
        for view, matrix in zip(self.weights, frame.attn_weights):
            view.update(matrix)
        self.epoch_line.set_xdata([epoch, epoch])
        self.marker.set_data([epoch], [frame.loss])

        right = count_right_signs(torch.from_numpy(frame.predictions).unsqueeze(-1))
        seed = "" if self.result.seed is None else f"seed {self.result.seed}, "
        self.title.set_text(
            f"{seed}epoch {epoch} of {self.result.config.epochs}: "
            f"loss {frame.loss:.4f}, {right} of 4 signs right"
        )
        return frame

    def render_png(self) -> bytes:
        """Return the figure as PNG bytes."""
        return self.plot.render_png()


# ---------------------------------------------------------------- input inspector


class InputInspection(NamedTuple):
    """Every intermediate of the model for one input (x1, x2); shapes as in the model, B = 1."""

    tokens: torch.Tensor  # (1, 2, 1)
    queries: torch.Tensor  # (1, 2, d_k)
    keys: torch.Tensor  # (1, 2, d_k)
    values: torch.Tensor  # (1, 2, d_v)
    attn_scores: torch.Tensor  # (1, 2, 2), before the softmax
    attn_weights: torch.Tensor  # (1, 2, 2), the mixing weights the model uses
    representation: torch.Tensor  # (1, d_repr)
    prediction: torch.Tensor  # (1, 1)


class InputInspector:
    """One trained model looked at for one continuous input (x1, x2).

    The figure shows the input's position on the decision boundary, its
    attn_weights as a heatmap, and its point in the 2-D representation read by
    the final linear layer. The numbers (queries, keys, values, attn_scores,
    representation, prediction) come from `format_inspection`, shown as text
    next to the figure, since drawing text is the slowest part of a render.

    Parameters
    ----------
    model : XorAttentionModel
        The model to inspect; its parameters are read, never changed.
    resolution : int, default PANEL_RESOLUTION
        Grid points per axis of the decision boundary.
    """

    def __init__(self, model: XorAttentionModel, resolution: int = PANEL_RESOLUTION):
        self.model = model
        self.plot = BlittedFigure(figsize=(11.5, 4.3))
        figure = self.plot.figure
        grid = figure.add_gridspec(1, 3, width_ratios=(1.3, 0.75, 1.0))

        boundary_ax = figure.add_subplot(grid[0])
        self.boundary = BoundaryView(self.plot, boundary_ax, resolution, title="Decision boundary")
        grid_predictions = evaluate_grid(model, resolution)
        self.boundary.update(grid_predictions)
        self.boundary.freeze()  # the model is fixed, so only the marker moves
        (boundary_marker,) = boundary_ax.plot(
            [], [], "X", color="gold", markeredgecolor="black", markersize=13, clip_on=False
        )
        self.boundary_marker = self.plot.track(boundary_marker)

        weights_ax = figure.add_subplot(grid[1])
        self.weights = WeightsView(self.plot, weights_ax, "attn_weights", token_labels=("token 1", "token 2"))
        weights_ax.set_xlabel("key token")
        weights_ax.set_ylabel("query token")

        self.representation_ax = figure.add_subplot(grid[2])
        self.representation_marker = self.draw_representation_plane(self.representation_ax)
        self.title = self.plot.track(figure.suptitle(""))
        self.update(1.0, 0.0)

    @property
    def figure(self) -> Figure:
        """The one figure that every update redraws."""
        return self.plot.figure

    def inspect(self, x1: float, x2: float) -> InputInspection:
        """Run the model step by step on the input (x1, x2) and return every intermediate."""
        bits = torch.tensor([[check_real(x1, "x1"), check_real(x2, "x2")]])
        tokens = bits_to_tokens(bits)  # (1, T=2, F=1)
        attention = self.model.attention

        with torch.no_grad():
            queries, keys, values = attention.project(tokens)  # (1, 2, d_k), (1, 2, d_k), (1, 2, d_v)

            # (1, 2, d_k) @ (1, d_k, 2) -> (1, 2, 2)
            attn_scores = queries @ keys.transpose(1, 2) / math.sqrt(attention.d_k)

            if self.model.config.mixing == "attention":
                attn_weights = torch.softmax(attn_scores, dim=-1)  # softmax over the keys
            else:
                _, attn_weights = self.model.mix(tokens)  # fixed weights that ignore the scores

            mixed = attn_weights @ values  # (1, 2, 2) @ (1, 2, d_v) -> (1, 2, d_v)

            features = torch.tanh(mixed.flatten(start_dim=1))  # (1, 2 d_v)
            representation = self.model.hidden(features)  # (1, d_repr)
            prediction = self.model.output(representation)  # (1, 1)

        return InputInspection(tokens, queries, keys, values, attn_scores, attn_weights, representation, prediction)

    def update(self, x1: float, x2: float) -> InputInspection:
        """Show the input (x1, x2) and return its intermediates."""
        inspection = self.inspect(x1, x2)
        prediction = inspection.prediction.item()

        self.boundary_marker.set_data([x1], [x2])
        self.weights.update(inspection.attn_weights[0].numpy())
        outside = ""
        if self.representation_marker is not None and self.move_representation_marker(inspection.representation[0]):
            outside = "; representation outside the plotted range"

        side = "+1 side: XOR = 1" if prediction > 0 else "-1 side: XOR = 0"
        self.title.set_text(
            f"input (x1, x2) = ({x1:.2f}, {x2:.2f}): prediction {prediction:+.3f} ({side}){outside}"
        )
        return inspection

    def move_representation_marker(self, point: torch.Tensor) -> bool:
        """Put the marker at a (d_repr,) point; return True if it had to be held at the plot's edge.

        A point outside the axes is drawn hollow on the nearest edge, so the
        marker never disappears.
        """
        xlim, ylim = self.representation_ax.get_xlim(), self.representation_ax.get_ylim()
        r1, r2 = point.tolist()
        clamped = (min(max(r1, xlim[0]), xlim[1]), min(max(r2, ylim[0]), ylim[1]))
        outside = clamped != (r1, r2)
        self.representation_marker.set_data([clamped[0]], [clamped[1]])
        self.representation_marker.set_markerfacecolor("none" if outside else "gold")
        return outside

    def render_png(self) -> bytes:
        """Return the figure as PNG bytes."""
        return self.plot.render_png()

    def draw_representation_plane(self, ax: Axes):
        """Draw the four XOR inputs in representation space; return the marker for the current input.

        The background shows the output of the final linear layer, with its
        0 line. The limits frame the representations of the whole unit square,
        so every input between the four corners stays in view. Returns None
        when d_repr is not 2, since there is no plane to draw.
        """
        d_repr = self.model.config.d_repr
        ax.set_title("Representation")
        if d_repr != 2:
            ax.text(0.5, 0.5, f"d_repr = {d_repr}: no 2-D plot", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return None

        tokens, _ = xor_dataset()
        square = torch.cartesian_prod(*(torch.linspace(0.0, 1.0, SQUARE_POINTS),) * 2)  # (SQUARE_POINTS², 2)
        with torch.no_grad():
            corners = self.model(tokens).representation.numpy()  # (4, 2)
            between = self.model(bits_to_tokens(square)).representation.numpy()  # (SQUARE_POINTS², 2)
            weight = self.model.output.weight[0].double().numpy()  # (2,)
            bias = self.model.output.bias.double().item()
        xlim, ylim = padded_limits(between)

        # The final layer is affine, so its output over the plane is w · r + b.
        r1 = np.linspace(*xlim, 200)
        r2 = np.linspace(*ylim, 200)
        grid_r1, grid_r2 = np.meshgrid(r1, r2)  # (200, 200): rows follow r2
        output = weight[0] * grid_r1 + weight[1] * grid_r2 + bias
        norm = BoundaryNorm(BOUNDARY_LEVELS, ncolors=256, clip=True)
        ax.imshow(output, origin="lower", extent=(*xlim, *ylim), cmap=SIGNED_CMAP, norm=norm, alpha=0.35,
                  aspect="auto")
        if output.min() < 0 < output.max():
            ax.contour(r1, r2, output, levels=[0.0], colors="black", linewidths=2)

        ax.scatter(corners[:, 0], corners[:, 1], c=list(XOR_TARGETS), cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0,
                   s=90, edgecolors="black", zorder=3)
        for label, (r1_point, r2_point) in zip(XOR_LABELS, corners):
            ax.annotate(label, (r1_point, r2_point), xytext=(6, 6), textcoords="offset points")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("representation, unit 1")
        ax.set_ylabel("representation, unit 2")

        (marker,) = ax.plot([], [], "X", color="gold", markeredgecolor="black", markersize=13, zorder=4)
        return self.plot.track(marker)


def check_real(value: float, name: str) -> float:
    """Return value as a float, or raise ValueError unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r} instead")
    return float(value)


def format_number(value: float, width: int = 0) -> str:
    """Format a number with a sign and 2 decimals, printing a value that rounds to zero as +0.00."""
    # Adding 0.0 turns the -0.0 that round() gives for small negative values into 0.0.
    return f"{round(value, 2) + 0.0:>+{width}.2f}"


def format_vector(vector: torch.Tensor) -> str:
    """Format a 1-D tensor as "[+0.12 -0.40]"."""
    return "[" + " ".join(format_number(value) for value in vector.tolist()) + "]"


def format_inspection(inspection: InputInspection, mixing: str) -> str:
    """Return the inspector's table of intermediates as monospaced text."""
    column = max(len(format_vector(inspection.queries[0, 0])), len(format_vector(inspection.values[0, 0])), 7) + 2
    lines = [f"{'':<13}{'token 1':<{column}}token 2"]
    lines.append(f"{'x':<13}" + "".join(f"{format_number(value):<{column}}" for value in inspection.tokens[0, :, 0].tolist()))
    for name, vectors in (("queries", inspection.queries), ("keys", inspection.keys), ("values", inspection.values)):
        lines.append(f"{name:<13}" + "".join(f"{format_vector(vector):<{column}}" for vector in vectors[0]))

    lines.append("")
    for name, matrix in (("attn_scores", inspection.attn_scores), ("attn_weights", inspection.attn_weights)):
        lines.append(f"{name:<13}{'key 1':>7}{'key 2':>7}")
        for row, label in enumerate(("query 1", "query 2")):
            lines.append(f"  {label:<11}" + "".join(format_number(value, 7) for value in matrix[0, row].tolist()))
    if mixing != "attention":
        lines.append(f"(attn_scores not used: {mixing} mixing)")

    lines.append("")
    lines.append(f"{'repr':<13}{format_vector(inspection.representation[0])}")
    lines.append(f"{'prediction':<13}{inspection.prediction.item() + 0.0:+.3f}")
    return "\n".join(line.rstrip() for line in lines)


# ---------------------------------------------------------------- experiment panel


class ExperimentOutcome(NamedTuple):
    """The result of one experiment panel run."""

    config: Config
    seed: int
    result: TrainResult | None  # None when training diverged
    solved: bool
    status: str  # one line saying whether XOR was solved


class ExperimentPanel:
    """Train the model with chosen settings and show the decision boundary, loss and outcome.

    Parameters
    ----------
    resolution : int, default PANEL_RESOLUTION
        Grid points per axis of the decision boundary.
    train_function : callable, default train
        Called as train_function(config, seed) and returns a TrainResult.
    """

    def __init__(self, resolution: int = PANEL_RESOLUTION, train_function: Callable[..., TrainResult] = train):
        self.train_function = train_function
        self.plot = BlittedFigure(figsize=(11.0, 4.3))
        figure = self.plot.figure
        grid = figure.add_gridspec(1, 2, width_ratios=(1.1, 1.0))
        self.boundary = BoundaryView(
            self.plot, figure.add_subplot(grid[0]), resolution, title="Decision boundary (black: prediction = 0)"
        )

        self.loss_ax = figure.add_subplot(grid[1])
        (loss_line,) = self.loss_ax.plot([], [], color="tab:blue", label="loss (MSE)")
        self.loss_line = self.plot.track(loss_line)
        threshold = Config().solve_threshold
        self.loss_ax.axhline(threshold, color="grey", linestyle="--")
        self.loss_ax.set_ylim(LOSS_FLOOR, 10.0)
        self.loss_ax.set_yscale("log")
        # A legend would sit under the loss curve, which is drawn over the background.
        self.loss_ax.set_title(f"Training loss (dashed: solve threshold {threshold:g})")
        self.loss_ax.set_xlabel("epoch (full-batch step)")
        self.loss_ax.set_ylabel("mean squared error (log scale)")
        # Two lines, like the title of a finished run, so the layout leaves room for it.
        self.title = self.plot.track(figure.suptitle("no run yet\nchoose settings and train"))
        self.outcome: ExperimentOutcome | None = None

    @property
    def figure(self) -> Figure:
        """The one figure that every update redraws."""
        return self.plot.figure

    def update(
        self,
        *,
        lr: float = 0.1,
        epochs: int = 2000,
        d_model: int = 2,
        d_repr: int = 2,
        mixing: str = "attention",
        freeze: bool = False,
        seed: int = 0,
    ) -> ExperimentOutcome:
        """Train with these settings, redraw the figure and return the outcome.

        d_model sets both d_k and d_v. freeze keeps W_q, W_k and W_v at their
        initial values (with uniform or identity mixing only W_v is used).

        Raises
        ------
        ValueError
            If a setting is invalid (see Config). A run whose loss becomes
            NaN or infinite is reported in the outcome, not raised.
        """
        config = Config(
            d_k=d_model, d_v=d_model, d_repr=d_repr, mixing=mixing,
            freeze_attention=freeze, epochs=epochs, lr=lr,
        )
        try:
            result = self.train_function(config, seed)
        except TrainingDivergedError as error:
            self.outcome = ExperimentOutcome(config, seed, None, False, f"training diverged: {error}")
            self.show_divergence(self.outcome)
            return self.outcome

        self.outcome = ExperimentOutcome(config, seed, result, result.solved, describe_outcome(result))
        self.show_result(self.outcome)
        return self.outcome

    def show_result(self, outcome: ExperimentOutcome) -> None:
        """Draw a finished run: its boundary, its loss curve and the status line."""
        result = outcome.result
        grid_predictions = evaluate_grid(result.model, self.boundary.resolution)
        self.boundary.update(grid_predictions)

        losses = result.losses.numpy()
        self.loss_line.set_data(np.arange(1, losses.size + 1), losses)
        # A fixed floor keeps runs comparable; a run that goes lower extends the axis.
        positive = losses[losses > 0]
        floor = min(LOSS_FLOOR, positive.min() / 2) if positive.size else LOSS_FLOOR
        self.loss_ax.set_ylim(floor, 10.0)
        self.loss_ax.set_xlim(0, result.config.epochs)
        self.title.set_text(f"{describe_settings(outcome.config, outcome.seed)}\n{outcome.status}")
        self.plot.redraw_background()  # the loss axes' limits and ticks changed

    def show_divergence(self, outcome: ExperimentOutcome) -> None:
        """Draw a run that diverged: no boundary, no loss curve, the error as the status line."""
        self.boundary.clear()
        self.loss_line.set_data([], [])
        self.title.set_text(f"{describe_settings(outcome.config, outcome.seed)}\n{outcome.status}")

    def render_png(self) -> bytes:
        """Return the figure as PNG bytes."""
        return self.plot.render_png()


def describe_settings(config: Config, seed: int) -> str:
    """Return the experiment settings as one line, starting with the variant's name."""
    return (
        f"{describe_mixing(config)}, d_model {config.d_k}, d_repr {config.d_repr}, "
        f"lr {config.lr:g}, {config.epochs} epochs, seed {seed}"
    )


def describe_mixing(config: Config) -> str:
    """Name the token mixing and freezing of config, by its variant name where it has one."""
    settings = {"mixing": config.mixing, "freeze_attention": config.freeze_attention}
    for name, variant_settings in VARIANT_SETTINGS.items():
        if variant_settings == settings:
            return f"variant {name}"
    # Uniform and identity mixing with freezing keep only W_v fixed, which no named variant does.
    return f"{config.mixing} mixing with W_v frozen"


def describe_outcome(result: TrainResult) -> str:
    """Return one line saying whether the run solved XOR, with its final loss."""
    if result.solved:
        when = f"at epoch {result.solved_epoch}" if result.solved_epoch is not None else "after the last epoch"
        return f"XOR solved {when}: final loss {result.final_loss:.2g}, all 4 signs right"
    right = count_right_signs(result.predictions)
    return f"XOR not solved: final loss {result.final_loss:.3f}, {right} of 4 signs right"
