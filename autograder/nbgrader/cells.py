"""What the hidden tests of ``diffusion.ipynb`` run when ``nbgrader autograde`` executes the notebook.

Every autograded cell of the source notebook (written by :mod:`kit.notebook_source`) reads

    ### BEGIN HIDDEN TESTS
    from kit.notebook_grading import prepare_autograding, recorded_by_nbgrader
    prepare_autograding()
    ### END HIDDEN TESTS
    from public_checks import check          # the part students see and run
    _ = check("2.1.2")
    ### BEGIN HIDDEN TESTS
    recorded_by_nbgrader("2.1.2")
    ### END HIDDEN TESTS

nbgrader strips both hidden regions from the students' copy and restores them when it autogrades. The
kernel runs the student's package, so nothing it returns or prints can be trusted as a score: the
cell's points come from :mod:`kit.nbgrader_scores`, preprocessors of nbgrader's own process that grade
the submitted package with the very :class:`~autograder.grader.Grader` of ``python -m autograder grade``
(student code in sandboxed children, hidden checks included) before the kernel starts, and write each
cell's verdicts and points after it ends. :func:`recorded_by_nbgrader` is the placeholder they replace
(0, so a configuration without them gives 0, not nbgrader's full points for a cell without a value).

:func:`prepare_autograding` makes ``import public_checks`` give the grader's own public checks (the
same module that ``make release`` ships to students) and switches ``%autoreload`` off.
:func:`task_verdict` is the text both the notebook and :func:`task_score` (grading inside a kernel, for
an instructor's own notebook) show.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from autograder.checks import group_of_task
from autograder.grader import Grader
from autograder.report import Report

_REPORTS: dict[tuple[str, str, str], Report] = {}  # (folder, device, group) -> its report, once per kernel
_GRADERS: dict[str, Grader] = {}  # device -> one Grader (one zygote) for all the cells of a kernel


def prepare_autograding() -> None:
    """Run first in every autograded cell, before its visible part.

    1. ``import public_checks`` gives the autograder's own public checks (``autograder.public``).
    2. The notebook's ``%autoreload`` (there for students editing their package) is switched off:
       nothing changes on disk while nbgrader grades, and no reload may swap the grader's modules.
    """
    import autograder.public

    sys.modules["public_checks"] = autograder.public
    try:
        from IPython import get_ipython
    except ImportError:  # not in a notebook kernel
        return
    shell = get_ipython()
    if shell is not None and shell.find_line_magic("autoreload") is not None:
        shell.run_line_magic("autoreload", "0")


def _grader(device: str) -> Grader:
    if device not in _GRADERS:
        _GRADERS[device] = Grader(device=device)
        atexit.register(_GRADERS[device].close)  # the kernel's exit stops its zygote
    return _GRADERS[device]


def group_report(group: str, submission: str | Path = ".", device: str = "auto") -> Report:
    """The autograder's report on one task group of the package in ``submission``, graded once per kernel."""
    key = (str(Path(submission).resolve()), device, group)
    if key not in _REPORTS:
        _REPORTS[key] = _grader(device).grade(Path(submission), (group,))
    return _REPORTS[key]


def task_verdict(report: Report, task: str) -> tuple[float, str]:
    """The points of ``task`` in ``report`` and the verdicts as the notebook shows them: a summary line,
    the grading's notice if any, then one line per check (with its feedback when it failed)."""
    outcomes = [o for o in report.outcomes if o.check.task == task]
    earned = sum(o.score for o in outcomes)
    possible = sum(o.check.points for o in outcomes)
    public = (
        sum(o.score for o in outcomes if o.check.public),
        sum(o.check.points for o in outcomes if o.check.public),
    )
    lines = [
        f"Autograder, task {task}: {earned:g}/{possible:g} points (graded on {report.device}): public checks "
        f"{public[0]:g}/{public[1]:g}, hidden checks {earned - public[0]:g}/{possible - public[1]:g}"
    ]
    if report.notice:
        lines.append(report.notice)
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        where = "public" if outcome.check.public else "hidden"
        lines.append(f"[{mark}] {outcome.score:g}/{outcome.check.points:g}  {where}  {outcome.check.title}")
        if not outcome.passed:
            lines.append("       " + outcome.feedback.replace("\n", "\n       "))
    return round(float(earned), 6), "\n".join(lines)


def task_score(task: str, submission: str | Path = ".", device: str = "auto") -> float:
    """Print the autograder's verdict on ``task`` and return its points, graded in this process.

    Not what ``nbgrader autograde`` scores (:mod:`kit.nbgrader_scores` grades outside the kernel); for an
    instructor who wants the verdicts inside a notebook.

    Args:
        task: a task of the autograder's registry, e.g. ``"2.1.2"``.
        submission: the folder holding ``diffusion_models/``.
        device: where the student's tensors live: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.

    Returns:
        the points earned, between 0 and the task's points in the autograder.
    """
    earned, text = task_verdict(group_report(group_of_task(task), submission, device), task)
    print(text)
    return earned


def recorded_by_nbgrader(task: str) -> float:
    """The last line of ``task``'s autograded cell: 0, a placeholder.

    The cell's points are written by :class:`kit.nbgrader_scores.WriteAutograderScores` in nbgrader's own
    process, from a grading of the submitted package that no code in this kernel can reach; it replaces
    this value. An ``nbgrader_config.py`` without that preprocessor therefore gives every autograded cell
    0 (never the full points that nbgrader gives a cell without a value).
    """
    del task
    return 0.0
