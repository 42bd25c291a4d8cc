"""Hygiene checks for the committed lesson notebooks.

nbval checks that each notebook reproduces its outputs. These tests check
what nbval does not. Each notebook must be valid nbformat 4 and must have
been run top to bottom in one kernel. It must show no errors and no path of
the machine it was run on. Its widget metadata, if any, must have the
"state" key that GitHub needs to render the notebook.

Each check function takes a notebook and returns a list of problems, each
naming the cell, so a failing test shows what to fix and where.
"""

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# Prefixes of absolute paths on the machines notebooks are usually run on.
# Committed outputs must be free of them, so they look the same for every reader.
MACHINE_PATH_MARKERS = ("/work/", "/root/", "/home/", "/Users/", "/tmp/", "C:\\")

# A cell with this tag may write a warning to stderr on purpose, to teach it.
EXPECTED_WARNING_TAG = "warning-expected"

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as stored, without converting or validating it."""
    with open(path, encoding="utf-8") as file:
        return nbformat.from_dict(json.load(file))


def validation_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return why nb is not a valid nbformat 4 notebook (empty if it is)."""
    if nb.get("nbformat") != 4:
        return [f"nbformat must be 4, got {nb.get('nbformat')!r}"]
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        return [f"invalid nbformat 4: {error.message}"]
    return []


def kernelspec_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return a problem unless the kernelspec is the standard python3 kernel."""
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if name != "python3":
        return [f'kernelspec name must be "python3", got {name!r}']
    return []


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    """Return (index, cell) for each code cell. The index counts all cells from 0."""
    return [(index, cell) for index, cell in enumerate(nb.get("cells", [])) if cell.get("cell_type") == "code"]


def execution_order_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return where the code cells were not run once each, top to bottom, from a fresh kernel.

    Non-empty code cells must have execution counts 1, 2, 3, ... in order.
    An empty code cell may be left unexecuted. A cell's execute_result must
    carry the cell's own count.
    """
    problems = []
    expected = 1
    for index, cell in code_cells(nb):
        count = cell.get("execution_count")
        if count is None:
            if "".join(cell.get("source", "")).strip():
                problems.append(f"cell {index}: not executed (execution_count is None)")
            continue
        if count != expected:
            problems.append(f"cell {index}: execution_count must be {expected}, got {count}")
        expected = count + 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result" and output.get("execution_count") != count:
                problems.append(
                    f"cell {index}: execute_result count must be {count}, got {output.get('execution_count')}"
                )
    return problems


def error_output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return the cells with an error output."""
    problems = []
    for index, cell in code_cells(nb):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index}: error output {output.get('ename')}: {output.get('evalue')}")
    return problems


def output_texts(output: dict) -> list[str]:
    """Return the text of an output: stream text, traceback, and every non-image data entry."""
    texts = ["".join(output.get("text", "")), "\n".join(output.get("traceback", []))]
    for mime, value in output.get("data", {}).items():
        # Base64 image data is not readable text, and it could match a marker by chance.
        if not mime.startswith("image/"):
            texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


def machine_path_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return where an absolute path of the author's machine appears in metadata, sources or outputs."""
    places = [("notebook metadata", json.dumps(nb.get("metadata", {})))]
    for index, cell in enumerate(nb.get("cells", [])):
        places.append((f"cell {index} source", "".join(cell.get("source", ""))))
        places.append((f"cell {index} metadata", json.dumps(cell.get("metadata", {}))))
        for output in cell.get("outputs", []):
            places.extend((f"cell {index} output", text) for text in output_texts(output))

    problems = []
    for place, text in places:
        for marker in MACHINE_PATH_MARKERS:
            if marker in text:
                problems.append(f"{place}: contains the machine path {marker!r}")
    return problems


