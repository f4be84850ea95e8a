"""nbgrader's configuration for this course directory (the repository root).

The one assignment is ``diffusion``. ``source/diffusion/`` is nbgrader's source assignment and holds
exactly what nbgrader should copy: the source notebook (solution cells and hidden tests, which nbgrader
strips), the package ``diffusion_models/`` as students get it (stubs), ``public_checks/``, ``tests/``,
``pytest.ini`` and ``collect_submission.sh``. It is written by ``make release`` (``python -m
kit.release``) from ``solutions/``, the hand-edited package with the solutions, which lies outside
nbgrader's ``source/`` so that no nbgrader command lists, copies or releases it.

Releasing with nbgrader's own commands is therefore safe: ``nbgrader generate_assignment diffusion``
(with ``--force`` while the committed ``release/diffusion/`` exists, which nbgrader otherwise skips) or
formgrader's "Generate" button writes the same ``release/diffusion/`` as ``make release``, which runs
nbgrader's generate_assignment itself (``tests/test_nbgrader.py`` checks both). After editing
``solutions/`` or the notebook's builder, run ``make release`` first: a stale ``source/diffusion/``
fails ``tests/test_release.py``.

Grading (students submit the zip of ``collect_submission.sh``, unpacked into
``submitted/<student>/diffusion/``)::

    nbgrader autograde diffusion
    nbgrader generate_feedback diffusion
    nbgrader export

Each autograded cell's hidden part runs the autograder (``kit.notebook_grading``), so nbgrader's points
for a task equal those of ``python -m autograder grade``.
"""

import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- injected by nbgrader's config loader

COURSE = Path(__file__).resolve().parent
sys.path.insert(0, str(COURSE))  # the course's kit, when nbgrader runs here without it installed

from kit.release import graded_files  # noqa: E402

ASSIGNMENT = "diffusion"

c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.course_id = "diffusion-homework"

# Autograding copies every non-notebook file of source/diffusion/ over the student's copy, except
# these: the graded files, i.e. the files of solutions/diffusion_models/ with solution markers (the
# student's TODOs). source/ holds the stubs of those files, the same as release/, and each given file
# as released, so the autograded folder is the release with the submitted TODO files in it.
c.Autograde.exclude_overwriting = {
    ASSIGNMENT: [name for name in graded_files() if not name.endswith(".ipynb")]
}

# Caches that running pytest or the public checks may leave in an assignment folder are never copied.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".pytest_cache",
    ".hypothesis",
]

# Execution while autograding, on a CPU: a cell may run one task group of the autograder (each group
# has its own limit of about 90 s) plus the public checks, and the notebook itself runs with its SMALL
# settings while nbgrader autogrades. 600 s per cell leaves room for a slow machine; a cell that runs
# longer is interrupted and scores 0.
c.Execute.timeout = 600
c.Execute.startup_timeout = 120  # the kernel's first import of torch can be slow on a cold disk

# nbgrader gives 0 to a test cell that wrote anything to stderr. The autograded cells' score is the
# number they return (partial credit), so remove stderr output that is only a Python warning
# (`file:line: SomeWarning: ...`), a logging WARNING line or a tqdm progress bar before grading.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m):\d+: \w*Warning: |^WARNING\b|\d+%\|"

# Feedback shows the autograded notebook, whose test cells nbgrader restored with their hidden tests:
# strip those regions again so that the feedback never shows hidden test code (only its output).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
