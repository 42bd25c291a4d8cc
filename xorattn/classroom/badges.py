"""The "Open in Colab" badge and the setup cell at the top of every notebook.

Both are generated from the repository address in pyproject.toml
(``[project.urls] Repository``), so that address is written in one place.
The cells are found again by their tags, which makes applying them twice
change nothing.
"""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat.corpus.words import generate_corpus_id

from .notebooks import REPOSITORY_ROOT, has_tag, number_execution_counts, source_text

BADGE_TAG = "colab-badge"
SETUP_TAG = "setup"

# Fixed cell ids keep the cells stable across runs (nbformat 4.5 and later).
BADGE_CELL_ID = "colab-badge"
SETUP_CELL_ID = "xorattn-setup"

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_GITHUB_PREFIX = "https://colab.research.google.com/github"

# The notebook's runtime provides these (Colab preinstalls them). The setup cell
# never installs them, so it cannot replace a runtime's own build, such as a CUDA torch.
RUNTIME_LIBRARIES = ("torch", "numpy", "matplotlib")

SETUP_TEMPLATE = '''\
# Setup: installs the xorattn package where it is missing (Colab, or this notebook on its own).
import importlib.util, os, subprocess, sys

if importlib.util.find_spec("xorattn") is None:
    source = os.environ.get("XORATTN_INSTALL_SOURCE", "{default_source}")
    # --no-deps leaves the runtime's torch, numpy and matplotlib as they are.
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", source, {other_requirements}]
    pip = subprocess.run(command, capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(f"pip could not install xorattn from {{source}}:\\n{{pip.stderr}}")
    importlib.invalidate_caches()
    print(f"Installed xorattn from {{source}}, keeping the torch, numpy and matplotlib already here.")'''


def read_project_metadata(root: Path = REPOSITORY_ROOT) -> tuple[str, list[str]]:
    """Return the repository URL and the runtime requirements of the xorattn project.

    They come from root/pyproject.toml in a checkout, else from the metadata
    of the installed package. Raises ValueError if neither names a repository.
    """
    pyproject = Path(root) / "pyproject.toml"
    if pyproject.is_file():
        with open(pyproject, "rb") as file:
            project = tomllib.load(file).get("project", {})
        url = project.get("urls", {}).get("Repository")
        requirements = list(project.get("dependencies", []))
        where = str(pyproject)
    else:
        package = metadata.metadata("xorattn")
        urls = dict(entry.split(", ", 1) for entry in package.get_all("Project-URL") or [])
        url = urls.get("Repository")
        requirements = [req for req in metadata.requires("xorattn") or [] if "extra ==" not in req]
        where = "the installed xorattn package's metadata"
    if not url:
        raise ValueError(f"no Repository URL under [project.urls] in {where}")
    return url, requirements


def read_repository_url(root: Path = REPOSITORY_ROOT) -> str:
    """Return the public repository URL, e.g. https://github.com/xorattn/xorattn."""
    return read_project_metadata(root)[0]


def github_owner_and_name(url: str) -> str:
    """Return "owner/name" of a GitHub repository URL, or raise ValueError for another URL."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if match is None:
        raise ValueError(f"repository URL must be https://github.com/OWNER/NAME for Colab, got {url!r} instead")
    return f"{match.group(1)}/{match.group(2)}"


def colab_url(repository_url: str, notebook_path: str, branch: str = "main") -> str:
    """Return the Colab address that opens notebook_path (relative to the repository root) from GitHub."""
    return f"{COLAB_GITHUB_PREFIX}/{github_owner_and_name(repository_url)}/blob/{branch}/{notebook_path}"


def badge_source(repository_url: str, notebook_path: str, branch: str = "main") -> str:
    """Return the markdown of the "Open in Colab" badge for notebook_path, e.g. "notebooks/00_x.ipynb"."""
    link = colab_url(repository_url, notebook_path, branch)
    return f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({link})"


def setup_source(repository_url: str, requirements: list[str]) -> str:
    """Return the setup cell's code for the project's repository and runtime requirements.

    pip gets the package with --no-deps plus the requirements that are not
    RUNTIME_LIBRARIES (such as tqdm), so a runtime's torch, numpy and
    matplotlib are never reinstalled, upgraded or downgraded.
    """
    github_owner_and_name(repository_url)
    other = [req.replace(" ", "") for req in requirements if requirement_name(req) not in RUNTIME_LIBRARIES]
    return SETUP_TEMPLATE.format(
        default_source=f"git+{repository_url}",
        other_requirements=", ".join(f'"{req}"' for req in other),
    )


def requirement_name(requirement: str) -> str:
    """Return the lower-case distribution name at the start of a requirement such as "tqdm>=4.60"."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"requirement must start with a package name, got {requirement!r} instead")
    return match.group(1).lower().replace("_", "-")


