"""The public checks: the part of the autograder that ships to students.

Students run them from the notebook::

    from public_checks import check
    check("2.1.2")          # the public checks of task 2.1.2; check() runs all of them

and with ``pytest`` inside the release folder (tests/test_public.py). They run in the student's own
process, on the ``diffusion_models`` that ``import`` finds. The autograder runs the very same check
objects (plus hidden ones) with the student's code in a child process. One module per task group,
each holding its probes and its public checks.
"""

from __future__ import annotations

from . import denoise, image, robotics, sampling, scheduler, training
from .core import Check, Outcome, run_check
from .hypothesis_home import use_a_temporary_storage_directory

use_a_temporary_storage_directory()  # no .hypothesis/ left in the folder the checks run in

GROUPS = (scheduler, denoise, training, sampling, image, robotics)
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
    outcomes = [run_check(c, session) for c in PUBLIC_CHECKS if not tasks or c.task in tasks]
    if verbose:
        for outcome in outcomes:
            mark = "PASS" if outcome.passed else "FAIL"
            print(f"[{mark}] task {outcome.check.task}: {outcome.check.title}")
            if not outcome.passed:
                print("       " + outcome.feedback.replace("\n", "\n       "))
        earned = sum(o.score for o in outcomes)
        print(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} public checks passed ({earned:g} points)")
    return outcomes


__all__ = ["PUBLIC_CHECKS", "Check", "Outcome", "check", "run_check"]
