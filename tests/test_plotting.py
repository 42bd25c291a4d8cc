"""Tests of the plot helpers: returned figures, no pyplot state, orientation and fixed colours."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from torch import nn

from xorattn.config import Config
from xorattn.data import xor_dataset
from xorattn.model import build_model
from xorattn.plotting import (
    PREDICTION_LIMIT,
    evaluate_on_grid,
    plot_attention_weights,
    plot_decision_boundary,
    plot_loss_curve,
    plot_representation,
    plot_result,
)
from xorattn.training import train


@pytest.fixture(scope="module")
def short_result():
    return train(Config(epochs=100), seed=0)


@pytest.fixture(scope="module")
def outputs(short_result):
    tokens, _ = xor_dataset()
    with torch.no_grad():
        return short_result.model(tokens)


def first_bit_minus_half(bits):
    return bits[:, 0] - 0.5


def second_bit_minus_half(bits):
    return bits[:, 1] - 0.5


def contour_sets(ax, filled):
    return [artist for artist in ax.collections if isinstance(artist, ContourSet) and artist.filled == filled]


def all_helper_calls(result, outputs):
    """Return one call of each helper with its own new figure."""
    return {
        "loss_curve": lambda: plot_loss_curve(result.losses),
        "attention_weights": lambda: plot_attention_weights(outputs.attn_weights),
        "representation": lambda: plot_representation(outputs.representation, output_layer=result.model.output),
        "decision_boundary": lambda: plot_decision_boundary(result.model),
        "result": lambda: plot_result(result),
    }


# Figures and pyplot state


@pytest.mark.parametrize("name", ["loss_curve", "attention_weights", "representation", "decision_boundary", "result"])
def test_helper_returns_figure(name, short_result, outputs):
    fig = all_helper_calls(short_result, outputs)[name]()
    assert isinstance(fig, Figure)


@pytest.mark.parametrize("name", ["loss_curve", "attention_weights", "representation", "decision_boundary", "result"])
def test_helper_leaves_no_pyplot_figure(name, short_result, outputs):
    before = plt.get_fignums()
    all_helper_calls(short_result, outputs)[name]()
    assert plt.get_fignums() == before


def test_helpers_write_no_files(short_result, outputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for call in all_helper_calls(short_result, outputs).values():
        call()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["loss_curve", "representation", "decision_boundary"])
def test_helper_draws_into_given_ax(name, short_result, outputs):
    fig = Figure()
    ax = fig.add_subplot()
    calls = {
        "loss_curve": lambda: plot_loss_curve(short_result.losses, ax),
        "representation": lambda: plot_representation(outputs.representation, ax),
        "decision_boundary": lambda: plot_decision_boundary(short_result.model, ax),
    }
    assert calls[name]() is fig
    assert ax.get_title() != ""
    assert ax.get_xlabel() != ""
    assert ax.get_ylabel() != ""


def test_attention_draws_into_given_axes(outputs):
    fig = Figure()
    axes = fig.subplots(1, 4)
    assert plot_attention_weights(outputs.attn_weights, axes) is fig
    assert [ax.get_title() for ax in axes] == ["input (0,0)", "input (0,1)", "input (1,0)", "input (1,1)"]


def test_attention_rejects_wrong_axes_count(outputs):
    axes = Figure().subplots(1, 3)
    with pytest.raises(ValueError, match="axes must hold 4 Axes, one per input, got 3 instead"):
        plot_attention_weights(outputs.attn_weights, axes)


# Loss curve


def test_loss_curve_log_scale(short_result):
    ax = plot_loss_curve(short_result.losses).axes[0]
    assert ax.get_yscale() == "log"
    assert "epoch" in ax.get_xlabel()
    assert "mean squared error" in ax.get_ylabel()
    assert ax.get_title() == "Training loss"


def test_loss_curve_epochs_from_one(short_result):
    ax = plot_loss_curve(short_result.losses).axes[0]
    x, y = ax.lines[0].get_data()
    assert x[0] == 1
    assert x[-1] == 100
    np.testing.assert_allclose(y, short_result.losses.numpy())


def test_loss_curve_marks_threshold():
    ax = plot_loss_curve([1.0, 0.1, 0.001], threshold=0.02).axes[0]
    threshold_lines = [line for line in ax.lines if "threshold" in line.get_label()]
    assert len(threshold_lines) == 1
    assert threshold_lines[0].get_ydata()[0] == 0.02


def test_loss_curve_marks_solved_epoch():
    ax = plot_loss_curve([1.0, 0.1, 0.001], solved_epoch=3).axes[0]
    solved_lines = [line for line in ax.lines if "solved at epoch 3" in line.get_label()]
    assert len(solved_lines) == 1
    assert solved_lines[0].get_xdata()[0] == 3


def test_loss_curve_accepts_list():
    assert isinstance(plot_loss_curve([0.9, 0.5, 0.2]), Figure)


@pytest.mark.parametrize(
    ("losses", "message"),
    [
        ([], r"losses must be a non-empty 1-D sequence, got shape \(0,\) instead"),
        ([[0.5, 0.4]], r"losses must be a non-empty 1-D sequence, got shape \(1, 2\) instead"),
        ([0.5, math.nan], "losses must be finite, got a value of nan"),
        ([0.5, -0.1], "losses must be >= 0, got a value of -0.1"),
    ],
)
def test_loss_curve_rejects_bad_losses(losses, message):
    with pytest.raises(ValueError, match=message):
        plot_loss_curve(losses)


# Attention weights


def test_attention_colour_limits_fixed():
    # Weights that span only [0.4, 0.6] must still be coloured on [0, 1].
    weights = torch.tensor([[[0.4, 0.6], [0.6, 0.4]]] * 4)
    fig = plot_attention_weights(weights)
    for ax in fig.axes[:4]:
        assert ax.images[0].get_clim() == (0.0, 1.0)


def test_attention_one_shared_colourbar(outputs):
    fig = plot_attention_weights(outputs.attn_weights)
    assert len(fig.axes) == 5  # four heatmaps and one colour bar
    assert fig.axes[4].get_ylabel() == "attention weight"


def test_attention_colourbar_label():
    fig = plot_attention_weights(torch.full((4, 2, 2), 0.5), label="mixing weight")
    assert fig.axes[4].get_ylabel() == "mixing weight"


def test_attention_cells_annotated():
    weights = torch.tensor([[[0.123, 0.877], [0.5, 0.5]]] * 4)
    ax = plot_attention_weights(weights).axes[1]
    assert sorted(text.get_text() for text in ax.texts) == ["0.12", "0.50", "0.50", "0.88"]


def test_attention_rows_are_queries():
    # Row 0 (query x1) gets [0.1, 0.9]. imshow puts row 0 at the top and column 1 on the right.
    weights = torch.tensor([[[0.1, 0.9], [0.7, 0.3]]] * 4)
    ax = plot_attention_weights(weights).axes[0]
    cell_text = {(round(text.get_position()[1]), round(text.get_position()[0])): text.get_text() for text in ax.texts}
    assert cell_text[(0, 1)] == "0.90"
    assert cell_text[(1, 0)] == "0.70"
    assert ax.get_ylabel() == "query token"
    assert ax.get_xlabel() == "key token"


def test_attention_token_labels():
    weights = torch.full((4, 2, 2), 0.5)
    ax = plot_attention_weights(weights).axes[1]  # input (0,1)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["x1=0", "x2=1"]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["x1=0", "x2=1"]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (torch.full((3, 2, 2), 0.5), r"attn_weights must have shape \(4, 2, 2\), one 2x2 matrix per input, got \(3, 2, 2\)"),
        (torch.full((4, 2), 0.5), r"attn_weights must have shape \(4, 2, 2\), one 2x2 matrix per input, got \(4, 2\)"),
        (torch.full((4, 2, 2), 1.5), r"attn_weights must lie in \[0, 1\]"),
        (torch.full((4, 2, 2), math.nan), "attn_weights must be finite"),
    ],
)
def test_attention_rejects_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        plot_attention_weights(weights)


# Representation


def test_representation_rejects_other_d_repr():
    representation = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="d_repr must be 2, got d_repr=3 instead"):
        plot_representation(representation)


def test_representation_rejects_wrong_count():
    with pytest.raises(ValueError, match=r"representation must have shape \(4, d_repr\), got \(3, 2\) instead"):
        plot_representation(torch.zeros(3, 2))


def test_representation_rejects_wrong_layer(outputs):
    with pytest.raises(ValueError, match="output_layer must be an nn.Linear with 2 inputs and 1 output, got 3 inputs"):
        plot_representation(outputs.representation, output_layer=nn.Linear(3, 1))


def test_representation_points_and_colours(outputs):
    ax = plot_representation(outputs.representation).axes[0]
    points = ax.collections[-1]
    np.testing.assert_allclose(points.get_offsets(), outputs.representation.numpy())
    assert points.get_clim() == (-1.0, 1.0)
    np.testing.assert_array_equal(points.get_array(), [-1.0, 1.0, 1.0, -1.0])


def test_representation_zero_line():
    # The output layer h1 - h2 is 0 on the diagonal h1 = h2.
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0]]))
        layer.bias.zero_()
    representation = torch.tensor([[-1.0, 1.0], [1.0, -1.0], [0.5, -0.5], [-0.5, 0.5]])
    ax = plot_representation(representation, output_layer=layer).axes[0]

    lines = contour_sets(ax, filled=False)
    assert len(lines) == 1
    vertices = np.concatenate([path.vertices for path in lines[0].get_paths()])
    assert len(vertices) > 0
    np.testing.assert_allclose(vertices[:, 0], vertices[:, 1], atol=1e-6)


def test_representation_labels_inputs(outputs):
    ax = plot_representation(outputs.representation).axes[0]
    texts = sorted(text.get_text() for text in ax.texts)
    assert texts == ["(0,0) → -1", "(0,1) → +1", "(1,0) → +1", "(1,1) → -1"]


# Decision boundary


def test_grid_not_transposed():
    x1, x2, predictions = evaluate_on_grid(first_bit_minus_half, resolution=11)
    np.testing.assert_allclose(predictions, np.tile(x1 - 0.5, (11, 1)), atol=1e-6)
    assert (predictions[:, -1] > 0).all()  # right edge, x1 = 1.5
    assert (predictions[:, 0] < 0).all()  # left edge, x1 = -0.5


def test_grid_rows_follow_x2():
    x1, x2, predictions = evaluate_on_grid(second_bit_minus_half, resolution=11)
    assert (predictions[-1, :] > 0).all()  # top edge, x2 = 1.5
    assert (predictions[0, :] < 0).all()  # bottom edge, x2 = -0.5
    np.testing.assert_allclose(x2, np.linspace(-0.5, 1.5, 11), atol=1e-6)


def test_boundary_positive_region_right():
    ax = plot_decision_boundary(first_bit_minus_half, resolution=41).axes[0]
    filled = contour_sets(ax, filled=True)[0]
    step = 2.0 / 40
    for lower, upper, path in zip(filled.levels[:-1], filled.levels[1:], filled.get_paths()):
        if len(path.vertices) == 0:
            continue
        if lower >= 0:
            assert path.vertices[:, 0].min() >= 0.5 - step
        if upper <= 0:
            assert path.vertices[:, 0].max() <= 0.5 + step


def test_boundary_zero_line_vertical():
    ax = plot_decision_boundary(first_bit_minus_half, resolution=41).axes[0]
    lines = contour_sets(ax, filled=False)
    assert len(lines) == 1
    vertices = np.concatenate([path.vertices for path in lines[0].get_paths()])
    np.testing.assert_allclose(vertices[:, 0], 0.5, atol=1e-6)
    assert vertices[:, 1].min() == pytest.approx(-0.5)
    assert vertices[:, 1].max() == pytest.approx(1.5)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_boundary_colour_limits_fixed(scale):
    ax = plot_decision_boundary(lambda bits: scale * (bits[:, 0] - 0.5), resolution=21).axes[0]
    filled = contour_sets(ax, filled=True)[0]
    np.testing.assert_allclose(filled.levels, np.linspace(-PREDICTION_LIMIT, PREDICTION_LIMIT, 13))
    assert filled.get_clim() == (-PREDICTION_LIMIT, PREDICTION_LIMIT)


def test_boundary_constant_prediction_has_no_line():
    ax = plot_decision_boundary(lambda bits: torch.ones(bits.shape[0]), resolution=11).axes[0]
    assert contour_sets(ax, filled=False) == []


def test_boundary_axes_labels():
    ax = plot_decision_boundary(first_bit_minus_half, resolution=11).axes[0]
    assert ax.get_xlabel() == "x1 (first bit)"
    assert ax.get_ylabel() == "x2 (second bit)"
    assert ax.get_xlim() == (-0.5, 1.5)
    assert ax.get_ylim() == (-0.5, 1.5)


def test_boundary_runs_without_grad():
    grad_enabled = []

    def record(bits):
        grad_enabled.append(torch.is_grad_enabled())
        return bits[:, 0]

    plot_decision_boundary(record, resolution=11)
    assert grad_enabled == [False]


def test_boundary_model_matches_forward(short_result):
    x1, x2, predictions = evaluate_on_grid(short_result.model, resolution=5)
    tokens, _ = xor_dataset()
    with torch.no_grad():
        expected = short_result.model(tokens).prediction[:, 0]
    # Grid points (0, 0), (0, 1), (1, 0), (1, 1) sit at indices 1 and 3 of the 5-point grid.
    corners = [predictions[1, 1], predictions[3, 1], predictions[1, 3], predictions[3, 3]]
    np.testing.assert_allclose(corners, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_boundary_accepts_mlp():
    generator = torch.Generator().manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    with torch.no_grad():
        for parameter in mlp.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    ax = plot_decision_boundary(mlp, resolution=21).axes[0]
    assert len(contour_sets(ax, filled=True)) == 1


def test_boundary_rejects_wrong_output_shape():
    with pytest.raises(ValueError, match=r"the function must return predictions of shape \(121,\) or \(121, 1\)"):
        plot_decision_boundary(lambda bits: bits, resolution=11)


@pytest.mark.parametrize("resolution", [1, 0, 10.5, True])
def test_boundary_rejects_bad_resolution(resolution):
    with pytest.raises(ValueError, match=f"resolution must be an integer >= 2, got {resolution!r}"):
        plot_decision_boundary(first_bit_minus_half, resolution=resolution)


def test_boundary_rejects_non_finite_predictions():
    with pytest.raises(ValueError, match="predictions must be finite"):
        plot_decision_boundary(lambda bits: bits[:, 0] / 0.0, resolution=11)


# Summary figure


def test_result_figure_panels(default_result):
    fig = plot_result(default_result)
    # loss, representation, boundary and its colour bar, four heatmaps and their colour bar
    assert len(fig.axes) == 9
    assert "solved at epoch" in fig.get_suptitle()


def test_result_figure_other_d_repr():
    result = train(Config(epochs=20, d_repr=3), seed=0)
    fig = plot_result(result)
    assert "d_repr = 3" in fig.axes[1].texts[0].get_text()
