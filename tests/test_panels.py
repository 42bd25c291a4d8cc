"""Tests for the slider panels (xorattn.panels) and their widgets (xorattn.widgets).

The panels are called directly with fixed values, as the widget callbacks
call them. The widget tests build the ipywidgets objects without a browser
and set control values from code, which fires the same observers.
"""

import gc
import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from xorattn import Config, TrainingDivergedError, TrainResult, bits_to_tokens, build_model, train, xor_dataset
from xorattn.panels import (
    PANEL_RESOLUTION,
    BlittedFigure,
    BoundaryView,
    ExperimentPanel,
    InputInspector,
    TrainingScrubber,
    compare_boundaries,
    format_inspection,
)
from xorattn.plotting import evaluate_on_grid
from xorattn.widgets import experiment_widgets, input_inspector_widgets, training_scrubber_widgets

SNAPSHOT_EPOCHS = (0, 25, 50, 100, 200)


@pytest.fixture(scope="module")
def short_run() -> TrainResult:
    """200 epochs of the original model (seed 0) with a few saved epochs."""
    return train(Config(epochs=200), seed=0, snapshot_epochs=SNAPSHOT_EPOCHS)


@pytest.fixture
def scrubber(short_run) -> TrainingScrubber:
    return TrainingScrubber(short_run)


@pytest.fixture
def inspector(short_run) -> InputInspector:
    return InputInspector(short_run.model)


def x1_only(bits: torch.Tensor) -> torch.Tensor:
    """A stand-in model whose prediction depends only on x1: positive where x1 > 0.5."""
    return bits[:, 0] - 0.5


def stub_train(config: Config, seed: int) -> TrainResult:
    """Return a finished run of the x1-only model without training, for fast panel tests."""
    losses = torch.linspace(1.0, 0.5, config.epochs)
    predictions = torch.tensor([[-0.5], [-0.5], [0.5], [0.5]])
    return TrainResult(
        model=x1_only, config=config, seed=seed, losses=losses, predictions=predictions,
        final_loss=1.0, solved=False, solved_epoch=None,
    )


def diverging_train(config: Config, seed: int) -> TrainResult:
    """Raise as train does when the loss becomes NaN."""
    raise TrainingDivergedError(epoch=17, loss=float("nan"))


def live_figures() -> int:
    """Count the matplotlib Figures that exist in this process."""
    gc.collect()
    # type() and not isinstance(), because isinstance reads __class__ and some
    # lazily loaded torch modules emit a deprecation warning when it is read.
    return sum(issubclass(type(item), Figure) for item in gc.get_objects())


def png_pixels(png: bytes) -> np.ndarray:
    """Decode PNG bytes to an (height, width, 3) uint8 array."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def pixel_at(plot: BlittedFigure, ax, x: float, y: float, png: bytes) -> np.ndarray:
    """Return the RGB colour drawn at data point (x, y) of ax."""
    column, row_from_bottom = ax.transData.transform((x, y))
    height = png_pixels(png).shape[0]
    return png_pixels(png)[int(height - row_from_bottom), int(column)].astype(int)


# ---------------------------------------------------------------- one figure per panel


def update_twice(panel) -> None:
    """Call the panel's update with two different values, rendering after each."""
    if isinstance(panel, TrainingScrubber):
        values = ({"epoch": 0}, {"epoch": 200})
    elif isinstance(panel, InputInspector):
        values = ({"x1": 0.0, "x2": 1.0}, {"x1": 0.3, "x2": 0.7})
    else:
        values = ({"seed": 0}, {"seed": 1})
    for settings in values:
        panel.update(**settings)
        panel.render_png()


@pytest.mark.parametrize("kind", ["scrubber", "inspector", "experiment"])
def test_update_keeps_one_figure(kind, short_run):
    """Two updates redraw the panel's own figure: no new figure, no extra artists, no pyplot figure."""
    if kind == "scrubber":
        panel = TrainingScrubber(short_run)
    elif kind == "inspector":
        panel = InputInspector(short_run.model)
    else:
        panel = ExperimentPanel(train_function=stub_train)
    panel.update(**({"epoch": 100} if kind == "scrubber" else {"x1": 1.0, "x2": 1.0} if kind == "inspector" else {}))
    panel.render_png()
    figure = panel.figure
    figures_before = live_figures()
    artists_before = [len(ax.get_children()) for ax in figure.axes]

    update_twice(panel)

    assert panel.figure is figure
    assert live_figures() == figures_before
    assert [len(ax.get_children()) for ax in figure.axes] == artists_before
    assert plt.get_fignums() == []


