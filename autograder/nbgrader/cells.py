"""What the hidden tests of ``diffusion.ipynb`` run when ``nbgrader autograde`` executes the notebook.

Every autograded cell of the source notebook (written by :mod:`kit.notebook_source`) reads

    ### BEGIN HIDDEN TESTS
    from autograder.nbgrader.cells import prepare_autograding, recorded_by_nbgrader
    prepare_autograding()
    ### END HIDDEN TESTS
    from public_checks import check          # the part students see and run
    _ = check("2.1.2")
    ### BEGIN HIDDEN TESTS
    recorded_by_nbgrader("2.1.2")
    ### END HIDDEN TESTS

nbgrader strips both hidden regions from the students' copy and restores them when it autogrades. The
kernel runs the student's package, so nothing it returns or prints can be trusted as a score: the
cell's points come from :mod:`autograder.nbgrader.scores`, preprocessors of nbgrader's own process
that grade the submitted package with the very :class:`~autograder.grader.Grader` of ``python -m
autograder grade`` (student code in sandboxed children, hidden checks included) before the kernel
starts, and write each cell's verdicts and points after it ends. :func:`recorded_by_nbgrader` is the
placeholder they replace (0, so a configuration without them gives 0, not nbgrader's full points for a
cell without a value).

:func:`prepare_autograding` makes ``import public_checks`` give the grader's own public checks (the
same module that ``make release`` ships to students) and switches ``%autoreload`` off.

This module runs inside the fenced kernel (:mod:`autograder.nbgrader.launcher`), which imports it and
``autograder.public`` before its fences go up and can read nothing else of the kit: it imports nothing
of the grader. :func:`task_score` (grading inside a kernel, for an instructor's own notebook) imports
the grader when called, and cannot run in the fenced kernel.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # never imported at run time: the fenced kernel cannot read the grader
    from autograder.grader import Grader
    from autograder.report import Report

_GRADERS: dict[str, Grader] = {}  # device -> the Grader of task_score, one zygote per kernel
_REPORTS: dict[tuple[str, str, str], Report] = {}  # (folder, device, group) -> its report


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


def recorded_by_nbgrader(task: str) -> float:
    """The last line of ``task``'s autograded cell: 0, a placeholder.

    The cell's points are written by :class:`autograder.nbgrader.scores.WriteAutograderScores` in
    nbgrader's own process, from a grading of the submitted package that no code in this kernel can
    reach; it replaces this value. An ``nbgrader_config.py`` without that preprocessor therefore gives
    every autograded cell 0 (never the full points that nbgrader gives a cell without a value).
    """
    del task
    return 0.0


def task_score(task: str, submission: str | Path = ".", device: str = "auto") -> float:
    """Print the autograder's verdict on ``task`` and return its points, graded in this process.

    Not what ``nbgrader autograde`` scores (:mod:`autograder.nbgrader.scores` grades outside the
    kernel); for an instructor who wants the verdicts inside a notebook of their own. Its first call
    starts a grader (one zygote per kernel, stopped when the kernel exits).

    Args:
        task: a task of the autograder's registry, e.g. ``"2.1.2"``.
        submission: the folder holding ``diffusion_models/``.
        device: where the student's tensors live: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.

    Returns:
        the points earned, between 0 and the task's points in the autograder.
    """
    import atexit

    from autograder.checks import group_of_task
    from autograder.grader import Grader

    from .scores import task_verdict

    if device not in _GRADERS:
        _GRADERS[device] = Grader(device=device)
        atexit.register(_GRADERS[device].close)  # the kernel's exit stops its zygote
    key = (str(Path(submission).resolve()), device, group_of_task(task))
    if key not in _REPORTS:  # each task group graded once per kernel
        _REPORTS[key] = _GRADERS[device].grade(Path(submission), (key[2],))
    earned, text = task_verdict(_REPORTS[key], task)
    print(text)
    return earned
