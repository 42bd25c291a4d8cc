"""Time the package's training loop against a plain re-implementation of the original loop.

Both loops train the original configuration (Config() and seed 0) in this
process, one after the other in alternation, so that a change in the load of
the machine affects both alike. The medians of the repeated runs are compared.

    python benchmarks/training_loop.py [--epochs 2000] [--repeats 7]

The package's `fit` runs on one CPU thread whatever the process setting (see
the comment there), so the script times both loops twice: at the process's
default thread count, and with the original loop also limited to one thread.
Besides wall-clock time it reports the CPU time of the process, which other
processes disturb less, and which counts the work of every thread.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from original_loop import OriginalModel, train_original  # noqa: E402

from xorattn import Config, train  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2000, help="training steps per run (default: %(default)s)")
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed runs of each loop per thread setting (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"argument --epochs: must be >= 1, got {args.epochs}")
    if args.repeats < 1:
        parser.error(f"argument --repeats: must be >= 1, got {args.repeats}")
    return args


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def format_load() -> str:
    """Return the 1-, 5- and 15-minute load averages, or "unavailable" where the OS has none."""
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except (AttributeError, OSError):
        return "unavailable"


class Run(NamedTuple):
    """One timed training run."""

    wall: float  # seconds of wall-clock time
    cpu: float  # seconds of CPU time of this process, summed over its threads
    losses: torch.Tensor  # (epochs,)


def time_package(config: Config, seed: int) -> Run:
    """Train with xorattn.train and return the times and the losses."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(config, seed)
    return Run(time.perf_counter() - wall, time.process_time() - cpu, result.losses)


def time_original(epochs: int, seed: int) -> Run:
    """Train with the original loop and return the times and the losses."""
    wall, cpu = time.perf_counter(), time.process_time()
    # The original drew its initial weights from the global generator. With
    # the same seed they equal the package's, because both create the same
    # layers in the same order with PyTorch's default initialisation.
    torch.manual_seed(seed)
    losses = train_original(OriginalModel(), epochs=epochs, lr=Config().lr)
    return Run(time.perf_counter() - wall, time.process_time() - cpu, torch.tensor(losses))


def compare(config: Config, seed: int, repeats: int) -> dict[str, list[Run]]:
    """Time both loops in alternation after one untimed warm-up run of each."""
    time_package(config, seed)
    time_original(config.epochs, seed)
    runs = {"package": [], "original": []}
    for _ in range(repeats):
        runs["package"].append(time_package(config, seed))
        runs["original"].append(time_original(config.epochs, seed))
    return runs


def first_solved_epoch(losses: torch.Tensor, threshold: float) -> int | None:
    """Return the first epoch (from 1) whose loss is below threshold, or None."""
    below = (losses < threshold).nonzero()
    return int(below[0]) + 1 if len(below) else None


def print_table(runs: dict[str, list[Run]], epochs: int, threads: int) -> None:
    """Print the median, fastest and slowest run of each loop, and the ratios of the medians."""
    wall = {name: statistics.median(run.wall for run in loop_runs) for name, loop_runs in runs.items()}
    cpu = {name: statistics.median(run.cpu for run in loop_runs) for name, loop_runs in runs.items()}
    for name, loop_runs in runs.items():
        walls = [run.wall for run in loop_runs]
        print(
            f"  {name:<9} median {wall[name]:7.3f} s  ({wall[name] / epochs * 1e6:6.0f} µs per step)"
            f"  fastest {min(walls):.3f} s  slowest {max(walls):.3f} s  CPU time median {cpu[name]:.3f} s"
        )
    print(
        f"  original / package: {wall['original'] / wall['package']:.2f}x wall-clock, "
        f"{cpu['original'] / cpu['package']:.2f}x CPU time  (original loop at {threads} thread(s))"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = Config(epochs=args.epochs)
    default_threads = torch.get_num_threads()

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical cores")
    print(f"python {platform.python_version()}, torch {torch.__version__}, default threads {default_threads}")
    print(f"workload: Config(), seed {args.seed}, {args.epochs} epochs; {args.repeats} timed runs of each loop")
    print(f"load average before: {format_load()} (other processes make the timings noisy)")

    # The two loops differ only in the last bits of Adam's arithmetic. Their
    # losses agree closely for the first few hundred epochs, which this shows.
    package_losses = time_package(config, args.seed).losses
    original_losses = time_original(args.epochs, args.seed).losses
    print(
        f"first epoch with loss < {config.solve_threshold}: package "
        f"{first_solved_epoch(package_losses, config.solve_threshold)}, original "
        f"{first_solved_epoch(original_losses, config.solve_threshold)}"
    )

    print(f"\n[1] default thread count ({default_threads}); the package's loop runs on 1 thread internally")
    print_table(compare(config, args.seed, args.repeats), args.epochs, default_threads)

    torch.set_num_threads(1)
    try:
        print("\n[2] both loops on 1 thread (torch.set_num_threads(1) for the whole process)")
        print_table(compare(config, args.seed, args.repeats), args.epochs, 1)
    finally:
        torch.set_num_threads(default_threads)
    print(f"\nload average after: {format_load()}")


if __name__ == "__main__":
    main()