def test_boundary_keeps_one_image_and_contour(scrubber):
    """Updates replace the boundary's contour rather than adding one per call."""
    for epoch in (0, 100, 200, 100):
        scrubber.update(epoch)
        scrubber.render_png()
    ax = scrubber.boundary.ax
    assert len(ax.images) == 1
    assert len([child for child in ax.get_children() if child is scrubber.boundary.contour]) == 1
    assert sum(type(child).__name__ == "QuadContourSet" for child in ax.get_children()) == 1


@pytest.mark.parametrize("kind", ["scrubber", "inspector"])
def test_blit_matches_full_draw(kind, short_run):
    """A redraw over the saved background gives the same pixels as drawing everything again."""
    if kind == "scrubber":
        panel = TrainingScrubber(short_run)
        panel.render_png()
        panel.update(25)
    else:
        panel = InputInspector(short_run.model)
        panel.render_png()
        panel.update(0.25, 0.9)
    blitted = png_pixels(panel.render_png())

    panel.plot.redraw_background()
    full = png_pixels(panel.render_png())

    assert blitted.shape == full.shape
    assert np.array_equal(blitted, full)


def test_figure_saves_everything(scrubber):
    """Saving the panel's figure the usual way draws the changing artists too.

    A full draw stacks overlapping artists by zorder while a render draws the
    changing ones last, so a few pixels where they overlap may differ.
    """
    scrubber.update(200)
    rendered = png_pixels(scrubber.render_png())
    buffer = io.BytesIO()
    scrubber.figure.savefig(buffer, format="png", dpi=scrubber.figure.dpi)
    saved = png_pixels(buffer.getvalue())

    differing = (rendered != saved).any(axis=-1)
    assert saved.shape == rendered.shape
    assert differing.mean() < 0.01
    # (0.5, 0.5) lies inside the +1 region of the trained model: red, not the white background.
    red, green, blue = pixel_at(scrubber.plot, scrubber.boundary.ax, 0.5, 0.5, buffer.getvalue())
    assert red > blue + 50


# ---------------------------------------------------------------- training scrubber


def test_scrubber_boundary_changes_with_epoch(scrubber):
    """The evaluated grid, and the image showing it, differ between epoch 0 and epoch 200."""
    start = scrubber.update(0).grid_predictions
    start_image = np.array(scrubber.boundary.image.get_array())
    end = scrubber.update(200).grid_predictions
    end_image = np.array(scrubber.boundary.image.get_array())

    assert start.shape == (PANEL_RESOLUTION, PANEL_RESOLUTION)
    assert np.abs(start - end).max() > 0.1
    assert not np.array_equal(start_image, end_image)


def test_scrubber_frame_matches_snapshot(scrubber, short_run):
    """A frame shows the predictions and loss of the parameters saved at that epoch."""
    frame = scrubber.update(50)
    model = build_model(short_run.config)
    model.load_state_dict(short_run.snapshots[50])
    tokens, targets = xor_dataset()
    with torch.no_grad():
        expected = model(tokens).prediction
    assert np.allclose(frame.predictions, expected.flatten().numpy())
    assert frame.loss == pytest.approx(torch.nn.functional.mse_loss(expected, targets).item())


def test_scrubber_last_epoch_is_trained_model(scrubber, short_run):
    """The last saved epoch shows the trained model's grid."""
    frame = scrubber.update(200)
    _, _, expected = evaluate_on_grid(short_run.model, resolution=PANEL_RESOLUTION)
    assert np.allclose(frame.grid_predictions, expected)


def test_scrubber_title_names_epoch(scrubber):
    """The figure title names the shown epoch and its loss."""
    frame = scrubber.update(25)
    assert scrubber.title.get_text().startswith("seed 0, epoch 25 of 200:")
    assert f"loss {frame.loss:.4f}" in scrubber.title.get_text()


