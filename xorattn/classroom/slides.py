"""Slide types for presenting a notebook with ``jupyter nbconvert --to slides``.

Each cell gets ``metadata["slideshow"]["slide_type"]`` by one rule:

- the badge, setup, solution and checker cells are skipped: the class sees
  the exercise, not its answer;
- a markdown cell starting with "# " or "## " starts a slide;
- a markdown cell starting with "### " starts a subslide;
- a markdown cell that follows a code cell starts a subslide, so each step
  of the lesson (text, code, output) gets a slide of its own below the
  section's first one;
- every other cell continues the current slide ("-").
"""

import nbformat

from .badges import BADGE_TAG, SETUP_TAG
from .notebooks import has_tag, source_text
from .student import CHECKER_TAG, SOLUTION_TAG

SKIPPED_TAGS = (BADGE_TAG, SETUP_TAG, SOLUTION_TAG, CHECKER_TAG)


def slide_type(cell: nbformat.NotebookNode, previous: nbformat.NotebookNode | None) -> str:
    """Return the slide type of cell, given the previous cell that is not skipped (None for the first)."""
    if any(has_tag(cell, tag) for tag in SKIPPED_TAGS):
        return "skip"
    if cell.cell_type != "markdown":
        return "-"

    first_line = source_text(cell).lstrip().split("\n", 1)[0]
    if first_line.startswith(("# ", "## ")):
        return "slide"
    if first_line.startswith("### "):
        return "subslide"
    if previous is not None and previous.cell_type == "code":
        return "subslide"
    return "-"


def slide_types(nb: nbformat.NotebookNode) -> list[str]:
    """Return the slide type the rule gives each cell of nb, in order."""
    types = []
    previous = None
    for cell in nb.cells:
        kind = slide_type(cell, previous)
        types.append(kind)
        if kind != "skip":
            previous = cell
    return types


def apply_slide_types(nb: nbformat.NotebookNode) -> bool:
    """Set every cell's slide type by the rule, in place. Return whether any changed."""
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb)):
        if cell.metadata.get("slideshow", {}).get("slide_type") != kind:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = kind
            changed = True
    return changed


def slide_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return the cells whose slide type differs from the rule (empty if none does)."""
    problems = []
    for index, (cell, kind) in enumerate(zip(nb.cells, slide_types(nb))):
        actual = cell.metadata.get("slideshow", {}).get("slide_type")
        if actual != kind:
            problems.append(f"cell {index}: slide type must be {kind!r}, got {actual!r}")
    return problems
