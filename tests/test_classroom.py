"""Tests of the classroom tools: badges and setup cells, student copies, and the real notebooks' state."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from xorattn.classroom import badges, student
from xorattn.classroom.badges import (
    BADGE_TAG,
    SETUP_TAG,
    apply_badges,
    badge_problems,
    badge_source,
    read_project_metadata,
    setup_source,
)
from xorattn.classroom.notebooks import has_tag, notebook_text, read_notebook, source_text
from xorattn.classroom.slides import slide_problems
from xorattn.classroom.student import (
    CHECKER_TAG,
    EXERCISE_TAG,
    SOLUTION_TAG,
    STUB_TAG,
    derive_stub,
    make_student_copy,
)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPOSITORY_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

SOLUTION_SOURCE = '''\
import math

import torch


def my_attention(queries, keys, values):
    """Return (output, attn_weights) for queries, keys (B, T, d_k) and values (B, T, d_v)."""
    attn_scores = queries @ keys.transpose(1, 2) / math.sqrt(queries.shape[-1])  # (B, T, T)
    attn_weights = torch.softmax(attn_scores, dim=-1)
    return attn_weights @ values, attn_weights'''

CHECKER_SOURCE = "from xorattn.checkers import check_attention\n\ncheck_attention(my_attention)"


def stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def executed(cell: nbformat.NotebookNode, count: int, *outputs) -> nbformat.NotebookNode:
    cell.execution_count = count
    cell.outputs = list(outputs)
    return cell


def lesson_notebook() -> nbformat.NotebookNode:
    """Return a small executed lesson: title, two steps, one exercise with solution and checker."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    exercise = {"tags": [EXERCISE_TAG]}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 09 · A lesson\n\nIntroduction."),
        executed(nbformat.v4.new_code_cell("x = 1\nprint(x)"), 1, stream("1\n")),
        nbformat.v4.new_markdown_cell("## A section\n\nText."),
        executed(nbformat.v4.new_code_cell("x + 1"), 2, nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)),
        nbformat.v4.new_markdown_cell("What the result shows."),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_markdown_cell("### Exercise 9.1: attention\n\nWrite `my_attention`.", metadata=exercise),
        executed(nbformat.v4.new_code_cell(SOLUTION_SOURCE, metadata={"tags": [EXERCISE_TAG, SOLUTION_TAG]}), 3),
        executed(
            nbformat.v4.new_code_cell(CHECKER_SOURCE, metadata={"tags": [EXERCISE_TAG, CHECKER_TAG]}),
            4,
            nbformat.v4.new_output("execute_result", data={"text/plain": "Correct"}, execution_count=4),
        ),
        executed(nbformat.v4.new_code_cell("print('uses the answer')", metadata=exercise), 5, stream("uses the answer\n")),
    ]
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.write_text(notebook_text(nb), encoding="utf-8")
    return path


def run_classroom(*args: str) -> subprocess.CompletedProcess:
    """Run python -m xorattn.classroom with the checkout on the path."""
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "xorattn.classroom", *args], capture_output=True, text=True, env=env, timeout=120
    )


def generated_cells(notebook_path: str) -> tuple[str, str]:
    """Return the badge and setup sources the project metadata gives for notebook_path."""
    url, requirements = read_project_metadata(REPOSITORY_ROOT)
    return badge_source(url, notebook_path), setup_source(url, requirements)


def test_repository_url_from_pyproject():
    """The repository address and requirements come from pyproject.toml."""
    url, requirements = read_project_metadata(REPOSITORY_ROOT)

    assert url == "https://github.com/xorattn/xorattn"
    assert any(requirement.startswith("torch") for requirement in requirements)