def apply_badges(nb: nbformat.NotebookNode, badge: str, setup: str) -> tuple[bool, bool]:
    """Make the badge cell the first cell of nb and the setup cell the second, in place.

    Existing cells tagged BADGE_TAG or SETUP_TAG are updated and moved there,
    keeping their other metadata, so applying twice changes nothing. A new
    setup cell in an executed notebook shifts the execution counts by one.

    Returns
    -------
    changed : bool
        Whether nb was modified.
    counts_in_order : bool
        False if a setup cell was inserted but the execution counts could not
        be renumbered, so the notebook must be executed again.
    """
    before = nbformat.writes(nb)
    badge_cell = take_tagged_cell(nb, BADGE_TAG) or new_cell(nb, "markdown", BADGE_CELL_ID)
    setup_cell = take_tagged_cell(nb, SETUP_TAG)
    inserted_setup = setup_cell is None
    if inserted_setup:
        setup_cell = new_cell(nb, "code", SETUP_CELL_ID)

    badge_cell.source = badge
    add_tag(badge_cell, BADGE_TAG)
    setup_cell.source = setup
    add_tag(setup_cell, SETUP_TAG)
    nb.cells[:0] = [badge_cell, setup_cell]

    counts_in_order = number_execution_counts(nb, setup_cell) if inserted_setup else True
    return nbformat.writes(nb) != before, counts_in_order


def take_tagged_cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode | None:
    """Remove the cells tagged tag from nb and return the first of them (None if there is none)."""
    tagged = [cell for cell in nb.cells if has_tag(cell, tag)]
    nb.cells = [cell for cell in nb.cells if not has_tag(cell, tag)]
    return tagged[0] if tagged else None


def new_cell(nb: nbformat.NotebookNode, cell_type: str, cell_id: str) -> nbformat.NotebookNode:
    """Return an empty cell of cell_type, with cell_id where the notebook's format has cell ids."""
    cell = nbformat.v4.new_code_cell() if cell_type == "code" else nbformat.v4.new_markdown_cell()
    cell.pop("id", None)
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        taken = {other.get("id") for other in nb.cells}
        cell.id = cell_id if cell_id not in taken else generate_corpus_id()
    return cell


def add_tag(cell: nbformat.NotebookNode, tag: str) -> None:
    """Add tag to the cell's metadata tags unless it is there already."""
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def badge_problems(nb: nbformat.NotebookNode, badge: str, setup: str) -> list[str]:
    """Return how nb's first two cells differ from the expected badge and setup cells (empty if they match)."""
    problems = []
    expected = ((0, BADGE_TAG, "markdown", badge), (1, SETUP_TAG, "code", setup))
    for index, tag, cell_type, source in expected:
        if len(nb.cells) <= index:
            problems.append(f"cell {index} must be the {tag} cell, but the notebook has only {len(nb.cells)} cells")
            continue
        cell = nb.cells[index]
        if not has_tag(cell, tag):
            problems.append(f"cell {index} must be tagged {tag!r}")
        elif cell.cell_type != cell_type:
            problems.append(f"cell {index} ({tag}) must be a {cell_type} cell, got {cell.cell_type}")
        elif source_text(cell) != source:
            problems.append(f"cell {index} ({tag}) differs from the generated source")
    return problems
