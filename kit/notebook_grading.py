"""What the hidden tests of ``diffusion.ipynb`` run when ``nbgrader autograde`` executes the notebook.

Every autograded cell of the source notebook (written by :mod:`kit.notebook_source`) reads

    ### BEGIN HIDDEN TESTS
    from kit.notebook_grading import prepare_autograding, task_score
    prepare_autograding()
    ### END HIDDEN TESTS
    from public_checks import check          # the part students see and run
    _ = check("2.1.2")
    ### BEGIN HIDDEN TESTS
    task_score("2.1.2")
    ### END HIDDEN TESTS

nbgrader strips both hidden regions from the students' copy and restores them when it autogrades.
:func:`task_score` grades the task's group with the very :class:`~autograder.grader.Grader` that
``python -m autograder grade`` uses (student code in sandboxed children, hidden checks included), prints
each check's verdict and returns the task's points. As the cell's last value, that number is the
cell's score: nbgrader's partial credit (``nbgrader.utils.determine_grade``: an ``execute_result`` that
is one number is the grade). So a cell's nbgrader points equal the autograder's points of its task.

The autograded folder holds only what the student submitted plus nbgrader's copies of the given files,
so ``public_checks/`` is not there: :func:`prepare_autograding` makes ``import public_checks`` give the
grader's own public checks (the same module that ``make release`` ships to students).
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


def task_score(task: str, submission: str | Path = ".", device: str = "auto") -> float:
    """Print the autograder's verdict on ``task`` and return its points (the autograded cell's score).

    Args:
        task: a task of the autograder's registry, e.g. ``"2.1.2"``.
        submission: the folder holding ``diffusion_models/``: the notebook's own folder at autograde time.
        device: where the student's tensors live: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.

    Returns:
        the points earned, between 0 and the task's points in the autograder.
    """
    report = group_report(group_of_task(task), submission, device)
    outcomes = [o for o in report.outcomes if o.check.task == task]
    earned = sum(o.score for o in outcomes)
    possible = sum(o.check.points for o in outcomes)
    public = (
        sum(o.score for o in outcomes if o.check.public),
        sum(o.check.points for o in outcomes if o.check.public),
    )
    print(
        f"Autograder, task {task}: {earned:g}/{possible:g} points (graded on {report.device}): public checks "
        f"{public[0]:g}/{public[1]:g}, hidden checks {earned - public[0]:g}/{possible - public[1]:g}"
    )
    if report.notice:
        print(report.notice)
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        where = "public" if outcome.check.public else "hidden"
        print(f"[{mark}] {outcome.score:g}/{outcome.check.points:g}  {where}  {outcome.check.title}")
        if not outcome.passed:
            print("       " + outcome.feedback.replace("\n", "\n       "))
    return round(float(earned), 6)