def test_repository_url_missing(tmp_path):
    """A pyproject.toml without [project.urls] Repository is rejected with its path."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')

    with pytest.raises(ValueError, match=r"no Repository URL under \[project.urls\] in .*pyproject.toml"):
        read_project_metadata(tmp_path)


def test_badge_links_notebook_on_colab():
    """The badge opens the notebook's path on the main branch through Colab's GitHub loader."""
    badge = badge_source("https://github.com/xorattn/xorattn", "notebooks/01_x.ipynb")

    assert badge == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/xorattn/xorattn/blob/main/notebooks/01_x.ipynb)"
    )


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a"])
def test_badge_non_github_url_rejected(url):
    """Colab opens only GitHub repositories, so other addresses raise ValueError."""
    with pytest.raises(ValueError, match="repository URL must be https://github.com/OWNER/NAME"):
        badge_source(url, "notebooks/x.ipynb")


def test_setup_installs_without_dependencies():
    """The setup cell installs with --no-deps and names only the requirements beyond torch, numpy, matplotlib."""
    setup = setup_source("https://github.com/xorattn/xorattn", ["torch>=2.2", "numpy>=1.24", "matplotlib>=3.7", "tqdm>=4.60"])

    assert '"--no-deps", source, "tqdm>=4.60"]' in setup
    assert '"XORATTN_INSTALL_SOURCE", "git+https://github.com/xorattn/xorattn"' in setup
    assert "torch>" not in setup
    assert "numpy>" not in setup
    ast.parse(setup)


def test_setup_silent_when_installed(tmp_path):
    """With xorattn importable the setup cell prints nothing and installs nothing."""
    _, setup = generated_cells("notebooks/x.ipynb")
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT), "XORATTN_INSTALL_SOURCE": str(tmp_path / "missing")}

    completed = subprocess.run([sys.executable, "-c", setup], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr == ""


def test_badges_insert_at_top():
    """Badge and setup cells become cells 0 and 1 with their tags, and later counts shift by one."""
    nb = lesson_notebook()
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")

    changed, counts_in_order = apply_badges(nb, badge, setup)

    assert changed
    assert counts_in_order
    assert has_tag(nb.cells[0], BADGE_TAG)
    assert has_tag(nb.cells[1], SETUP_TAG)
    assert badge_problems(nb, badge, setup) == []
    assert nb.cells[1].execution_count == 1
    assert nb.cells[1].outputs == []
    assert [cell.execution_count for cell in nb.cells if cell.cell_type == "code"] == [1, 2, 3, 4, 5, 6]
    assert nb.cells[5].outputs[0].execution_count == 3
    nbformat.validate(nb)


def test_badges_idempotent():
    """Applying the cells a second time changes nothing, byte for byte."""
    nb = lesson_notebook()
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")
    apply_badges(nb, badge, setup)
    once = notebook_text(nb)

    changed, _ = apply_badges(nb, badge, setup)

    assert not changed
    assert notebook_text(nb) == once


def test_badges_replace_moved_cells():
    """Tagged cells found elsewhere are updated and moved to the top, keeping their other metadata."""
    nb = lesson_notebook()
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")
    apply_badges(nb, badge, setup)
    setup_cell = nb.cells.pop(1)
    setup_cell.source = "print('old setup')"
    setup_cell.metadata["slideshow"] = {"slide_type": "skip"}
    nb.cells.insert(3, setup_cell)

    apply_badges(nb, badge, setup)

    assert badge_problems(nb, badge, setup) == []
    assert nb.cells[1].metadata["slideshow"] == {"slide_type": "skip"}
    assert sum(has_tag(cell, SETUP_TAG) for cell in nb.cells) == 1


def test_badges_unordered_counts_reported():
    """A notebook whose counts are out of order keeps them and is reported for re-execution."""
    nb = lesson_notebook()
    nb.cells[3].execution_count = 7
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")

    _, counts_in_order = apply_badges(nb, badge, setup)

    assert not counts_in_order
    assert nb.cells[3].execution_count == 1


def test_badges_problems_named():
    """A notebook without the cells gets one problem per missing cell."""
    nb = lesson_notebook()
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")

    problems = badge_problems(nb, badge, setup)

    assert problems == ["cell 0 must be tagged 'colab-badge'", "cell 1 must be tagged 'setup'"]


def test_cli_badges_check_then_write(tmp_path):
    """--check exits 1 before and 0 after the command writes the cells; a second run writes nothing."""
    write(lesson_notebook(), tmp_path / "09_lesson.ipynb")
    options = ("--notebooks", str(tmp_path), "--colab-folder", "notebooks")

    before = run_classroom("badges", *options, "--check")
    written = run_classroom("badges", *options)
    again = run_classroom("badges", *options)
    after = run_classroom("badges", *options, "--check")

    assert before.returncode == 1
    assert "09_lesson.ipynb: cell 0 must be tagged 'colab-badge'" in before.stderr
    assert written.returncode == 0
    assert written.stdout == "updated 09_lesson.ipynb\n"
    assert again.stdout == ""
    assert after.returncode == 0


def test_cli_badges_outside_repository(tmp_path):
    """A notebook folder outside the checkout needs --colab-folder, else a usage error."""
    write(lesson_notebook(), tmp_path / "09_lesson.ipynb")

    completed = run_classroom("badges", "--notebooks", str(tmp_path))

    assert completed.returncode == 2
    assert "usage:" in completed.stderr
    assert "is outside the repository, so give --colab-folder" in completed.stderr


def test_cli_missing_notebook_folder(tmp_path):
    """A notebook folder that does not exist is a usage error naming it."""
    completed = run_classroom("slides", "--notebooks", str(tmp_path / "nowhere"))

    assert completed.returncode == 2
    assert "notebook folder must be an existing folder" in completed.stderr


def test_cli_invalid_notebook(tmp_path):
    """A file that is not a notebook is a usage error naming the file."""
    (tmp_path / "broken.ipynb").write_text("{not json")

    completed = run_classroom("slides", "--notebooks", str(tmp_path))

    assert completed.returncode == 2
    assert "broken.ipynb is not a valid notebook" in completed.stderr


def test_derive_stub_keeps_signature():
    """A stub keeps imports, signature and docstring and raises NotImplementedError."""
    stub = derive_stub(SOLUTION_SOURCE)

    assert stub == (
        "import math\nimport torch\n\n\n"
        "def my_attention(queries, keys, values):\n"
        '    """Return (output, attn_weights) for queries, keys (B, T, d_k) and values (B, T, d_v)."""\n'
        '    raise NotImplementedError("write your solution here")'
    )


def test_derive_stub_multiline_signature():
    """Decorators and a signature over several lines are kept, hint comments after it are not."""
    source = (
        "# Exercise: a helper\n"
        "@staticmethod\n"
        "def helper(first: int,\n"
        "           second: int = 2) -> int:\n"
        "    # hint: add them\n"
        "    return first + second\n"
    )

    stub = derive_stub(source)

    assert stub == (
        "# Exercise: a helper\n"
        "@staticmethod\n"
        "def helper(first: int,\n"
        "           second: int = 2) -> int:\n"
        '    raise NotImplementedError("write your solution here")'
    )


def test_derive_stub_answer_variable():
    """A value answer becomes `name = ...` and other statements are dropped."""
    stub = derive_stub("import torch\n\npredicted_weights = torch.tensor([[0.5, 0.5]])\nprint(predicted_weights)\n")

    assert stub == "import torch\n\npredicted_weights = ...  # write your answer here"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("print(1)", "defines no function and assigns no variable"),
        ("def f(x): return x", "has its body on the def line"),
        ("def f(:", "must be valid Python"),
    ],
)
def test_derive_stub_rejects(source, message):
    """Code without an answer, or a one-line function, needs a declared stub."""
    with pytest.raises(ValueError, match=message):
        derive_stub(source)


def test_student_copy_replaces_solution():
    """The solution cell becomes a stub cell and exercise outputs are cleared; other outputs stay."""
    nb = lesson_notebook()

    copy = make_student_copy(nb)

    nbformat.validate(copy)
    stub_cell = copy.cells[7]
    assert stub_cell.metadata["tags"] == [EXERCISE_TAG, STUB_TAG]
    assert source_text(stub_cell) == derive_stub(SOLUTION_SOURCE)
    assert stub_cell.execution_count is None
    assert copy.cells[8].outputs == []
    assert copy.cells[9].outputs == []
    assert copy.cells[1].outputs == nb.cells[1].outputs
    assert copy.cells[3].execution_count == 2
    assert nb.cells[7].metadata["tags"] == [EXERCISE_TAG, SOLUTION_TAG]


def test_student_copy_declared_stub():
    """A stub declared in the cell metadata is used as it is and removed from the metadata."""
    nb = lesson_notebook()
    nb.cells[7].metadata["xorattn"] = {"stub": "my_attention = None  # your function"}

    copy = make_student_copy(nb)

    assert source_text(copy.cells[7]) == "my_attention = None  # your function"
    assert "xorattn" not in copy.cells[7].metadata


def test_student_copy_markdown_solution():
    """A markdown solution, such as an explanation, becomes an answer prompt."""
    nb = lesson_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("Because tanh is odd.", metadata={"tags": [EXERCISE_TAG, SOLUTION_TAG]}))

    copy = make_student_copy(nb)

    assert source_text(copy.cells[-1]) == student.MARKDOWN_STUB


def test_student_copy_badge_handling():
    """The badge is dropped without a new link, and replaced with one."""
    nb = lesson_notebook()
    badge, setup = generated_cells("notebooks/09_lesson.ipynb")
    apply_badges(nb, badge, setup)
    student_badge = badge_source("https://github.com/xorattn/xorattn", "student/09_lesson.ipynb")

    without = make_student_copy(nb)
    linked = make_student_copy(nb, student_badge)

    assert not any(has_tag(cell, BADGE_TAG) for cell in without.cells)
    assert has_tag(without.cells[0], SETUP_TAG)
    assert source_text(linked.cells[0]) == student_badge


def test_cli_student_writes_copies(tmp_path):
    """The student command writes one valid copy per notebook and says where."""
    notebooks, out = tmp_path / "notebooks", tmp_path / "student"
    notebooks.mkdir()
    write(lesson_notebook(), notebooks / "09_lesson.ipynb")

    completed = run_classroom("student", "--notebooks", str(notebooks), "--out", str(out))

    assert completed.returncode == 0, completed.stderr
    assert f"wrote {out / '09_lesson.ipynb'}" in completed.stdout
    copy = read_notebook(out / "09_lesson.ipynb")
    nbformat.validate(copy)
    assert "attn_weights = torch.softmax" not in notebook_text(copy)


@pytest.mark.parametrize("target", ["file", "notebooks"])
def test_cli_student_bad_out(tmp_path, target):
    """--out naming an existing file, or the notebook folder itself, is a usage error with status 2."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write(lesson_notebook(), notebooks / "09_lesson.ipynb")
    out = notebooks / "09_lesson.ipynb" if target == "file" else notebooks

    completed = run_classroom("student", "--notebooks", str(notebooks), "--out", str(out))

    assert completed.returncode == 2
    assert "usage:" in completed.stderr
    assert "--out must" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_cli_student_requires_out():
    """Without --out argparse prints the usage and exits 2."""
    completed = run_classroom("student")

    assert completed.returncode == 2
    assert "the following arguments are required: --out" in completed.stderr


