"""The public checks: the part of the autograder that ships to students.

Students run them from the notebook::

    from public_checks import check
    check("2.1.2")          # the public checks of task 2.1.2; check() runs all of them

and with ``pytest`` inside the release folder (tests/test_public.py). They run in the student's own
process, on the ``diffusion_models`` that ``import`` finds. The autograder runs the very same check
objects (plus hidden ones) with the student's code in a child process. One module per task group of
the task registry (:mod:`.tasks`), each holding its probes and its public checks.
"""

from __future__ import annotations

import importlib

from .core import Check, Outcome, gated, run_check
from .hypothesis_home import use_a_temporary_storage_directory
from .tasks import GROUP_NAMES, TASK_POINTS

use_a_temporary_storage_directory()  # no .hypothesis/ left in the folder the checks run in

GROUPS = tuple(importlib.import_module(f"{__name__}.{name}") for name in GROUP_NAMES)
PUBLIC_CHECKS: tuple[Check, ...] = tuple(c for module in GROUPS for c in module.CHECKS)


def check(*tasks: str, device: str | None = None, verbose: bool = True) -> list[Outcome]:
    """Run the public checks of ``tasks`` (all when none is named), print a verdict per check, return them."""
    from .local import LocalSession

    unknown = set(tasks) - {c.task for c in PUBLIC_CHECKS}
    if unknown:
        known = ", ".join(sorted({c.task for c in PUBLIC_CHECKS}))
        raise ValueError(
            f"no public checks for task(s) {', '.join(sorted(unknown))}; tasks with checks: {known}"
        )
    session = LocalSession(device)
    outcomes = gated([run_check(c, session) for c in PUBLIC_CHECKS if not tasks or c.task in tasks])
    if verbose:
        for outcome in outcomes:
            mark = "PASS" if outcome.passed else "FAIL"
            print(f"[{mark}] task {outcome.check.task}: {outcome.check.title}")
            if not outcome.passed:
                print("       " + outcome.feedback.replace("\n", "\n       "))
        print(points_summary(outcomes))
    return outcomes


def points_summary(outcomes: list[Outcome]) -> str:
    """Per task: public points earned of the public points, and how many more hidden checks grade later."""
    lines = []
    for task in dict.fromkeys(o.check.task for o in outcomes):
        mine = [o for o in outcomes if o.check.task == task]
        earned, public = sum(o.score for o in mine), sum(o.check.points for o in mine)
        hidden = TASK_POINTS.get(task, public) - public
        lines.append(
            f"task {task}: {earned:g}/{public:g} public points"
            + (f"; {hidden:g} more points are graded by hidden checks after you submit" if hidden > 0 else "")
        )
    passed = sum(o.passed for o in outcomes)
    lines.append(f"{passed}/{len(outcomes)} public checks passed")
    return "\n".join(lines)


__all__ = [
    "PUBLIC_CHECKS",
    "TASK_POINTS",
    "Check",
    "Outcome",
    "check",
    "gated",
    "points_summary",
    "run_check",
]
