"""Tests that README.md and the CI script .ci/run give the same commands.

CI must set up and test the project exactly as a reader of the README would,
so a change to one without the other fails here.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"

SETUP_STEPS = [
    "python3 -m venv .venv",
    ". .venv/bin/activate",
    "pip install -r requirements.txt -e .",
]


def code_lines(markdown: str) -> list[str]:
    """Return the lines inside the fenced code blocks of a Markdown text."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def command_steps(line: str) -> list[str]:
    """Split a one-line shell command at each && into its steps."""
    return [step.strip() for step in line.split("&&")]


def readme_command(last_step: str) -> list[str]:
    """Return the steps of the README command line whose last step is last_step."""
    matches = [line for line in code_lines(README.read_text(encoding="utf-8")) if line.endswith(f"&& {last_step}")]
    assert len(matches) == 1, f"expected one README command ending in '&& {last_step}', found {matches}"
    return command_steps(matches[0])


def script_commands() -> list[str]:
    """Return the non-comment, non-blank lines of .ci/run, stripped."""
    lines = (line.strip() for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_readme_test_command_steps():
    assert readme_command("pytest") == [*SETUP_STEPS, "pytest"]


def test_readme_main_command_steps():
    assert readme_command("python -m xorattn --out figures") == [*SETUP_STEPS, "python -m xorattn --out figures"]


def test_ci_runs_readme_steps_in_order():
    steps = readme_command("pytest")
    commands = script_commands()
    position = 0
    for step in steps:
        # The last step may be followed by "|| status=$?" so the script can report pytest's status.
        found = [
            index
            for index in range(position, len(commands))
            if commands[index] == step or commands[index].startswith(f"{step} ||")
        ]
        assert found, f".ci/run does not run the README step {step!r} after the previous one"
        position = found[0] + 1


def test_ci_creates_fresh_venv():
    commands = script_commands()
    assert commands.index("rm -rf .venv") < commands.index("python3 -m venv .venv")


def test_ci_installs_readme_browser_packages():
    readme_installs = [line for line in code_lines(README.read_text(encoding="utf-8")) if "apt-get install" in line]
    assert readme_installs == ["sudo apt-get install -y chromium chromium-driver"]
    assert '"${as_root[@]}" apt-get install -y chromium chromium-driver' in script_commands()


def test_ci_requires_browser():
    assert "export XORATTN_REQUIRE_BROWSER=1" in script_commands()


def test_ci_strict_shell_options():
    assert "set -euo pipefail" in script_commands()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_ci_script_executable():
    assert os.access(CI_SCRIPT, os.X_OK)
