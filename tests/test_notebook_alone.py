"""Run a notebook as a student meets it: alone in an empty folder, in a Python without xorattn.

A fresh virtual environment gets only what a notebook runtime provides:
torch, numpy, matplotlib and ipykernel at the versions pinned in
requirements.txt, but neither xorattn nor tqdm. The notebook's setup cell
must install xorattn from XORATTN_INSTALL_SOURCE (a copy of this checkout),
print one line and leave torch, numpy and matplotlib untouched, and the
notebook must then run top to bottom.

Creating the environment installs torch and takes a minute or two, once
per test session.
"""

import json
import os
import shutil
import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from xorattn.classroom.badges import SETUP_TAG
from xorattn.classroom.notebooks import has_tag

pytestmark = pytest.mark.slow

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
# Every notebook has the same generated setup cell (tests/test_classroom.py
# checks that), so one notebook tests it. Lesson 01 runs in seconds and uses
# the package's attention layer, model and plot helpers.
NOTEBOOK = REPOSITORY_ROOT / "notebooks" / "01_self_attention_from_scratch.ipynb"

# Installed at the versions pinned in requirements.txt.
PINNED_RUNTIME = ("torch", "numpy", "matplotlib", "ipykernel")
KERNEL_NAME = "xorattn-alone"
CELL_TIMEOUT_SECONDS = 600

# What the setup cell needs to build the package from a checkout.
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE")


@dataclass
class Runtime:
    """A virtual environment without xorattn, with a kernelspec that runs it."""

    python: Path
    jupyter_path: Path
    source: Path


def pinned_requirements() -> list[str]:
    """Return the requirements.txt lines of PINNED_RUNTIME, such as "torch==2.13.0"."""
    pins = {}
    for line in (REPOSITORY_ROOT / "requirements.txt").read_text().splitlines():
        name = line.split("==", 1)[0].strip().lower()
        if "==" in line and name in PINNED_RUNTIME:
            pins[name] = line.strip()
    missing = set(PINNED_RUNTIME) - set(pins)
    assert not missing, f"requirements.txt pins no version of {sorted(missing)}"
    return [pins[name] for name in PINNED_RUNTIME]


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    completed = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert completed.returncode == 0, f"{' '.join(map(str, command))} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def clean_environment() -> dict[str, str]:
    """Return os.environ without the variables that would put this checkout on a kernel's path."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def copy_checkout(destination: Path) -> Path:
    """Copy the files that build the package, so pip builds in a temporary folder and not in the checkout."""
    destination.mkdir()
    for name in PACKAGE_FILES:
        if (REPOSITORY_ROOT / name).exists():
            shutil.copy2(REPOSITORY_ROOT / name, destination / name)
    shutil.copytree(REPOSITORY_ROOT / "xorattn", destination / "xorattn", ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@pytest.fixture(scope="session")
def runtime(tmp_path_factory) -> Runtime:
    """Create the student's environment once per test session."""
    root = tmp_path_factory.mktemp("alone")
    environment = root / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    env = clean_environment()

    run(python, "-m", "pip", "install", "--quiet", *pinned_requirements(), env=env)
    jupyter_path = root / "jupyter"
    run(python, "-m", "ipykernel", "install", "--prefix", root / "prefix", "--name", KERNEL_NAME, env=env)
    shutil.copytree(root / "prefix" / "share" / "jupyter", jupyter_path)
    return Runtime(python=python, jupyter_path=jupyter_path, source=copy_checkout(root / "checkout"))


def runtime_state(python: Path) -> dict:
    """Return whether xorattn and tqdm are importable, the runtime's versions and torch's file time."""
    script = (
        "import importlib.util, json, os\n"
        "from importlib.metadata import version\n"
        "import torch\n"
        "print(json.dumps({\n"
        "    'xorattn': importlib.util.find_spec('xorattn') is not None,\n"
        "    'tqdm': importlib.util.find_spec('tqdm') is not None,\n"
        "    'versions': {name: version(name) for name in ('torch', 'numpy', 'matplotlib')},\n"
        "    'torch_mtime': os.stat(torch.__file__).st_mtime_ns,\n"
        "}))\n"
    )
    return json.loads(run(python, "-c", script, env=clean_environment(), cwd="/").stdout)


def test_notebook_runs_alone(runtime, tmp_path, monkeypatch):
    """The notebook, alone in a folder, installs xorattn with its setup cell and runs without errors."""
    run(runtime.python, "-m", "pip", "uninstall", "--yes", "xorattn", "tqdm", env=clean_environment())
    before = runtime_state(runtime.python)
    assert not before["xorattn"], "xorattn is importable before the setup cell ran"
    assert not before["tqdm"]

    shutil.copy2(NOTEBOOK, tmp_path / NOTEBOOK.name)
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    monkeypatch.setenv("JUPYTER_PATH", str(runtime.jupyter_path))
    kernel_env = {**clean_environment(), "XORATTN_INSTALL_SOURCE": str(runtime.source)}
    client = NotebookClient(
        nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_SECONDS, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=kernel_env)

    after = runtime_state(runtime.python)
    setup_cells = [cell for cell in nb.cells if has_tag(cell, SETUP_TAG)]
    assert len(setup_cells) == 1
    outputs = setup_cells[0].outputs
    assert [output.get("name") for output in outputs] == ["stdout"]
    assert outputs[0].text == (
        f"Installed xorattn from {runtime.source}, keeping the torch, numpy and matplotlib already here.\n"
    )
    assert after["xorattn"]
    assert after["tqdm"]
    assert after["versions"] == before["versions"]
    assert after["torch_mtime"] == before["torch_mtime"]
