"""Time the batched multi-seed sweep against training the seeds one at a time.

    python benchmarks/sweep_speed.py [--seeds 1000] [--plain-seeds 20] [--epochs 2000] [--repeats 3]

In one process the script times:

1. the plain loop: `xorattn.train(Config(), seed)` for seeds 0, 1, ...,
   --plain-seeds of them, giving the time per seed;
2. one batched sweep of --seeds seeds of the trainable variant (the
   original model), giving the time per seed and the ratio to the plain loop;
3. the four-variant sweep (trainable, frozen, uniform, identity) of
   --seeds seeds each, once with the original and once with the improved
   configuration.

Every batched time includes building the models with build_model. Each
sweep runs --repeats times and the fastest run is reported (the least
disturbed by other processes), with its CPU time next to the wall-clock time:
on a shared machine the CPU time of this process is the steadier number.
Everything runs on one PyTorch thread, as `train` and the sweep do by default.
"""

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xorattn import Config, train  # noqa: E402
from xorattn.sweep import sweep_variants, train_sweep  # noqa: E402
from xorattn.variants import VARIANTS, get_config  # noqa: E402

# Targets on a 2-core CPU: the batched sweep takes at most 1/200 of the plain
# loop's time per seed, and the four-variant sweep of the original config with
# 1000 seeds each finishes in under 20 s.
TARGET_RATIO = 200
TARGET_FOUR_VARIANTS_S = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per batched sweep (default: %(default)s)")
    parser.add_argument(
        "--plain-seeds", type=int, default=20, help="seeds trained one at a time (default: %(default)s)"
    )
    parser.add_argument("--epochs", type=int, default=2000, help="training steps per seed (default: %(default)s)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each sweep, of which the fastest counts (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for name in ("seeds", "plain_seeds", "epochs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"argument --{name.replace('_', '-')}: must be an integer >= 1, got {getattr(args, name)}")
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


def timed(function, *args, **kwargs):
    """Call function and return its result, the wall-clock seconds and the CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def fastest(repeats: int, function, *args, **kwargs):
    """Run function repeats times and return the result, wall and CPU seconds of the fastest run."""
    runs = [timed(function, *args, **kwargs) for _ in range(repeats)]
    return min(runs, key=lambda run: run[1])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    config = Config(epochs=args.epochs)

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical cores, load average {format_load()}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, 1 thread")
    print(f"workload: {args.epochs} epochs per seed; the fastest of {args.repeats} runs of each sweep")
    print()

    plain_runs = [timed(train, config, seed) for seed in range(args.plain_seeds)]
    plain_wall = sum(run[1] for run in plain_runs) / args.plain_seeds
    plain_cpu = sum(run[2] for run in plain_runs) / args.plain_seeds
    print(f"plain loop, xorattn.train for seeds 0-{args.plain_seeds - 1}:")
    print(f"  per seed {plain_wall * 1e3:8.1f} ms wall, {plain_cpu * 1e3:8.1f} ms CPU")

    result, wall, cpu = fastest(args.repeats, train_sweep, {"trainable": config}, args.seeds)
    sweep = result["trainable"]
    print(f"batched sweep, trainable variant, {args.seeds} seeds:")
    print(f"  total {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(f"  per seed {wall / args.seeds * 1e3:8.2f} ms wall, {cpu / args.seeds * 1e3:8.2f} ms CPU")
    ratio_wall = plain_wall / (wall / args.seeds)
    ratio_cpu = plain_cpu / (cpu / args.seeds)
    verdict = "met" if ratio_wall >= TARGET_RATIO else "MISSED"
    print(f"  plain / batched time per seed: {ratio_wall:.0f}x wall, {ratio_cpu:.0f}x CPU (target {TARGET_RATIO}x: {verdict})")
    shared = min(args.plain_seeds, args.seeds)
    agree = sum(bool(sweep.solved[seed]) == run[0].solved for seed, run in enumerate(plain_runs[:shared]))
    print(
        f"  solved verdicts equal to the plain loop's for {agree} of {shared} seeds "
        "(training is chaotic, so last-bit differences can change a verdict)"
    )

    for name in ("original", "improved"):
        named = replace(get_config(name), epochs=args.epochs)
        result, wall, cpu = fastest(args.repeats, sweep_variants, VARIANTS, args.seeds, config=named)
        rates = ", ".join(f"{variant} {float(r.solved.float().mean()):.1%}" for variant, r in result.items())
        print(f"four-variant sweep, {name} config (d_v={named.d_v}, lr={named.lr:g}), {args.seeds} seeds each:")
        if name == "original":
            verdict = "met" if wall < TARGET_FOUR_VARIANTS_S else "MISSED"
            print(f"  total {wall:6.2f} s wall, {cpu:6.2f} s CPU (target under {TARGET_FOUR_VARIANTS_S:.0f} s: {verdict})")
        else:
            print(f"  total {wall:6.2f} s wall, {cpu:6.2f} s CPU (no target; d_v = 16 makes each epoch several times larger)")
        print(f"  solved: {rates}")


if __name__ == "__main__":
    main()
