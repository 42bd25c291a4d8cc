"""Slider controls for the notebooks, wired to the panels in panels.py.

Each panel's figure is shown as PNG bytes in an ipywidgets.Image, so the
sliders need no interactive matplotlib backend (ipympl) and work the same in
JupyterLab, Jupyter Notebook 7 and Colab. Only widgets and options that
ipywidgets 7 already had are used, because Colab ships ipywidgets 7.

Every builder returns a PanelWidgets. Displaying it (as the last line of a
cell) shows the controls and the figure. Its `controls` are the widgets to
read or set from code: setting a value from code runs the same callback as
moving the control in the browser.
"""

import html
from dataclasses import dataclass

import ipywidgets as widgets
from IPython.display import display

from .panels import ExperimentPanel, InputInspector, TrainingScrubber, format_inspection
from .plotting import GRID_LIMITS

# Step of the x1 and x2 sliders; 0.05 reaches every XOR input exactly.
INPUT_STEP = 0.05

# Width of a slider next to its description, in CSS units.
SLIDER_WIDTH = "420px"

# Output type of a widget view. Version 2.0 of its data is what ipywidgets 7 and 8 both write.
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass
class PanelWidgets:
    """The widgets of one panel.

    Attributes
    ----------
    box : ipywidgets.Box
        Everything the panel shows, in one box.
    image : ipywidgets.Image
        The panel's figure as PNG bytes, replaced after every change.
    controls : dict of str to ipywidgets.Widget
        The controls by name, to read or set from code.
    text : ipywidgets.HTML or None
        Text shown next to the figure: the numbers of the input inspector,
        the status line of the experiment panel.
    placeholder : str
        Plain text shown where the widgets cannot be: a notebook viewed
        without a kernel (GitHub, nbviewer, a PDF export).
    """

    box: widgets.Box
    image: widgets.Image
    controls: dict[str, widgets.Widget]
    text: widgets.HTML | None = None
    placeholder: str = "[interactive panel: run the notebook to use it]"

    def _ipython_display_(self):
        # The same output as displaying the box, with a readable text in place
        # of the box's repr, which is all that a viewer without widgets shows.
        view = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        display({"text/plain": self.placeholder, WIDGET_VIEW_MIME: view}, raw=True)


def slider_layout() -> widgets.Layout:
    """Return the layout shared by the sliders."""
    return widgets.Layout(width=SLIDER_WIDTH)


def training_scrubber_widgets(scrubber: TrainingScrubber, epoch: int | None = None) -> PanelWidgets:
    """Build an epoch slider over the saved epochs of a run, redrawing the scrubber's figure.

    Parameters
    ----------
    scrubber : TrainingScrubber
    epoch : int, optional
        Saved epoch to start at; the last one by default.
    """
    epoch = scrubber.epochs[-1] if epoch is None else epoch
    slider = widgets.SelectionSlider(
        options=scrubber.epochs, value=epoch, description="epoch",
        continuous_update=True, layout=slider_layout(),
    )
    image = widgets.Image(format="png")

    def show(new_epoch: int) -> None:
        scrubber.update(new_epoch)
        image.value = scrubber.render_png()

    slider.observe(lambda change: show(change["new"]), names="value")
    show(epoch)
    placeholder = "[training scrubber: needs a running kernel; the figure above shows its default view]"
    return PanelWidgets(widgets.VBox([slider, image]), image, {"epoch": slider}, placeholder=placeholder)


