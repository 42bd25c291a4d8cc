"""Tools for teaching with the lesson notebooks.

Run them as ``python -m xorattn.classroom COMMAND``:

badges
    Put an "Open in Colab" badge and a setup cell at the top of every notebook.
slides
    Set each cell's slide type, for ``jupyter nbconvert --to slides``.
student
    Write student copies with every solution cell replaced by a stub.

They need nbformat, which the lesson notebooks need anyway, and they change
notebooks in a checkout of the repository.
"""

from .badges import BADGE_TAG, SETUP_TAG, apply_badges, badge_source, read_repository_url, setup_source
from .slides import apply_slide_types, slide_type
from .student import CHECKER_TAG, EXERCISE_TAG, SOLUTION_TAG, STUB_TAG, derive_stub, make_student_copy

__all__ = [
    "BADGE_TAG",
    "CHECKER_TAG",
    "EXERCISE_TAG",
    "SETUP_TAG",
    "SOLUTION_TAG",
    "STUB_TAG",
    "apply_badges",
    "apply_slide_types",
    "badge_source",
    "derive_stub",
    "make_student_copy",
    "read_repository_url",
    "setup_source",
    "slide_type",
]