# The real notebooks, as committed.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_badge_cells_current(path):
    """Each notebook starts with the badge and setup cells generated from pyproject.toml."""
    badge, setup = generated_cells(f"notebooks/{path.name}")

    problems = badge_problems(read_notebook(path), badge, setup)

    assert problems == [], f"run `python -m xorattn.classroom badges`: {problems}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_setup_cell_silent(path):
    """The committed setup cell has no output, so nbval in a checkout expects none."""
    setup_cells = [cell for cell in read_notebook(path).cells if has_tag(cell, SETUP_TAG)]

    assert len(setup_cells) == 1
    assert setup_cells[0].outputs == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_slide_types_current(path):
    """Each cell's slide type follows the rule of xorattn.classroom.slides."""
    problems = slide_problems(read_notebook(path))

    assert problems == [], f"run `python -m xorattn.classroom slides`: {problems[:3]}"


def exercise_pairs(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode, nbformat.NotebookNode]]:
    """Return (index, solution cell, checker cell) for each code solution followed by its checker."""
    pairs = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and has_tag(cell, SOLUTION_TAG):
            following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            pairs.append((index, cell, following))
    return pairs


def run_checker_cell(setup_code: str, checker_code: str):
    """Execute setup_code, then the checker cell, and return the value of its last expression."""
    namespace = {}
    exec(compile(setup_code, "<solution>", "exec"), namespace)
    tree = ast.parse(checker_code)
    *statements, last = tree.body
    exec(compile(ast.Module(statements, type_ignores=[]), "<checker>", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "<checker>", "eval"), namespace)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_student_copy(path):
    """The student copy is valid and no line of a solution's body is left in it."""
    nb = read_notebook(path)

    copy = make_student_copy(nb)

    nbformat.validate(copy)
    text = notebook_text(copy)
    # A solution line may also appear in the lesson itself, such as `d_k = queries.shape[-1]`.
    lesson_text = "\n".join(source_text(cell) for cell in nb.cells if not has_tag(cell, SOLUTION_TAG))
    for index, cell, _ in exercise_pairs(nb):
        stub_lines = set(derive_stub(source_text(cell)).splitlines())
        for line in source_text(cell).splitlines():
            if not line.strip() or line in stub_lines or line.strip().startswith("#") or line.strip() in lesson_text:
                continue
            assert line.strip() not in text, f"cell {index}: solution line {line!r} left in the student copy"
    assert not any(has_tag(cell, SOLUTION_TAG) for cell in copy.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_checkers_on_solutions_and_stubs(path):
    """Every solution passes the checker that follows it, and its stub fails with advice."""
    nb = read_notebook(path)
    copy = make_student_copy(nb, badge="kept, so that cell indices match")

    for index, cell, checker_cell in exercise_pairs(nb):
        assert checker_cell is not None and has_tag(checker_cell, CHECKER_TAG), f"cell {index}: no checker cell after it"
        on_solution = run_checker_cell(source_text(cell), source_text(checker_cell))
        on_stub = run_checker_cell(source_text(copy.cells[index]), source_text(checker_cell))

        assert on_solution.passed, f"cell {index}: {on_solution.message}"
        assert not on_stub.passed, f"cell {index}: the stub passed"
        assert on_stub.message.startswith(("Not implemented yet", "Not answered yet")), on_stub.message
