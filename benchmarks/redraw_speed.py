"""Time one slider move in the training scrubber and the input inspector.

A slider move runs the panel's update, draws the figure and encodes it as
the PNG bytes of the ipywidgets.Image. This script times that whole callback
by setting the slider value from code, which runs the same observer as a
move in the browser (only the browser's own work is left out). The target is
a median of at most 100 ms on a 2-core CPU.

Run from the repository root:

    python benchmarks/redraw_speed.py [--repeats 3]

It prints one Markdown table row per measurement, for docs/benchmarks.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch

from xorattn import Config, train
from xorattn.panels import PANEL_RESOLUTION, InputInspector, TrainingScrubber
from xorattn.widgets import input_inspector_widgets, training_scrubber_widgets

TARGET_MS = 100.0

# The saved epochs of the notebook's scrubber: dense early, where XOR is
# learned (seed 0 is solved at epoch 70), sparse later.
SNAPSHOT_EPOCHS = (*range(0, 100, 2), *range(100, 500, 10), *range(500, 2001, 50))

# A path of slider positions across the input plane, in steps of 0.05.
INSPECTOR_PATH = [(round(-0.5 + 0.05 * i, 2), round(1.5 - 0.05 * i, 2)) for i in range(41)]


def time_calls(call: Callable[[object], None], values: Sequence) -> tuple[list[float], list[float]]:
    """Call call(value) for each value; return the wall-clock and CPU times in ms."""
    wall, cpu = [], []
    for value in values:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        call(value)
        wall.append((time.perf_counter() - wall_start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return wall, cpu


def table_row(name: str, wall: list[float], cpu: list[float]) -> str:
    """Format one Markdown row: median and 90th percentile wall time, median CPU time."""
    p90 = statistics.quantiles(wall, n=10)[-1]
    verdict = "yes" if statistics.median(wall) <= TARGET_MS else "NO"
    return (
        f"| {name} | {len(wall)} | {statistics.median(wall):.1f} | {p90:.1f} | "
        f"{statistics.median(cpu):.1f} | {verdict} |"
    )


def set_slider(control, value) -> None:
    """Set a slider from code, which runs its observers as a move in the browser does."""
    control.value = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over the cached positions (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"Python {platform.python_version()}, torch {torch.__version__}")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"grid {PANEL_RESOLUTION} x {PANEL_RESOLUTION}; times in ms per slider move\n")
    print("| callback | moves | median wall | p90 wall | median CPU | median <= 100 ms |")
    print("|---|---|---|---|---|---|")

    result = train(Config(), seed=0, snapshot_epochs=SNAPSHOT_EPOCHS)
    build_start = time.perf_counter()
    scrubber = TrainingScrubber(result)  # evaluates every saved epoch on the grid
    build_ms = (time.perf_counter() - build_start) * 1000
    scrubber_panel = training_scrubber_widgets(scrubber)
    slider = scrubber_panel.controls["epoch"]
    # Down and back up, without repeating an end point: setting the value the
    # slider already has runs no callback.
    down_and_up = (*reversed(SNAPSHOT_EPOCHS[:-1]), *SNAPSHOT_EPOCHS[1:])
    moves = [epoch for _ in range(args.repeats) for epoch in down_and_up]
    print(table_row("scrubber, epoch slider", *time_calls(lambda epoch: set_slider(slider, epoch), moves)))

    inspector = InputInspector(result.model)
    inspector_panel = input_inspector_widgets(inspector)
    x1_slider, x2_slider = inspector_panel.controls["x1"], inspector_panel.controls["x2"]
    path = INSPECTOR_PATH * args.repeats
    print(table_row("inspector, x1 slider", *time_calls(lambda point: set_slider(x1_slider, point[0]), path)))
    print(table_row("inspector, x2 slider", *time_calls(lambda point: set_slider(x2_slider, point[1]), path)))

    print(f"\nbuilding the scrubber ({len(SNAPSHOT_EPOCHS)} saved epochs on the grid): {build_ms:.0f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
