"""Command line: train the XOR attention model once and print what it learned.

    python -m xorattn [options]          one run, then a table of the four inputs
    python -m xorattn sweep [options]    many seeds at once (see its --help)

Output is plain ASCII, so it prints on any console and pipes into files.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .config import MIXINGS, Config
from .data import XOR_LABELS, xor_dataset
from .training import TrainingDivergedError, TrainResult, train

# torch.Generator.manual_seed accepts seeds up to 2**64 - 1.
MAX_SEED = 2**64 - 1

# Config fields and the options that set them, so that a Config error names the option.
OPTION_OF_FIELD = {
    "d_k": "--d-k",
    "d_v": "--d-v",
    "d_repr": "--d-repr",
    "mixing": "--mixing",
    "epochs": "--epochs",
    "lr": "--lr",
    "weight_decay": "--weight-decay",
}

DESCRIPTION = """\
Train the self-attention model on the four XOR inputs (each bit is one
token) and print, for each input, the target, the prediction, the 2-number
representation read by the final linear layer and the 2x2 attention weights.
The defaults reproduce the original experiment, which solves XOR with seed 0.
"""

EPILOG = """\
exit status:
  0  training finished, whether or not it solved XOR. Some seeds get stuck
     at a loss near 0.89 with the default settings; that is a result of the
     experiment, reported in the output, not an error.
  1  training diverged (the loss became NaN or infinite), or a figure could
     not be written
  2  invalid arguments

To train many seeds at once and see how often XOR is solved, run:
  python -m xorattn sweep --help
