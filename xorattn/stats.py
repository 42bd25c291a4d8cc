"""Statistics over many seeds: the Wilson score interval and sweep summaries."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

import torch

from .sweep import NOT_REACHED, SweepResult


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval for a success rate of successes / n.

    The interval contains every rate p for which the observed rate p̂ lies within
    z standard errors of p, |p̂ - p| <= z √(p (1 - p) / n). Solving that
    quadratic in p gives

        centre     = (p̂ + z² / 2n) / (1 + z² / n)
        half-width = z / (1 + z² / n) · √(p̂ (1 - p̂) / n + z² / 4n²)

    Unlike the normal approximation p̂ ± z √(p̂ (1 - p̂) / n), the interval
    stays inside [0, 1] and does not shrink to a point at 0 or n successes.
    (Wilson, "Probable inference, the law of succession, and statistical
    inference", JASA 22, 1927.)

    Parameters
    ----------
    successes : int
        Number of successes, from 0 to n.
    n : int
        Number of trials, at least 1.
    confidence : float, default 0.95
        Coverage of the interval, between 0 and 1.

    Returns
    -------
    low, high : float
        Bounds of the interval for the success rate, within [0, 1].
    """
    check_count(n, "n", minimum=1)
    check_count(successes, "successes", minimum=0)
    if successes > n:
        raise ValueError(f"successes must be at most n = {n}, got {successes} instead")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number between 0 and 1, got {confidence!r} instead")

    z = NormalDist().inv_cdf(0.5 + confidence / 2)  # 1.96 for 95%
    rate = successes / n
    shrink = 1 + z**2 / n
    centre = (rate + z**2 / (2 * n)) / shrink
    half_width = z / shrink * math.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2))
    # At 0 or n successes one bound is exactly 0 or 1, and computing it would leave a rounding error.
    low = 0.0 if successes == 0 else centre - half_width
    high = 1.0 if successes == n else centre + half_width
    return low, high


def check_count(value: int, name: str, minimum: int) -> None:
    """Raise ValueError unless value is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} instead")


@dataclass(frozen=True)
class SweepSummary:
    """Summary statistics of one configuration over the seeds of a sweep.

    Attributes
    ----------
    name : str
        Name of the configuration.
    n_seeds, n_solved, n_diverged : int
        Seeds trained, seeds that solved XOR, seeds whose loss became NaN or infinite.
    success_rate : float
        n_solved / n_seeds.
    interval : tuple of float
        Wilson score interval of the success rate at the chosen confidence.
    median_solved_epoch : float or None
        Median over the solved seeds of the first epoch that met the solve
        criterion; None if no seed solved.
    loss_quartiles : tuple of float
        25th, 50th and 75th percentiles of the final loss over the seeds that
        did not diverge (NaN if all diverged).
    """

    name: str
    n_seeds: int
    n_solved: int
    n_diverged: int
    success_rate: float
    interval: tuple[float, float]
    median_solved_epoch: float | None
    loss_quartiles: tuple[float, float, float]


def summarize_sweep(result: SweepResult, confidence: float = 0.95) -> SweepSummary:
    """Summarize one configuration of a sweep: success rate with its interval, epochs and losses."""
    n_seeds = result.n_seeds
    n_solved = int(result.solved.sum())
    diverged = result.diverged_epoch != NOT_REACHED

    solved_epochs = result.solved_epoch[result.solved & (result.solved_epoch != NOT_REACHED)]
    median_epoch = float(torch.quantile(solved_epochs.double(), 0.5)) if len(solved_epochs) else None

    finite_losses = result.final_loss[~diverged & torch.isfinite(result.final_loss)].double()
    if len(finite_losses):
        quartiles = torch.quantile(finite_losses, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))
        loss_quartiles = tuple(float(value) for value in quartiles)
    else:
        loss_quartiles = (math.nan, math.nan, math.nan)

    return SweepSummary(
        name=result.name,
        n_seeds=n_seeds,
        n_solved=n_solved,
        n_diverged=int(diverged.sum()),
        success_rate=n_solved / n_seeds,
        interval=wilson_interval(n_solved, n_seeds, confidence),
        median_solved_epoch=median_epoch,
        loss_quartiles=loss_quartiles,
    )


def format_table(summaries: Iterable[SweepSummary]) -> str:
    """Return the summaries as a fixed-width text table, one line per configuration."""
    summaries = list(summaries)
    width = max([len("variant"), *(len(summary.name) for summary in summaries)])
    header = (
        f"{'variant':<{width}} {'solved':>10} {'rate':>7} {'95% interval':>16} {'median epoch':>13} "
        f"{'diverged':>9}   final loss q25 / median / q75"
    )
    lines = [header, "-" * len(header)]
    for summary in summaries:
        low, high = summary.interval
        epoch = "-" if summary.median_solved_epoch is None else f"{summary.median_solved_epoch:.0f}"
        losses = " / ".join(f"{value:.2g}" for value in summary.loss_quartiles)
        lines.append(
            f"{summary.name:<{width}} {f'{summary.n_solved}/{summary.n_seeds}':>10} {summary.success_rate:>7.1%} "
            f"{f'[{low:.1%}, {high:.1%}]':>16} {epoch:>13} {summary.n_diverged:>9}   {losses}"
        )
    return "\n".join(lines)
