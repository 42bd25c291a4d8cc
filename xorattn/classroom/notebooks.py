"""Finding, reading and writing the lesson notebooks, and reading their cell tags."""

import json
from pathlib import Path

import nbformat

# A checkout has pyproject.toml beside the xorattn package. An installed
# package has none, and then the notebook folder must be given explicitly.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NOTEBOOK_DIR = REPOSITORY_ROOT / "notebooks"


def list_notebooks(directory: Path) -> list[Path]:
    """Return the .ipynb files directly in directory, sorted by name.

    Raises ValueError if directory does not exist or contains no notebook.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"notebook folder must be an existing folder, got {str(directory)!r} instead")
    paths = sorted(path for path in directory.glob("*.ipynb") if path.is_file())
    if not paths:
        raise ValueError(f"notebook folder {str(directory)!r} contains no .ipynb file")
    return paths


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook in nbformat 4, raising ValueError if it is not valid JSON or not a notebook."""
    try:
        return nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, KeyError, AttributeError) as error:
        raise ValueError(f"{path} is not a valid notebook: {error}") from error


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """Serialise nb as nbformat.write and `jupyter nbconvert --inplace` do (indent 1, final newline)."""
    return nbformat.writes(nb) + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Write nb to path unless the file already has that content. Return whether it was written."""
    text = notebook_text(nb)
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def cell_tags(cell: nbformat.NotebookNode) -> list[str]:
    """Return the cell's metadata tags (an empty list if it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def has_tag(cell: nbformat.NotebookNode, tag: str) -> bool:
    """Return whether the cell carries tag in its metadata tags."""
    return tag in cell_tags(cell)


def set_tags(cell: nbformat.NotebookNode, tags: list[str]) -> None:
    """Set the cell's tags, removing the key when there are none (as Jupyter does)."""
    if tags:
        cell.metadata["tags"] = list(tags)
    else:
        cell.metadata.pop("tags", None)


def source_text(cell: nbformat.NotebookNode) -> str:
    """Return the cell source as one string (nbformat allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def number_execution_counts(nb: nbformat.NotebookNode, new_cell: nbformat.NotebookNode) -> bool:
    """Number the code cells 1, 2, 3, ... after new_cell was inserted into an executed notebook.

    This is only safe when the other cells were already run top to bottom, so
    it happens only if they all have consecutive counts in order, starting at
    1 or 2. Empty code cells are left alone. Execute results get their cell's
    new count.

    Returns False if the counts are in some other state and the notebook has
    to be executed again, True otherwise (also when it was never executed).
    """
    cells = [cell for cell in nb.cells if cell.cell_type == "code" and source_text(cell).strip()]
    others = [cell.get("execution_count") for cell in cells if cell is not new_cell]
    if all(count is None for count in others):
        new_cell.execution_count = None
        return True
    in_order = others == list(range(others[0], others[0] + len(others))) if others[0] is not None else False
    if not in_order or others[0] not in (1, 2):
        return False

    for number, cell in enumerate(cells, start=1):
        cell.execution_count = number
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = number
    return True