def test_scrubber_rejects_unsaved_epoch(scrubber):
    with pytest.raises(ValueError, match=r"epoch must be one of the saved epochs 0\.\.200 \(5 in all\), got 30"):
        scrubber.update(30)


def test_scrubber_rejects_run_without_snapshots():
    run = train(Config(epochs=10), seed=0)
    with pytest.raises(ValueError, match="result must contain parameter snapshots"):
        TrainingScrubber(run)


# ---------------------------------------------------------------- input inspector


@pytest.mark.parametrize("x1, x2", [(0.0, 1.0), (1.0, 1.0), (0.3, 0.8), (-0.5, 1.5)])
def test_inspector_weights_match_layer(inspector, short_run, x1, x2):
    """The inspector's attn_weights equal the attention layer's for the same tokens."""
    inspection = inspector.update(x1, x2)
    tokens = bits_to_tokens(torch.tensor([[x1, x2]]))
    with torch.no_grad():
        _, layer_weights = short_run.model.attention(tokens)
    assert torch.equal(inspection.tokens, tokens)
    assert torch.allclose(inspection.attn_weights, layer_weights)


def test_inspector_matches_model(inspector, short_run):
    """The step-by-step intermediates end in the model's own representation and prediction."""
    inspection = inspector.update(0.3, 0.8)
    with torch.no_grad():
        output = short_run.model(inspection.tokens)
    assert torch.allclose(inspection.representation, output.representation)
    assert torch.allclose(inspection.prediction, output.prediction)


def test_inspector_scores_are_scaled_dot_products(inspector):
    """attn_scores[i, j] is query i · key j / sqrt(d_k)."""
    inspection = inspector.update(0.6, 0.2)
    queries, keys = inspection.queries[0], inspection.keys[0]
    expected = torch.tensor([[float(queries[i] @ keys[j]) for j in range(2)] for i in range(2)]) / 2**0.5
    assert torch.allclose(inspection.attn_scores[0], expected)


@pytest.mark.parametrize("mixing", ["uniform", "identity"])
def test_inspector_fixed_mixing_weights(mixing):
    """With uniform or identity mixing, the inspector shows the fixed weights the model uses."""
    run = train(Config(mixing=mixing, epochs=20), seed=0)
    inspection = InputInspector(run.model).update(0.4, 0.9)
    expected = torch.full((2, 2), 0.5) if mixing == "uniform" else torch.eye(2)
    with torch.no_grad():
        prediction = run.model(inspection.tokens).prediction
    assert torch.equal(inspection.attn_weights[0], expected)
    assert torch.allclose(inspection.prediction, prediction)
    assert f"(attn_scores not used: {mixing} mixing)" in format_inspection(inspection, mixing)


def test_inspector_marker_follows_input(inspector):
    """The marker on the boundary plot sits at the inspected input."""
    inspector.update(0.35, 1.2)
    x, y = inspector.boundary_marker.get_data()
    assert list(x) == [0.35]
    assert list(y) == [1.2]


def test_inspector_holds_far_marker_at_edge(inspector):
    """A representation outside the axes is drawn hollow on the edge and named in the title."""
    inspector.update(1.5, -0.5)
    x, y = inspector.representation_marker.get_data()
    xlim, ylim = inspector.representation_ax.get_xlim(), inspector.representation_ax.get_ylim()
    outside = not (xlim[0] < x[0] < xlim[1] and ylim[0] < y[0] < ylim[1])
    if outside:
        assert inspector.representation_marker.get_markerfacecolor() == "none"
        assert "outside the plotted range" in inspector.title.get_text()
    inspector.update(0.0, 1.0)
    assert inspector.representation_marker.get_markerfacecolor() == "gold"
    assert "outside" not in inspector.title.get_text()


def test_inspector_without_plane(short_run):
    """A model with d_repr = 3 is inspected without the representation plane."""
    run = train(Config(d_repr=3, epochs=20), seed=0)
    inspector = InputInspector(run.model)
    inspection = inspector.update(0.0, 1.0)
    assert inspector.representation_marker is None
    assert inspection.representation.shape == (1, 3)
    assert inspector.render_png().startswith(b"\x89PNG")


@pytest.mark.parametrize("x1, message", [("a", "x1 must be a finite number, got 'a' instead"),
                                          (float("nan"), "x1 must be a finite number, got nan instead"),
                                          (True, "x1 must be a finite number, got True instead")])
