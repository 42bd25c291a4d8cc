"""Command line of the classroom tools: ``python -m xorattn.classroom {badges,slides,student}``.

Exit status: 0 on success, 1 when --check finds a notebook that differs from
what the command would write, 2 for invalid arguments or input notebooks.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .badges import apply_badges, badge_problems, badge_source, read_project_metadata, setup_source
from .notebooks import DEFAULT_NOTEBOOK_DIR, REPOSITORY_ROOT, list_notebooks, read_notebook, write_notebook
from .slides import apply_slide_types, slide_problems
from .student import make_student_copy


def build_parser() -> argparse.ArgumentParser:
    """Create the argument parser with one subcommand per tool."""
    parser = argparse.ArgumentParser(
        prog="python -m xorattn.classroom",
        description="Prepare the lesson notebooks for teaching: Colab badges, slides and student copies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    badges = commands.add_parser(
        "badges",
        help="put an Open in Colab badge and a setup cell at the top of every notebook",
        description="Write the Colab badge and setup cells of every notebook from pyproject.toml.",
    )
    add_common_options(badges)
    add_colab_folder_option(badges, "notebook folder relative to the repository root")
    badges.add_argument("--check", action="store_true", help="only report the notebooks that differ, with exit status 1")

    slides = commands.add_parser(
        "slides",
        help="set the slide type of every cell for jupyter nbconvert --to slides",
        description="Set metadata.slideshow.slide_type of every cell by the rule in xorattn.classroom.slides.",
    )
    add_common_options(slides)
    slides.add_argument("--check", action="store_true", help="only report the notebooks that differ, with exit status 1")

    student = commands.add_parser(
        "student",
        help="write student copies with the solutions replaced by stubs",
        description="Write a student copy of every notebook into --out.",
    )
    add_common_options(student)
    student.add_argument("--out", type=Path, required=True, help="folder for the student copies (created if missing)")
    add_colab_folder_option(
        student,
        "--out relative to the repository root; without it and with --out outside the repository, "
        "the copies have no badge",
    )
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the --notebooks option shared by all subcommands."""
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=DEFAULT_NOTEBOOK_DIR,
        help="folder of the lesson notebooks (default: notebooks/ of this checkout)",
    )


def add_colab_folder_option(parser: argparse.ArgumentParser, default: str) -> None:
    """Add --colab-folder, the folder that Colab badges point to inside the repository."""
    parser.add_argument(
        "--colab-folder",
        help=f"folder of the notebooks inside the GitHub repository, for the badge links (default: {default})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one classroom command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        notebooks = list_notebooks(args.notebooks)
        if args.command == "badges":
            return run_badges(args, notebooks)
        if args.command == "slides":
            return run_slides(args, notebooks)
        return run_student(args, notebooks)
    except ValueError as error:
        parser.error(str(error))  # prints the usage and exits with status 2


def run_badges(args: argparse.Namespace, notebooks: list[Path]) -> int:
    """Write or check the badge and setup cells of every notebook."""
    repository_url, requirements = read_project_metadata()
    folder = args.colab_folder or folder_in_repository(args.notebooks, "--notebooks")
    setup = setup_source(repository_url, requirements)

    differing = []
    for path in notebooks:
        nb = read_notebook(path)
        badge = badge_source(repository_url, f"{folder}/{path.name}")
        if args.check:
            problems = badge_problems(nb, badge, setup)
            differing.extend(f"{path.name}: {problem}" for problem in problems)
            continue
        _, counts_in_order = apply_badges(nb, badge, setup)
        if write_notebook(nb, path):
            print(f"updated {path.name}")
        if not counts_in_order:
            print(f"{path.name}: execute it again, its execution counts could not be renumbered")
    return report_check(differing, "python -m xorattn.classroom badges")


def run_slides(args: argparse.Namespace, notebooks: list[Path]) -> int:
    """Write or check the slide types of every notebook's cells."""
    differing = []
    for path in notebooks:
        nb = read_notebook(path)
        if args.check:
            differing.extend(f"{path.name}: {problem}" for problem in slide_problems(nb))
            continue
        apply_slide_types(nb)
        if write_notebook(nb, path):
            print(f"updated {path.name}")
    return report_check(differing, "python -m xorattn.classroom slides")


def run_student(args: argparse.Namespace, notebooks: list[Path]) -> int:
    """Write a student copy of every notebook into args.out."""
    out = args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the existing file {str(out)!r} instead")
    if out.resolve() == args.notebooks.resolve():
        raise ValueError(f"--out must differ from the notebook folder, got {str(out)!r} for both")

    folder = args.colab_folder
    if folder is None and is_inside(out, REPOSITORY_ROOT):
        folder = folder_in_repository(out, "--out")
    repository_url = read_project_metadata()[0] if folder is not None else None

    copies = []
    for path in notebooks:
        badge = badge_source(repository_url, f"{folder}/{path.name}") if folder is not None else None
        try:
            copies.append((path.name, make_student_copy(read_notebook(path), badge)))
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from error

    out.mkdir(parents=True, exist_ok=True)
    for name, copy in copies:
        write_notebook(copy, out / name)
        print(f"wrote {out / name}")
    if folder is None:
        print("The copies have no Colab badge: pass --colab-folder to link them to their place on GitHub.")
    return 0


def folder_in_repository(path: Path, option: str) -> str:
    """Return path relative to the repository root in POSIX form, or raise ValueError if it is outside."""
    if not is_inside(path, REPOSITORY_ROOT):
        raise ValueError(f"{option} {str(path)!r} is outside the repository, so give --colab-folder")
    return path.resolve().relative_to(REPOSITORY_ROOT).as_posix()


def is_inside(path: Path, root: Path) -> bool:
    """Return whether path is root or lies below it, after resolving both."""
    return path.resolve().is_relative_to(root.resolve())


def report_check(differing: list[str], fix_command: str) -> int:
    """Print what --check found and return 1 if anything differs, else 0."""
    if not differing:
        return 0
    for line in differing:
        print(line, file=sys.stderr)
    print(f"run `{fix_command}` to update them", file=sys.stderr)
    return 1
