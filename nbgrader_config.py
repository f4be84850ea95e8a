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

Each autograded cell's points are the autograder's for its task, computed in nbgrader's own process by
the preprocessors of ``autograder.nbgrader.scores`` (the sandboxed grader of ``python -m autograder
grade``, before the kernel runs), never read from what the notebook's kernel returns or prints. The
kernel itself runs fenced (``autograder.nbgrader.kernel``: nbgrader's ``Execute`` replaced by
``FencedExecute``): a uid of its own where nbgrader runs as root, no network, writes only inside its own
autograded folder and a private temporary folder, reads nothing of the course folder but its own folder
and the public checks. nbgrader's log names the fences of each kernel and warns about any this platform
lacks. The Makefile's ``nbgrader-*`` targets and docs/instructors.md give the whole path from roster to
grades.
"""

import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- injected by nbgrader's config loader

COURSE = Path(__file__).resolve().parent
sys.path.insert(0, str(COURSE))  # the course's kit, when nbgrader runs here without it installed

from nbgrader.converters import Autograde  # noqa: E402

from autograder.nbgrader.kernel import with_fenced_kernel  # noqa: E402
from autograder.nbgrader.notebook_flag import FlagNotebook, pre_convert_hook  # noqa: E402
from autograder.nbgrader.scores import autograde_preprocessors  # noqa: E402
from autograder.nbgrader.submitted_outputs import sanitize_preprocessors  # noqa: E402
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

# The autograded cells' points: the submitted package graded by the sandboxed autograder before the
# kernel runs (GradeSubmittedPackage, before Execute), each cell's verdicts and points written just before
# SaveAutoGrades records them (WriteAutograderScores), whatever the kernel returned or printed; server
# paths are stripped from every output. Grading children may not read the course folder (the gradebook,
# other students' submissions), and neither may the notebook's kernel (FencedExecute, in Execute's place:
# it reads and writes its own autograded folder only).
c.Autograde.autograde_preprocessors = with_fenced_kernel(
    autograde_preprocessors(Autograde.class_traits()["autograde_preprocessors"].default())
)
c.GradeSubmittedPackage.protected = [str(COURSE)]
c.FencedExecute.protected = [str(COURSE)]

# The notebook as submitted (autograder/nbgrader/notebook_flag.py, submitted_outputs.py): one that cannot
# be read is moved aside (diffusion.ipynb.unreadable) and the released notebook autograded in its place, so
# the batch goes on and the package keeps its points; the notebook's verdict (unreadable, unanswered
# questions, figures missing) becomes its first cell, a warning in the log and formgrader's flag; the
# student's outputs are kept (safe types only) instead of cleared, and only the autograded cells run.
c.Autograde.pre_convert_hook = pre_convert_hook
c.Autograde.sanitize_preprocessors = [
    FlagNotebook,
    *sanitize_preprocessors(Autograde.class_traits()["sanitize_preprocessors"].default()),
]
c.FlagNotebook.release = str(COURSE / "release" / ASSIGNMENT / "diffusion.ipynb")

# Caches that running pytest or the public checks may leave in an assignment folder are never copied.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".pytest_cache",
    ".hypothesis",
]

# Execution while autograding, on a CPU: only the check cells run (each its task's public checks); the
# other cells keep the student's saved outputs and never run. 600 s per cell leaves room for a slow
# machine; a cell that runs longer is interrupted (its points still come from the autograder). Execute's
# settings hold for FencedExecute too.
c.Execute.timeout = 600
c.Execute.startup_timeout = 120  # the kernel's first import of torch can be slow on a cold disk

# nbgrader gives 0 to a test cell that wrote anything to stderr. The autograded cells' points come from
# WriteAutograderScores, whatever the kernel wrote; this only keeps the feedback clean: stderr output that
# is a Python warning (`file:line: SomeWarning: ...`), a logging WARNING line or a tqdm progress bar goes.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m):\d+: \w*Warning: |^WARNING\b|\d+%\|"

# `nbgrader export`: nbgrader's grades.csv columns, then the autograded and the written points apart, whether
# answers still need grading by hand, and formgrader's flag (autograder/nbgrader/export.py).
c.ExportApp.plugin_class = "autograder.nbgrader.export.SplitPointsExporter"

# Feedback shows the autograded notebook, whose test cells nbgrader restored with their hidden tests:
# strip those regions again so that the feedback never shows hidden test code (only its output).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
