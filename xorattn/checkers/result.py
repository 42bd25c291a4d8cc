"""What every checker shares: the result it returns and safe calls of a student's function.

A checker never raises because of the student's code. It returns a
CheckResult whose repr is a one- or two-sentence message, so a notebook cell
ending in ``check_attention(my_attention)`` shows the message and nothing else.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The outcome of one check: passed or not, and a message saying why.

    It is truthy when the check passed, so ``assert check_attention(f)`` works in scripts.
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message

    __str__ = __repr__


class Failure(Exception):
    """Raised inside a checker to stop at the first wrong case; the checker returns its message."""


def checker(check: Callable[..., str]) -> Callable[..., CheckResult]:
    """Turn a function that returns a success message or raises Failure into a checker.

    The wrapped function returns CheckResult(True, message) or
    CheckResult(False, failure message).
    """

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> CheckResult:
        try:
            message = check(*args, **kwargs)
        except Failure as failure:
            return CheckResult(False, str(failure))
        return CheckResult(True, message)

    return run


def require_function(function: Any, checker_name: str, example: str) -> None:
    """Raise Failure unless function is callable, e.g. when a student passes its result instead."""
    if not callable(function):
        raise Failure(
            f"{checker_name} needs your function itself, as in {checker_name}({example}), "
            f"but it got a {type(function).__name__}."
        )


def call_student(function: Callable[..., Any], description: str, *args: Any) -> Any:
    """Call the student's function, turning any exception into a Failure that names the input.

    description says what the arguments are, e.g. "queries of shape (4, 2, 3)".
    """
    name = getattr(function, "__name__", "your function")
    try:
        return function(*args)
    except NotImplementedError:
        raise Failure(
            f"Not implemented yet: replace the `raise NotImplementedError(...)` line in {name} with your code, "
            "then run that cell and this one again."
        ) from None
    except Exception as error:  # the student's code may raise anything; report it as a sentence
        raise Failure(f"{name} raised {type(error).__name__}: {error}, when called with {description}.") from None


def require_answer(answer: Any, name: str) -> None:
    """Raise Failure if answer is still the placeholder ... (Ellipsis) or None of a stub."""
    if answer is Ellipsis or answer is None:
        raise Failure(f"Not answered yet: replace the ... after `{name} =` with your answer, then run both cells again.")


def as_tensor(value: Any, what: str) -> torch.Tensor:
    """Convert a tensor, NumPy array, number or nested list to a float64 tensor, or raise Failure."""
    try:
        if isinstance(value, torch.Tensor):
            return value.detach().to(torch.float64)
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise Failure(f"{what} must be a tensor or a list of numbers, got a {type(value).__name__} ({error}).") from None


def fmt(values: Any, decimals: int = 3) -> str:
    """Format a number or tensor rounded to decimals, e.g. "[[0.5, 0.5], [0.108, 0.892]]"."""
    tensor = torch.as_tensor(values, dtype=torch.float64)
    # Adding 0.0 turns -0.0 into 0.0 so rounded zeros print without a sign.
    rounded = torch.round(tensor, decimals=decimals) + 0.0
    return str(rounded.tolist())


def shape_text(shape: tuple[int, ...] | torch.Size) -> str:
    """Return a shape as "(4, 2, 3)"."""
    return str(tuple(shape))