def input_inspector_widgets(inspector: InputInspector, x1: float = 1.0, x2: float = 0.0) -> PanelWidgets:
    """Build x1 and x2 sliders that redraw the inspector's figure and its table of numbers.

    Parameters
    ----------
    inspector : InputInspector
    x1, x2 : float, default 1.0 and 0.0
        Input to start at.
    """
    low, high = GRID_LIMITS
    sliders = {
        name: widgets.FloatSlider(
            value=value, min=low, max=high, step=INPUT_STEP, description=name,
            continuous_update=True, readout_format=".2f", layout=slider_layout(),
        )
        for name, value in (("x1", x1), ("x2", x2))
    }
    image = widgets.Image(format="png")
    numbers = widgets.HTML()

    def show(change=None) -> None:
        inspection = inspector.update(sliders["x1"].value, sliders["x2"].value)
        image.value = inspector.render_png()
        table = format_inspection(inspection, inspector.model.config.mixing)
        numbers.value = f"<pre>{html.escape(table)}</pre>"

    for slider in sliders.values():
        slider.observe(show, names="value")
    show()
    # The table wraps below the figure when the notebook is too narrow for both.
    figure_and_numbers = widgets.HBox([numbers, image], layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([widgets.HBox(list(sliders.values())), figure_and_numbers])
    placeholder = "[input inspector: needs a running kernel; the figure above shows its default view]"
    return PanelWidgets(box, image, sliders, numbers, placeholder)


def experiment_widgets(panel: ExperimentPanel) -> PanelWidgets:
    """Build the controls of the experiment panel and a Train button.

    Training runs when a slider is released, when the mixing or the freeze
    switch changes, or when Train is pressed. It never runs while a slider is
    being dragged. The controls start at the panel's last run. If the panel
    has not run yet, they start at the default settings, which are trained once.
    """
    defaults = {"lr": 0.1, "epochs": 2000, "d_model": 2, "d_repr": 2, "mixing": "attention", "freeze": False, "seed": 0}
    if panel.outcome is not None:
        config = panel.outcome.config
        defaults = {
            "lr": config.lr, "epochs": config.epochs, "d_model": config.d_k, "d_repr": config.d_repr,
            "mixing": config.mixing, "freeze": config.freeze_attention, "seed": panel.outcome.seed,
        }

    controls = {
        "lr": widgets.FloatLogSlider(
            value=defaults["lr"], base=10, min=-3, max=0, step=0.1, description="lr",
            readout_format=".3g", continuous_update=False, layout=slider_layout(),
        ),
        "epochs": widgets.IntSlider(
            value=defaults["epochs"], min=100, max=5000, step=100, description="epochs",
            continuous_update=False, layout=slider_layout(),
        ),
        "d_model": widgets.IntSlider(
            value=defaults["d_model"], min=1, max=8, description="d_model",
            continuous_update=False, layout=slider_layout(),
        ),
        "d_repr": widgets.IntSlider(
            value=defaults["d_repr"], min=1, max=8, description="d_repr",
            continuous_update=False, layout=slider_layout(),
        ),
        "mixing": widgets.Dropdown(
            options=[("attention", "attention"), ("uniform", "uniform"), ("identity (no mixing)", "identity")],
            value=defaults["mixing"], description="mixing",
        ),
        "freeze": widgets.Checkbox(value=defaults["freeze"], description="freeze W_q, W_k, W_v"),
        "seed": widgets.IntSlider(
            value=defaults["seed"], min=0, max=99, description="seed",
            continuous_update=False, layout=slider_layout(),
        ),
    }
    train_button = widgets.Button(description="Train", button_style="primary")
    image = widgets.Image(format="png")
    status = widgets.HTML()

    def run(change=None) -> None:
        settings = {name: control.value for name, control in controls.items()}
        train_button.disabled = True
        status.value = "training ..."
        try:
            outcome = panel.update(**settings)
        except ValueError as error:
            status.value = f"<b>invalid settings:</b> {html.escape(str(error))}"
            return
        finally:
            train_button.disabled = False
        image.value = panel.render_png()
        status.value = f"<b>{html.escape(outcome.status)}</b>"

    for control in controls.values():
        control.observe(run, names="value")
    train_button.on_click(run)

    if panel.outcome is None:
        run()
    else:
        image.value = panel.render_png()
        status.value = f"<b>{html.escape(panel.outcome.status)}</b>"

    settings_box = widgets.VBox([*controls.values(), widgets.HBox([train_button, status])])
    placeholder = "[experiment panel: needs a running kernel; the figure above shows its default view]"
    return PanelWidgets(
        widgets.VBox([settings_box, image]), image, {**controls, "train": train_button}, status, placeholder
    )