def test_inspector_rejects_input(inspector, x1, message):
    with pytest.raises(ValueError, match=message):
        inspector.update(x1, 0.0)


# ---------------------------------------------------------------- experiment panel


def test_experiment_default_seed_solved():
    """The default settings with seed 0 solve XOR, and the panel reports it."""
    outcome = ExperimentPanel().update()
    assert outcome.solved
    assert outcome.result.solved_epoch == 70
    assert outcome.status.startswith("XOR solved at epoch 70")


def test_experiment_reports_stuck_seed():
    """Seed 1 gets stuck with the original settings, and the panel reports it as not solved."""
    panel = ExperimentPanel()
    outcome = panel.update(seed=1)
    assert not outcome.solved
    assert outcome.status.startswith("XOR not solved: final loss 0.89")
    assert "variant trainable" in panel.title.get_text()


def test_experiment_passes_settings():
    """Every control reaches the Config and seed that are trained."""
    calls = []

    def recording_train(config, seed):
        calls.append((config, seed))
        return stub_train(config, seed)

    ExperimentPanel(train_function=recording_train).update(
        lr=0.05, epochs=300, d_model=3, d_repr=4, mixing="uniform", freeze=True, seed=7
    )
    config, seed = calls[0]
    assert (config.lr, config.epochs) == (0.05, 300)
    assert (config.d_k, config.d_v, config.d_repr) == (3, 3, 4)
    assert (config.mixing, config.freeze_attention) == ("uniform", True)
    assert seed == 7


def test_experiment_names_variant():
    """The title names the variant that the mixing and freeze settings select."""
    panel = ExperimentPanel(train_function=stub_train)
    panel.update(freeze=True)
    assert panel.title.get_text().startswith("variant frozen,")
    panel.update(mixing="identity", freeze=True)
    assert panel.title.get_text().startswith("identity mixing with W_v frozen,")


def test_experiment_reports_divergence():
    """A run whose loss becomes NaN is reported in the outcome and the figure, not raised."""
    panel = ExperimentPanel(train_function=diverging_train)
    outcome = panel.update(lr=1.0)
    assert not outcome.solved
    assert outcome.result is None
    assert outcome.status.startswith("training diverged: ")
    assert "epoch 17" in outcome.status
    assert np.isnan(np.asarray(panel.boundary.image.get_array(), dtype=float)).all()
    assert panel.render_png().startswith(b"\x89PNG")


def test_experiment_rejects_settings():
    with pytest.raises(ValueError, match="mixing must be one of attention, uniform, identity, got 'mean'"):
        ExperimentPanel(train_function=stub_train).update(mixing="mean")


# ---------------------------------------------------------------- orientation


def test_boundary_view_orientation():
    """With a model that depends only on x1, the positive region is on the right of the plot."""
    plot = BlittedFigure(figsize=(5.0, 4.0))
    ax = plot.figure.add_subplot()
    view = BoundaryView(plot, ax)
    _, _, predictions = evaluate_on_grid(x1_only, resolution=view.resolution)
    view.update(predictions)
    png = plot.render_png()

    image = np.asarray(view.image.get_array())
    right = view.x1 > 0.6
    left = view.x1 < 0.4
    assert (image[:, right] > 0).all()
    assert (image[:, left] < 0).all()
    red, _, blue = pixel_at(plot, ax, 1.3, 0.5, png)
    assert red > blue + 50
    red, _, blue = pixel_at(plot, ax, -0.3, 0.5, png)
    assert blue > red + 50


def test_boundary_view_vertical_orientation():
    """With a model that depends only on x2, the positive region is at the top of the plot."""
    plot = BlittedFigure(figsize=(5.0, 4.0))
    ax = plot.figure.add_subplot()
    view = BoundaryView(plot, ax)
    _, _, predictions = evaluate_on_grid(lambda bits: bits[:, 1] - 0.5, resolution=view.resolution)
    view.update(predictions)
    png = plot.render_png()

    red, _, blue = pixel_at(plot, ax, 0.5, 1.3, png)
    assert red > blue + 50
    red, _, blue = pixel_at(plot, ax, 0.5, -0.3, png)
    assert blue > red + 50


