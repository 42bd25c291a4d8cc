"""Checkers for the exercises at the end of notebooks 01 to 04.

Each checker takes the student's function (or answer), tries it on cases
with known results and returns a CheckResult. Its repr is one or two plain
sentences: what is right, or which case is wrong, with the input and the
expected value. A function that raises is reported the same way, and a stub
that raises NotImplementedError gets a reminder to write the code first.

>>> check_attention(my_attention)  # doctest: +SKIP
Correct on all 3 cases, including d_k != d_v, 5 tokens and a batch of 4: ...
"""

from .ablation import check_identity_mixing, check_interaction, check_uniform_mixing, check_wilson_interval
from .attention import check_attention, check_attention_prediction, check_biased_projections
from .boundaries import check_boundary_crossing, check_prediction_grid
from .result import CheckResult
from .training import check_first_epoch_below, check_solved_criterion, check_zero_input_prediction

__all__ = [
    "CheckResult",
    "check_attention",
    "check_attention_prediction",
    "check_biased_projections",
    "check_boundary_crossing",
    "check_first_epoch_below",
    "check_identity_mixing",
    "check_interaction",
    "check_prediction_grid",
    "check_solved_criterion",
    "check_uniform_mixing",
    "check_wilson_interval",
    "check_zero_input_prediction",
]
