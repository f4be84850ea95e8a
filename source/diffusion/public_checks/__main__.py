"""The public checks on the command line, for CI in a student's own repository.

    python -m public_checks [TASK ...] [--junit PATH] [--summary PATH] [--classroom-output NAME]
                            [--fail-under POINTS] [--device cpu|cuda]

Run in the assignment folder (the one holding diffusion_models/ and public_checks/): it runs the public
checks in this process on the ``diffusion_models`` found there, as ``check()`` does in the notebook,
prints a verdict per check, and writes what was asked for (the formats: ``public_checks/reports.py``):

- ``--junit PATH``: JUnit XML, one test case per check.
- ``--summary PATH``: a Markdown report, appended to PATH (give it ``$GITHUB_STEP_SUMMARY``).
- ``--classroom-output NAME``: GitHub Classroom's result, as the step output NAME (appended to the file
  ``$GITHUB_OUTPUT`` names); the reporter action reads it.

Exit status: 0 graded (and the score is at or above ``--fail-under`` when given); 1 the score is below
``--fail-under``; 2 a bad command line; 3 a check hit an error of the checks themselves.
Only the public checks are here: the hidden ones run in the course's own grader.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import PUBLIC_CHECKS, gated, run_check
from .core import Outcome
from .reports import (
    BELOW,
    USAGE,
    append_text,
    classroom_output,
    exit_status,
    junit_xml,
    markdown_summary,
    set_step_output,
)

TITLE = "Public checks"
NOTICE = "The public checks only: the hidden checks run when your submission is graded."


def _grade(tasks: list[str], device: str | None) -> list[Outcome]:
    from .local import LocalSession

    chosen = [c for c in PUBLIC_CHECKS if not tasks or c.task in tasks]
    try:
        session = LocalSession(device)
    except Exception as err:  # the student's package does not import: every check fails, saying why
        message = f"diffusion_models could not be imported, so no check can run: {type(err).__name__}: {err}"
        return [Outcome(c, False, message) for c in chosen]
    return gated([run_check(c, session) for c in chosen])


def _print(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        print(f"[{mark}] task {outcome.check.task}: {outcome.check.title}")
        if not outcome.passed:
            print("       " + outcome.feedback.replace("\n", "\n       "))
    earned, possible = sum(o.score for o in outcomes), sum(o.check.points for o in outcomes)
    print(
        f"{sum(o.passed for o in outcomes)}/{len(outcomes)} public checks passed ({earned:g}/{possible:g} points)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m public_checks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("tasks", nargs="*", help="tasks to check (default: every task with public checks)")
    parser.add_argument("--junit", help="write JUnit XML here")
    parser.add_argument("--summary", help="append a Markdown report here (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument(
        "--classroom-output",
        metavar="NAME",
        help="write GitHub Classroom's result as the step output NAME (into the file $GITHUB_OUTPUT names)",
    )
    parser.add_argument("--fail-under", type=float, metavar="POINTS", help="exit 1 when the score is below")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available, else cpu")
    args = parser.parse_args(argv)
    unknown = set(args.tasks) - {c.task for c in PUBLIC_CHECKS}
    if unknown:
        parser.error(f"no public checks for task(s) {', '.join(sorted(unknown))}")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if args.classroom_output and not github_output:
        print(
            "--classroom-output needs $GITHUB_OUTPUT (the file a GitHub Actions step writes outputs to)",
            file=sys.stderr,
        )
        return USAGE

    started = time.monotonic()
    outcomes = _grade(args.tasks, args.device)
    _print(outcomes)
    if args.junit:
        Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
        Path(args.junit).write_text(
            junit_xml(outcomes, name="public checks", seconds=time.monotonic() - started), encoding="utf-8"
        )
    if args.summary:
        append_text(args.summary, markdown_summary(outcomes, TITLE, NOTICE))
    if args.classroom_output:
        set_step_output(args.classroom_output, classroom_output(outcomes), github_output)
    status = exit_status(outcomes, args.fail_under)
    if status == BELOW:
        print(f"The score is below --fail-under {args.fail_under:g}.")
    return status


if __name__ == "__main__":  # the autograder's child processes load this module too: never run there
    sys.exit(main())