def stderr_warning_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return the cells that print a warning to stderr without the EXPECTED_WARNING_TAG tag."""
    problems = []
    for index, cell in code_cells(nb):
        if EXPECTED_WARNING_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if output.get("output_type") == "stream" and output.get("name") == "stderr" and "Warning" in text:
                problems.append(f"cell {index}: warning on stderr: {text.strip()[:120]}")
    return problems


def widget_state_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Return a problem if metadata.widgets exists without a "state" key.

    Jupyter stores the widget state under metadata.widgets[WIDGET_STATE_MIME].
    GitHub fails to render a notebook where that entry has no "state" key.
    """
    widgets = nb.get("metadata", {}).get("widgets")
    if widgets is None:
        return []
    bundle = widgets.get(WIDGET_STATE_MIME)
    if not isinstance(bundle, dict) or "state" not in bundle:
        return [f'metadata.widgets must contain {WIDGET_STATE_MIME} with a "state" key, got keys of '
                f"{sorted(bundle) if isinstance(bundle, dict) else sorted(widgets)}"]
    return []


CHECKS = (
    validation_problems,
    kernelspec_problems,
    execution_order_problems,
    error_output_problems,
    machine_path_problems,
    stderr_warning_problems,
    widget_state_problems,
)


def test_notebooks_found():
    """The notebook folder has notebooks, so the checks below do run."""
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_clean(path, check):
    """Each committed notebook passes each hygiene check."""
    assert check(read_notebook(path)) == []


def make_notebook(cells: list[dict], metadata: dict | None = None) -> dict:
    """Return notebook JSON as a dict, with the python3 kernelspec unless metadata is given."""
    if metadata is None:
        metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def make_code_cell(source: str, execution_count: int | None, outputs: list[dict] | None = None, index: int = 0) -> dict:
    """Return a code cell as a dict."""
    return {
        "cell_type": "code",
        "id": f"cell-{index}",
        "metadata": {},
        "source": source,
        "execution_count": execution_count,
        "outputs": outputs or [],
    }


def write_and_read(tmp_path: Path, notebook: dict) -> nbformat.NotebookNode:
    """Write notebook JSON to tmp_path and read it back as the tests read committed notebooks."""
    path = tmp_path / "notebook.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return read_notebook(path)


@pytest.fixture
def clean_notebook(tmp_path):
    """A small notebook that passes every check."""
    cells = [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# A clean notebook"},
        make_code_cell("x = 1", 1, index=1),
        make_code_cell("", None, index=2),
        make_code_cell(
            "x + 1", 2,
            [{"output_type": "execute_result", "execution_count": 2, "metadata": {}, "data": {"text/plain": "2"}}],
            index=3,
        ),
    ]
    return write_and_read(tmp_path, make_notebook(cells))


