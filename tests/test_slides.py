"""Tests of the slide rule and of converting the notebooks to reveal.js slides with nbconvert."""

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import SlidesExporter
from traitlets.config import Config as TraitletsConfig

from xorattn.classroom.badges import apply_badges
from xorattn.classroom.notebooks import read_notebook, source_text
from xorattn.classroom.slides import apply_slide_types, slide_type, slide_types

from test_classroom import lesson_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def export_slides(nb: nbformat.NotebookNode, **options) -> str:
    """Convert nb to reveal.js HTML as `jupyter nbconvert --to slides` does, with SlidesExporter options."""
    config = TraitletsConfig()
    for name, value in options.items():
        setattr(config.SlidesExporter, name, value)
    html, _ = SlidesExporter(config=config).from_notebook_node(nb)
    return html


def count_sections(nb: nbformat.NotebookNode) -> int:
    """Return the <section> elements reveal.js needs: one per slide plus one per slide and subslide inside it."""
    types = [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]
    return 2 * types.count("slide") + types.count("subslide")


@pytest.mark.parametrize(
    ("source", "cell_type", "previous", "expected"),
    [
        ("# 01 · Title", "markdown", None, "slide"),
        ("## A section", "markdown", "code", "slide"),
        ("### Exercise 1.1", "markdown", "markdown", "subslide"),
        ("What the figure shows.", "markdown", "code", "subslide"),
        ("More text.", "markdown", "markdown", "-"),
        ("print(1)", "code", "markdown", "-"),
        ("#hashtag, not a heading", "markdown", "markdown", "-"),
    ],
)
def test_slide_type_rule(source, cell_type, previous, expected):
    """Headings start slides and subslides, text after code starts a subslide, the rest continues."""
    make = nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_code_cell
    before = None
    if previous == "code":
        before = nbformat.v4.new_code_cell("x = 1")
    elif previous == "markdown":
        before = nbformat.v4.new_markdown_cell("Text.")

    assert slide_type(make(source), before) == expected


@pytest.mark.parametrize("tag", ["colab-badge", "setup", "solution", "checker"])
def test_slide_skips_tagged_cells(tag):
    """Badge, setup, solution and checker cells are left out of the slides."""
    cell = nbformat.v4.new_markdown_cell("## Looks like a heading", metadata={"tags": [tag]})

    assert slide_type(cell, None) == "skip"


def test_slide_skipped_cell_not_previous():
    """A skipped code cell does not make the next text a subslide."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("answer = 1", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Text after the solution."),
    ]

    assert slide_types(nb) == ["slide", "skip", "-"]


def test_apply_slide_types_idempotent():
    """Applying the rule twice changes nothing the second time."""
    nb = lesson_notebook()

    first = apply_slide_types(nb)
    second = apply_slide_types(nb)

    assert first
    assert not second


def test_lesson_slides_sections():
    """The exported deck has one section per slide and subslide, and no skipped cell."""
    nb = lesson_notebook()
    apply_badges(nb, "[![Open In Colab](badge.svg)](https://colab.example/x)", "print('setting up')")
    apply_slide_types(nb)

    html = export_slides(nb)

    assert len(re.findall(r"<section\b", html)) == count_sections(nb)
    assert "Exercise 9.1" in html
    assert "setting up" not in html
    assert "colab.example" not in html
    assert "torch.softmax(attn_scores" not in html


def test_slides_offline_prefix():
    """A local reveal.js prefix and scrolling reach the HTML, for presenting without a network."""
    nb = lesson_notebook()
    apply_slide_types(nb)

    html = export_slides(nb, reveal_url_prefix="reveal.js", reveal_scroll=True)

    assert 'href="reveal.js/dist/reveal.css"' in html
    assert '"reveal.js/dist/reveal.js"' in html
    assert "var scroll = true" in html


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_converts_to_slides(path):
    """Each lesson notebook, with the rule applied, converts to a deck of its slides."""
    nb = copy.deepcopy(read_notebook(path))
    apply_slide_types(nb)

    html = export_slides(nb, reveal_scroll=True)

    title = next(source_text(cell) for cell in nb.cells if cell.cell_type == "markdown" and source_text(cell).startswith("# "))
    assert len(re.findall(r"<section\b", html)) == count_sections(nb)
    assert title.split("\n", 1)[0].split("· ", 1)[-1] in html
