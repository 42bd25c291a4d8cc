"""The sweep command: train many seeds of the token-mixing variants and print how often each solves XOR.

    python -m xorattn sweep --seeds 1000 --variants trainable frozen uniform identity

With --out DIR it also writes every seed's result to DIR/sweep_results.csv
and three figures: success rates, first-solved epochs and loss curves.
"""

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .config import Config
from .data import XOR_BITS
from .stats import format_table, summarize_sweep
from .sweep import MAX_SEED, NOT_REACHED, SweepResult, sweep_variants
from .variants import CONFIGS, VARIANTS, get_config

CSV_NAME = "sweep_results.csv"

DESCRIPTION = """\
Train many seeds of the token-mixing variants in one batched computation
and print, per variant, how many seeds solve XOR with a 95% Wilson
interval, the median first-solved epoch and the spread of final losses.

variants:
  trainable  attention with trainable query, key and value maps
  frozen     attention whose query, key and value maps stay at their start
  uniform    every token takes the plain average of both value vectors
  identity   every token keeps its own value vector (no mixing)
"""

EPILOG = """\
Every seed starts from the same weights in every variant and as in a
separate run of `python -m xorattn --seed N`.

exit status:
  0  the sweep finished, whatever the success rates
  1  the CSV file or a figure could not be written
  2  invalid arguments
"""


def main(argv: Sequence[str] | None = None, *, prog: str = "xorattn sweep") -> int:
    """Run the sweep command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after "sweep", or sys.argv[1:] if omitted.
    prog : str, default "xorattn sweep"
        Program name shown in usage and error messages.
    """
    parser = build_parser(prog)
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    check_args(parser, args)
    config = config_from_args(parser, args)
    # Create the output directory before training, so that a bad path fails at once.
    out_dir = prepare_out_dir(parser, args.out)

    print(
        f"Training {args.seeds} seeds (from seed {args.first_seed}) of {', '.join(args.variants)} "
        f"with the {args.config} config: d_k={config.d_k}, d_v={config.d_v}, d_repr={config.d_repr}, "
        f"epochs={config.epochs}, lr={config.lr:g}"
    )
    results = sweep_variants(
        args.variants,
        args.seeds,
        config=config,
        first_seed=args.first_seed,
        record_losses=out_dir is not None,
        progress=not args.no_progress,
    )
    summaries = [summarize_sweep(result) for result in results.values()]
    print()
    print(format_table(summaries))

    if out_dir is not None:
        try:
            for path in write_outputs(results, summaries, out_dir):
                print(f"wrote {path}")
        except OSError as error:
            print(f"{prog}: error: could not write to {out_dir}: {error}", file=sys.stderr)
            return 1
    return 0


def build_parser(prog: str = "xorattn sweep") -> argparse.ArgumentParser:
    """Build the argument parser of the sweep command."""
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeds", type=int, default=1000, metavar="N",
        help="number of seeds per variant, >= 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--first-seed", type=int, default=0, metavar="N",
        help="first seed, so that the sweep trains seeds N, N+1, ... (default: %(default)s)",
    )
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), metavar="NAME",
        help=f"variants to train, from {', '.join(VARIANTS)} (default: all four)",
    )
    parser.add_argument(
        "--config", choices=list(CONFIGS), default="original",
        help="model sizes and training settings shared by the variants (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, metavar="N",
        help="number of full-batch training steps, >= 1 (default: the config's, 2000)",
    )
    parser.add_argument(
        "--lr", type=float, default=None, metavar="RATE",
        help="Adam learning rate, > 0 (default: the config's, 0.1 original, 0.005 improved)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help=f"directory for {CSV_NAME} (one row per variant and seed) and the figures (PNG)",
    )
    parser.add_argument(
        "--no-progress", action="store_true",
        help="do not show the progress bar on standard error",
    )
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through parser.error for values that argparse itself accepts but the sweep cannot use."""
    if args.seeds < 1:
        parser.error(f"argument --seeds: must be an integer >= 1, got {args.seeds}")
    last_seed = args.first_seed + args.seeds - 1
    if args.first_seed < 0 or last_seed > MAX_SEED:
        parser.error(
            f"argument --first-seed: seeds must lie from 0 to {MAX_SEED}, got seeds {args.first_seed} to {last_seed}"
        )
    duplicates = sorted({name for name in args.variants if args.variants.count(name) > 1})
    if duplicates:
        parser.error(f"argument --variants: each variant may be given once, got {', '.join(duplicates)} more than once")


def config_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Config:
    """Return the named config with --epochs and --lr applied, or exit through parser.error."""
    config = get_config(args.config)
    overrides = {}
    if args.epochs is not None:
        if args.epochs < 1:
            parser.error(f"argument --epochs: must be an integer >= 1, got {args.epochs}")
        overrides["epochs"] = args.epochs
    if args.lr is not None:
        if not math.isfinite(args.lr) or args.lr <= 0:
            parser.error(f"argument --lr: must be a finite number > 0, got {args.lr}")
        overrides["lr"] = args.lr
    return replace(config, **overrides)


def prepare_out_dir(parser: argparse.ArgumentParser, out: Path | None) -> Path | None:
    """Create the output directory, or exit through parser.error if that is impossible."""
    if out is None:
        return None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: cannot create directory {out}: {error.strerror}")
    return out


def write_outputs(results: dict[str, SweepResult], summaries: list, out_dir: Path) -> list[Path]:
    """Write the per-seed CSV and the three figures into out_dir and return their paths."""
    # matplotlib is imported here so that a sweep without --out does not load it.
    from .sweep_plots import plot_loss_bands, plot_solved_epochs, plot_success_rates

    paths = [write_csv(results, out_dir / CSV_NAME)]
    figures = {
        "sweep_success_rates.png": plot_success_rates(summaries),
        "sweep_solved_epochs.png": plot_solved_epochs(list(results.values())),
        "sweep_loss_curves.png": plot_loss_bands(list(results.values())),
    }
    for name, figure in figures.items():
        figure.savefig(out_dir / name, dpi=120)
        paths.append(out_dir / name)
    return paths


def csv_header() -> list[str]:
    """Return the CSV column names.

    attn_IJ_qA_kB is the weight of query token A on key token B for the input (I,J).
    """
    attention_columns = [
        f"attn_{int(x1)}{int(x2)}_q{query}_k{key}" for x1, x2 in XOR_BITS for query in (1, 2) for key in (1, 2)
    ]
    return ["variant", "seed", "solved", "solved_epoch", "final_loss", "diverged_epoch", *attention_columns]


def write_csv(results: dict[str, SweepResult], path: Path) -> Path:
    """Write one row per variant and seed, leaving epochs that never happened empty."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(csv_header())
        for name, result in results.items():
            for index in range(result.n_seeds):
                solved_epoch = int(result.solved_epoch[index])
                diverged_epoch = int(result.diverged_epoch[index])
                writer.writerow([
                    name,
                    int(result.seeds[index]),
                    int(result.solved[index]),
                    "" if solved_epoch == NOT_REACHED else solved_epoch,
                    f"{float(result.final_loss[index]):.6g}",
                    "" if diverged_epoch == NOT_REACHED else diverged_epoch,
                    *(f"{float(weight):.6g}" for weight in result.attn_weights[index].flatten()),
                ])
    return path