@pytest.fixture
def bad_notebook(tmp_path):
    """A notebook with one instance of each problem the checks look for."""
    error = {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": []}
    path_output = {"output_type": "stream", "name": "stdout", "text": "saved to /home/alice/figure.png\n"}
    warning = {"output_type": "stream", "name": "stderr", "text": "UserWarning: something changed\n"}
    cells = [
        make_code_cell("import math", 1, index=0),
        make_code_cell("1 / 0", 3, [error], index=1),
        make_code_cell("print(path)", None, [path_output], index=2),
        make_code_cell("warn()", 4, [warning], index=3),
        # A cell type that nbformat 4 does not define makes the notebook invalid.
        {"cell_type": "slide", "id": "cell-4", "metadata": {}, "source": "text"},
    ]
    metadata = {
        "kernelspec": {"name": "julia-1.10", "display_name": "Julia 1.10", "language": "julia"},
        "widgets": {WIDGET_STATE_MIME: {"version_major": 2, "version_minor": 0}},
    }
    return write_and_read(tmp_path, make_notebook(cells, metadata))


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_check_passes_clean(clean_notebook, check):
    """A check reports nothing for a clean notebook."""
    assert check(clean_notebook) == []


def test_validation_reports_invalid(bad_notebook):
    """validation_problems names the schema error."""
    problems = validation_problems(bad_notebook)
    assert len(problems) == 1
    assert problems[0].startswith("invalid nbformat 4")


def test_validation_reports_version(clean_notebook):
    """validation_problems rejects another major nbformat version."""
    clean_notebook["nbformat"] = 3
    assert validation_problems(clean_notebook) == ["nbformat must be 4, got 3"]


def test_kernelspec_reports_other(bad_notebook):
    """kernelspec_problems names the wrong kernel."""
    assert kernelspec_problems(bad_notebook) == ["kernelspec name must be \"python3\", got 'julia-1.10'"]


def test_kernelspec_reports_missing(clean_notebook):
    """kernelspec_problems reports a notebook without a kernelspec."""
    del clean_notebook["metadata"]["kernelspec"]
    assert kernelspec_problems(clean_notebook) == ['kernelspec name must be "python3", got None']


def test_execution_order_reports_gap_and_unexecuted(bad_notebook):
    """execution_order_problems reports a skipped count and an unexecuted cell."""
    problems = execution_order_problems(bad_notebook)
    assert "cell 1: execution_count must be 2, got 3" in problems
    assert "cell 2: not executed (execution_count is None)" in problems
    assert len(problems) == 2


def test_execution_order_reports_rerun(clean_notebook):
    """execution_order_problems reports cells run out of order."""
    clean_notebook["cells"][1]["execution_count"] = 5
    problems = execution_order_problems(clean_notebook)
    assert problems[0] == "cell 1: execution_count must be 1, got 5"
    assert "cell 3: execution_count must be 6, got 2" in problems


def test_execution_order_reports_result_count(clean_notebook):
    """execution_order_problems reports an execute_result from another run."""
    clean_notebook["cells"][3]["outputs"][0]["execution_count"] = 7
    assert execution_order_problems(clean_notebook) == ["cell 3: execute_result count must be 2, got 7"]


def test_errors_reported(bad_notebook):
    """error_output_problems names the cell and the exception."""
    assert error_output_problems(bad_notebook) == ["cell 1: error output ZeroDivisionError: division by zero"]


def test_machine_path_in_output(bad_notebook):
    """machine_path_problems finds a home directory in a stream output."""
    assert machine_path_problems(bad_notebook) == ["cell 2 output: contains the machine path '/home/'"]


@pytest.mark.parametrize("marker", MACHINE_PATH_MARKERS)
def test_machine_path_in_source(clean_notebook, marker):
    """machine_path_problems finds each marker in a cell source."""
    clean_notebook["cells"][1]["source"] = f"path = {marker + 'data.csv'!r}"
    assert machine_path_problems(clean_notebook) == [f"cell 1 source: contains the machine path {marker!r}"]


def test_machine_path_in_metadata(clean_notebook):
    """machine_path_problems finds a path in the notebook metadata."""
    clean_notebook["metadata"]["interpreter"] = {"path": "/Users/alice/.venv/bin/python"}
    assert machine_path_problems(clean_notebook) == ["notebook metadata: contains the machine path '/Users/'"]


def test_machine_path_ignores_images(clean_notebook):
    """machine_path_problems skips base64 image data, which is not readable text."""
    outputs = clean_notebook["cells"][3]["outputs"]
    outputs[0]["data"]["image/png"] = "iVBORw0KGgo/tmp/AAAA"
    assert machine_path_problems(clean_notebook) == []


def test_stderr_warning_reported(bad_notebook):
    """stderr_warning_problems reports a warning printed to stderr."""
    assert stderr_warning_problems(bad_notebook) == ["cell 3: warning on stderr: UserWarning: something changed"]


def test_stderr_warning_allowed_by_tag(bad_notebook):
    """stderr_warning_problems accepts a warning in a cell tagged as expecting it."""
    bad_notebook["cells"][3]["metadata"]["tags"] = [EXPECTED_WARNING_TAG]
    assert stderr_warning_problems(bad_notebook) == []


def test_widget_state_reported(bad_notebook):
    """widget_state_problems reports widget metadata without "state"."""
    problems = widget_state_problems(bad_notebook)
    assert len(problems) == 1
    assert '"state" key' in problems[0]


def test_widget_state_accepted(clean_notebook):
    """widget_state_problems accepts widget metadata that has "state"."""
    clean_notebook["metadata"]["widgets"] = {WIDGET_STATE_MIME: {"state": {}, "version_major": 2, "version_minor": 0}}
    assert widget_state_problems(clean_notebook) == []