"""


def main(argv: Sequence[str] | None = None, *, prog: str = "xorattn") -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; sys.argv[1:] if omitted.
    prog : str, default "xorattn"
        Program name shown in usage and error messages.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "sweep":
        return run_sweep(argv[1:], prog)

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    config = config_from_args(parser, args)
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"argument --seed: seed must be an integer from 0 to {MAX_SEED}, got {args.seed}")
    if args.log_every < 0:
        parser.error(f"argument --log-every: must be an integer >= 0 (0 = no progress lines), got {args.log_every}")
    # Create the output directory before training, so a bad path fails at once.
    out_dir = prepare_out_dir(parser, args.out)

    print(describe_run(config, args.seed))
    try:
        result = train(config, args.seed, log_every=args.log_every or None)
    except TrainingDivergedError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1

    print()
    print(format_table(result))
    print()
    print(format_outcome(result))

    if out_dir is not None:
        try:
            for path in save_figures(result, out_dir):
                print(f"wrote {path}")
        except OSError as error:
            print(f"{prog}: error: could not write the figures to {out_dir}: {error}", file=sys.stderr)
            return 1
    return 0


def run_sweep(argv: list[str], prog: str) -> int:
    """Hand the arguments after "sweep" to the sweep command."""
    # Imported here so that a single run does not load the sweep code.
    try:
        from .sweep_command import main as sweep_main
    except ModuleNotFoundError as error:
        if error.name != "xorattn.sweep_command":
            raise
        print(f"{prog}: error: the sweep command is not available in this installation", file=sys.stderr)
        return 2
    return sweep_main(argv)


def build_parser(prog: str = "xorattn") -> argparse.ArgumentParser:
    """Build the argument parser of a single run; defaults come from Config()."""
    defaults = Config()
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    training_options = parser.add_argument_group("training")
    training_options.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help=f"seed of the initial weights, an integer from 0 to {MAX_SEED} (default: %(default)s)",
    )
    training_options.add_argument(
        "--epochs", type=int, default=defaults.epochs, metavar="N",
        help="number of full-batch training steps on the four inputs, >= 1 (default: %(default)s)",
    )
    training_options.add_argument(
        "--lr", type=float, default=defaults.lr, metavar="RATE",
        help="Adam learning rate (step size), > 0 (default: %(default)s)",
    )
    training_options.add_argument(
        "--weight-decay", type=float, default=defaults.weight_decay, metavar="RATE",
        help="decoupled weight decay coefficient, >= 0: AdamW shrinks each trained weight "
        "by lr * RATE per step; 0 trains with plain Adam (default: %(default)s)",
    )
    training_options.add_argument(
        "--freeze-attention", action="store_true",
        help="keep the query, key and value maps at their initial random values "
        "and train only the readout",
    )

    model_options = parser.add_argument_group("model")
    model_options.add_argument(
        "--d-k", type=int, default=defaults.d_k, metavar="N",
        help="size of queries and keys, >= 1 (default: %(default)s)",
    )
    model_options.add_argument(
        "--d-v", type=int, default=defaults.d_v, metavar="N",
        help="size of values, >= 1; the readout gets 2 * d_v features (default: %(default)s)",
    )
    model_options.add_argument(
        "--d-repr", type=int, default=defaults.d_repr, metavar="N",
        help="size of the representation that the final linear layer reads, >= 1; "
        "representation.png needs 2 (default: %(default)s)",
    )
    model_options.add_argument(
        "--mixing", default=defaults.mixing, metavar="{" + ",".join(MIXINGS) + "}",
        help="how the two tokens are mixed: 'attention' uses softmax(Q K^T / sqrt(d_k)), "
        "'uniform' averages the two values, 'identity' does not mix (default: %(default)s)",
    )

    output_options = parser.add_argument_group("output")
    output_options.add_argument(
        "--log-every", type=int, default=100, metavar="N",
        help="print the loss every N epochs; 0 prints no progress lines (default: %(default)s)",
    )
    output_options.add_argument(
        "--out", type=Path, metavar="DIR",
        help="save loss_curve.png, attention_weights.png, representation.png and "
        "decision_boundary.png into DIR, creating it if missing (default: no figures)",
    )
    return parser


def config_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Config:
    """Build the Config, turning its ValueError into a usage error that names the option."""
    try:
        return Config(
            d_k=args.d_k,
            d_v=args.d_v,
            d_repr=args.d_repr,
            mixing=args.mixing,
            freeze_attention=args.freeze_attention,
            epochs=args.epochs,
            lr=args.lr,
            weight_decay=args.weight_decay,
        )
    except ValueError as error:
        message = str(error)
        field = message.split(" ", 1)[0]
        option = OPTION_OF_FIELD.get(field)
        parser.error(f"argument {option}: {message}" if option else message)


def prepare_out_dir(parser: argparse.ArgumentParser, out: Path | None) -> Path | None:
    """Create the output directory if needed; a path that cannot be a directory is a usage error."""
    if out is None:
        return None
    if out.exists() and not out.is_dir():
        parser.error(f"argument --out: {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: could not create the directory {out}: {error.strerror}")
    return out


def describe_run(config: Config, seed: int) -> str:
    """Return one line that states the settings of the run."""
    optimizer = f"AdamW lr {config.lr:g} weight decay {config.weight_decay:g}" if config.weight_decay > 0 else f"Adam lr {config.lr:g}"
    attention = "frozen" if config.freeze_attention else "trained"
    return (
        f"Training on XOR: seed {seed}, {config.epochs} epochs, {optimizer}, "
        f"d_k={config.d_k} d_v={config.d_v} d_repr={config.d_repr}, "
        f"mixing {config.mixing}, attention maps {attention}"
    )


def format_table(result: TrainResult) -> str:
    """Return a table with one row per input: target, prediction, representation and weights."""
    tokens, targets = xor_dataset()
    with torch.no_grad():
        output = result.model(tokens)

    mixing = result.config.mixing
    weights_header = "attn_weights" if mixing == "attention" else f"mixing weights ({mixing})"
    header = ("input", "target", "prediction", "representation", weights_header)
    rows = [
        (
            label,
            f"{targets[i, 0].item():+.0f}",
            f"{output.prediction[i, 0].item():+.4f}",
            format_vector(output.representation[i]),
            format_matrix(output.attn_weights[i]),
        )
        for i, label in enumerate(XOR_LABELS)
    ]

    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *rows)]
    lines.append("(weights: row = query token x1, x2; column = key token x1, x2)")
    return "\n".join(lines)


def format_vector(values: torch.Tensor) -> str:
    """Format a 1-D tensor as "[+0.123 -0.456]"."""
    return "[" + " ".join(f"{value:+.3f}" for value in values.tolist()) + "]"


def format_matrix(matrix: torch.Tensor) -> str:
    """Format a 2-D tensor as "[[0.50 0.50] [0.00 1.00]]"."""
    rows = (" ".join(f"{value:.2f}" for value in row) for row in matrix.tolist())
    return "[" + " ".join(f"[{row}]" for row in rows) + "]"


def format_outcome(result: TrainResult) -> str:
    """Return whether XOR was solved, when it was first solved, and the final loss."""
    threshold = result.config.solve_threshold
    _, targets = xor_dataset()
    if result.solved:
        verdict = (
            f"XOR solved: all four signs right and loss below {threshold:g}, "
            f"first reached at epoch {result.solved_epoch}."
        )
    else:
        n_right = int((torch.sign(result.predictions) == torch.sign(targets)).sum())
        verdict = f"XOR not solved: {n_right} of 4 signs right, final loss not below {threshold:g}."
        if result.solved_epoch is not None:
            verdict += f" The loss was below it at epoch {result.solved_epoch} but rose again."
        else:
            verdict += " Try another --seed or other settings."
    return f"{verdict}\nfinal loss (MSE): {result.final_loss:.6f}"


def save_figures(result: TrainResult, out_dir: Path) -> list[Path]:
    """Save the run's figures as PNG files in out_dir and return their paths."""
    # Imported here so that runs without --out do not load matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from . import plotting

    tokens, _ = xor_dataset()
    with torch.no_grad():
        output = result.model(tokens)
    mixing = result.config.mixing
    if mixing == "attention":
        weights_title, weights_label = "Attention weights", "attention weight"
    else:
        weights_title, weights_label = f"Mixing weights ({mixing})", "mixing weight"

    figures = {
        "loss_curve": plotting.plot_loss_curve(
            result.losses, threshold=result.config.solve_threshold, solved_epoch=result.solved_epoch
        ),
        "attention_weights": plotting.plot_attention_weights(
            output.attn_weights, title=weights_title, label=weights_label
        ),
    }
    if result.config.d_repr == 2:
        figures["representation"] = plotting.plot_representation(
            output.representation, output_layer=result.model.output
        )
    else:
        print(f"skipped representation.png: it needs --d-repr 2, got {result.config.d_repr}")
    figures["decision_boundary"] = plotting.plot_decision_boundary(result.model)

    paths = []
    for name, figure in figures.items():
        # An Agg canvas for this figure alone renders the PNG without
        # changing the matplotlib backend of the calling process.
        FigureCanvasAgg(figure)
        path = out_dir / f"{name}.png"
        figure.savefig(path, dpi=150)
        paths.append(path)
    return paths