def test_experiment_orientation():
    """The experiment panel draws the x1-only model's positive region on the right."""
    panel = ExperimentPanel(train_function=stub_train)
    panel.update(epochs=100)
    png = panel.render_png()
    contour_x = np.concatenate([path.vertices[:, 0] for path in panel.boundary.contour.get_paths()])
    assert np.allclose(contour_x, 0.5, atol=1e-6)
    red, _, blue = pixel_at(panel.plot, panel.boundary.ax, 1.3, 1.3, png)
    assert red > blue + 50
    red, _, blue = pixel_at(panel.plot, panel.boundary.ax, -0.3, -0.3, png)
    assert blue > red + 50


def test_boundary_rejects_shape():
    plot = BlittedFigure(figsize=(5.0, 4.0))
    view = BoundaryView(plot, plot.figure.add_subplot(), resolution=11)
    with pytest.raises(ValueError, match=r"predictions must have shape \(11, 11\), got \(10, 11\) instead"):
        view.update(np.zeros((10, 11)))


# ---------------------------------------------------------------- widgets


def test_scrubber_widgets_follow_slider(scrubber):
    """Setting the epoch slider from code redraws the scrubber and replaces the image bytes."""
    panel = training_scrubber_widgets(scrubber)
    slider = panel.controls["epoch"]
    first = bytes(panel.image.value)

    slider.value = 0

    assert list(slider.options) == list(SNAPSHOT_EPOCHS)
    assert first.startswith(b"\x89PNG")
    assert bytes(panel.image.value) != first
    assert scrubber.title.get_text().startswith("seed 0, epoch 0 of 200:")
    assert panel.image in panel.box.children


def test_inspector_widgets_follow_sliders(inspector):
    """Setting x1 from code redraws the figure and the table of numbers."""
    panel = input_inspector_widgets(inspector, x1=1.0, x2=0.0)
    first_image, first_text = bytes(panel.image.value), panel.text.value

    panel.controls["x1"].value = 0.5

    expected = inspector.inspect(0.5, 0.0).prediction.item()
    assert bytes(panel.image.value) != first_image
    assert panel.text.value != first_text
    assert f"prediction   {expected:+.3f}" in panel.text.value
    assert panel.text.value.startswith("<pre>")


def test_experiment_widgets_train_on_change():
    """Changing a control or pressing Train runs the panel with the controls' values."""
    calls = []

    def recording_train(config, seed):
        calls.append((config, seed))
        return stub_train(config, seed)

    panel = experiment_widgets(ExperimentPanel(train_function=recording_train))
    first_image = bytes(panel.image.value)
    assert len(calls) == 1  # the panel had no run, so the default settings were trained

    panel.controls["seed"].value = 5
    panel.controls["mixing"].value = "identity"
    panel.controls["train"].click()

    assert [seed for _, seed in calls] == [0, 5, 5, 5]
    assert calls[-1][0].mixing == "identity"
    assert bytes(panel.image.value) != first_image
    assert panel.text.value == "<b>XOR not solved: final loss 1.000, 2 of 4 signs right</b>"
    assert not panel.controls["train"].disabled


def test_experiment_widgets_start_from_last_run():
    """Controls start at the panel's last run, which is shown without training again."""
    calls = []

    def recording_train(config, seed):
        calls.append(seed)
        return stub_train(config, seed)

    experiment = ExperimentPanel(train_function=recording_train)
    experiment.update(seed=3, d_repr=5)
    panel = experiment_widgets(experiment)

    assert calls == [3]
    assert panel.controls["seed"].value == 3
    assert panel.controls["d_repr"].value == 5
    assert bytes(panel.image.value).startswith(b"\x89PNG")


# ---------------------------------------------------------------- static comparison


def test_compare_boundaries_layout(short_run):
    """One boundary plot per model, titled by its key, and one shared colour bar."""
    figure = compare_boundaries({"trained": short_run.model, "x1 only": x1_only})
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:2] == ["trained", "x1 only"]
    assert len(figure.axes) == 3
    assert figure.axes[2].get_ylabel() == "prediction (clipped to ±1.5)"
    assert plt.get_fignums() == []


def test_compare_boundaries_rejects_empty():
    with pytest.raises(ValueError, match="models must name at least one model, got an empty mapping"):
        compare_boundaries({})
