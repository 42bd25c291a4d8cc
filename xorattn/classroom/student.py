"""Student copies of the notebooks: solutions replaced by stubs, exercise outputs cleared.

Each exercise in a notebook is a group of cells tagged "exercise": the task
in markdown, a cell tagged "solution" with the lecturer's answer, a cell
tagged "checker" that calls a checker from xorattn.checkers, and optional
cells that use the answer. In a student copy the solution cell becomes a stub
cell tagged "stub" and every exercise code cell loses its outputs.

A stub keeps the solution's imports and the signature and docstring of each
function it defines, with the body replaced by ``raise NotImplementedError``.
A top-level assignment, such as a predicted value, becomes ``name = ...``.
A solution cell can declare its own stub as a string in
``metadata["xorattn"]["stub"]``, which is used as it is.
"""

import ast
import copy

import nbformat

from .badges import BADGE_TAG
from .notebooks import cell_tags, has_tag, set_tags, source_text

EXERCISE_TAG = "exercise"
SOLUTION_TAG = "solution"
CHECKER_TAG = "checker"
STUB_TAG = "stub"

# Key in cell metadata under which a solution cell may declare its stub.
METADATA_KEY = "xorattn"

NOT_IMPLEMENTED_LINE = 'raise NotImplementedError("write your solution here")'
ANSWER_PLACEHOLDER = "...  # write your answer here"
MARKDOWN_STUB = "*Write your answer here.*"


def derive_stub(source: str) -> str:
    """Return the stub for the code of a solution cell.

    Raises ValueError if the code does not parse, or if it defines neither a
    function nor a variable, so that there is nothing to leave for the student.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ValueError(f"solution code must be valid Python to derive a stub, got {error}") from error
    lines = source.splitlines()

    imports, answers = [], []
    defines_function = False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(ast.get_source_segment(source, node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            answers.append(function_stub(node, lines))
            defines_function = True
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and assigned_names(node):
            answers.append(f"{' = '.join(assigned_names(node))} = {ANSWER_PLACEHOLDER}")
    if not answers:
        raise ValueError(
            "solution code defines no function and assigns no variable, so no stub can be derived; "
            f'declare one in the cell metadata as {{"{METADATA_KEY}": {{"stub": "..."}}}}'
        )

    parts = ["\n".join(imports)] if imports else []
    parts.extend(answers)
    # PEP 8 puts two blank lines around top-level functions.
    separator = "\n\n\n" if defines_function else "\n\n"
    return "".join(line + "\n" for line in leading_comments(lines, tree)) + separator.join(parts)


def function_stub(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str:
    """Return the function's decorators, signature and docstring with a NotImplementedError body."""
    first_statement = node.body[0]
    if first_statement.lineno == node.lineno:
        raise ValueError(
            f"function {node.name} has its body on the def line, so no stub can be derived; "
            f'declare one in the cell metadata as {{"{METADATA_KEY}": {{"stub": "..."}}}}'
        )
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    has_docstring = (
        isinstance(first_statement, ast.Expr)
        and isinstance(first_statement.value, ast.Constant)
        and isinstance(first_statement.value.value, str)
    )
    if has_docstring:
        header = lines[start - 1 : first_statement.end_lineno]
    else:
        header = lines[start - 1 : first_statement.lineno - 1]
        # Comments between the signature and the first statement are hints of the solution.
        while header and (not header[-1].strip() or header[-1].strip().startswith("#")):
            header.pop()
    indent = " " * first_statement.col_offset
    return "\n".join([*header, indent + NOT_IMPLEMENTED_LINE])


def assigned_names(node: ast.Assign | ast.AnnAssign) -> list[str]:
    """Return the plain variable names an assignment binds, or [] if any target is not a plain name."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if all(isinstance(target, ast.Name) for target in targets):
        return [target.id for target in targets]
    return []


def leading_comments(lines: list[str], tree: ast.Module) -> list[str]:
    """Return the comment lines before the first statement, such as "# Exercise 1.2"."""
    end = tree.body[0].lineno - 1 if tree.body else len(lines)
    return [line for line in lines[:end] if line.strip().startswith("#")]


def stub_source(cell: nbformat.NotebookNode) -> str:
    """Return the stub for a solution cell: the declared one, or one derived from its code."""
    declared = cell.metadata.get(METADATA_KEY, {}).get("stub")
    if declared is not None:
        return "".join(declared) if isinstance(declared, list) else declared
    if cell.cell_type == "markdown":
        return MARKDOWN_STUB
    return derive_stub(source_text(cell))


def make_student_copy(nb: nbformat.NotebookNode, badge: str | None = None) -> nbformat.NotebookNode:
    """Return a copy of nb for students.

    Solution cells become stub cells, exercise code cells lose their outputs
    and execution counts, and all other cells stay as they are, with outputs.
    The badge cell gets the markdown badge, or is dropped if badge is None,
    because the original badge opens the notebook with the solutions.

    Raises ValueError naming the cell if a stub cannot be derived.
    """
    student = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(student.cells):
        if has_tag(cell, BADGE_TAG):
            if badge is None:
                continue
            cell.source = badge
        if has_tag(cell, SOLUTION_TAG):
            try:
                cell.source = stub_source(cell)
            except ValueError as error:
                raise ValueError(f"cell {index}: {error}") from error
            cell.metadata.get(METADATA_KEY, {}).pop("stub", None)
            if METADATA_KEY in cell.metadata and not cell.metadata[METADATA_KEY]:
                del cell.metadata[METADATA_KEY]
            set_tags(cell, [STUB_TAG if tag == SOLUTION_TAG else tag for tag in cell_tags(cell)])
        if cell.cell_type == "code" and (has_tag(cell, EXERCISE_TAG) or has_tag(cell, STUB_TAG)):
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    student.cells = cells
    return student
