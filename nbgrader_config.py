"""nbgrader's configuration for this course directory (the repository root).

The one assignment is ``diffusion``: ``source/diffusion/diffusion.ipynb`` (written by
``python -m kit.notebook_source``) and the package ``source/diffusion/diffusion_models/``. Release it
with ``make release``, not with ``nbgrader generate_assignment`` alone: nbgrader copies the files beside
a notebook verbatim, and the package's files hold the solutions; ``kit.release`` runs nbgrader's
generate_assignment for the notebook and writes the package's stubs itself.

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
# these: the package files with the student's TODOs (their source versions hold the solutions). The
# given files are the same in source/ and release/, so the autograded folder is the release's package
# with the submitted TODO files in it.
c.Autograde.exclude_overwriting = {
    ASSIGNMENT: [name for name in graded_files(COURSE / "source" / ASSIGNMENT) if not name.endswith(".ipynb")]
}

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
