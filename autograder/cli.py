"""The autograder's command line.

    python -m autograder grade SUBMISSION [--results PATH] [--device auto|cpu|cuda] [--groups a,b]
    python -m autograder list

``grade`` prints a table of verdicts and writes Gradescope's results.json. It exits 0 whenever the
grading completed, whatever the score; 1 when the grader itself could not run (results.json is
written then too, with a score of 0 and the reason); 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from .checks import GROUP_MODULES, all_groups
from .grader import DEVICES, Grader
from .report import failure_results


def _grade(args: argparse.Namespace) -> int:
    started = time.monotonic()
    groups = tuple(args.groups.split(",")) if args.groups else None
    try:
        with Grader(device=args.device, threads=args.threads) as grader:
            report = grader.grade(Path(args.submission), groups)
    except Exception as err:  # the grader's own failure: still leave a results.json behind
        message = f"The autograder itself failed ({type(err).__name__}: {err}); please tell the course staff."
        if args.results:
            Path(args.results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.results).write_text(
                json.dumps(failure_results(message, time.monotonic() - started), indent=2)
            )
        traceback.print_exc()
        print(message, file=sys.stderr)
        return 1
    report.seconds = time.monotonic() - started
    if args.results:
        report.write(Path(args.results))
    if not args.quiet:
        print(report.table())
    else:
        print(report.summary())
    return 0


def _list(_args: argparse.Namespace) -> int:
    for group in all_groups():
        print(
            f"group {group.name}: tasks {', '.join(group.tasks)} ({group.points:g} points, {group.time_limit_s:g} s)"
        )
        for check in group.checks:
            where = "public" if check.public else "hidden"
            print(f"  {check.task:<7} {check.points:>4g}  {where:<6}  {check.visibility:<14}  {check.title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser(
        "grade", help="grade one submission (a zip or a folder holding diffusion_models/)"
    )
    grade.add_argument(
        "submission", help="the zip collect_submission.sh makes, or a folder holding diffusion_models/"
    )
    grade.add_argument("--results", help="where to write Gradescope's results.json")
    grade.add_argument("--device", choices=DEVICES, default="auto", help="where the student's tensors live")
    grade.add_argument(
        "--groups", help=f"comma-separated task groups to grade (default all: {','.join(GROUP_MODULES)})"
    )
    grade.add_argument("--threads", type=int, default=1, help="torch threads per child process")
    grade.add_argument("--quiet", action="store_true", help="print the summary only")
    grade.set_defaults(run=_grade)
    listing = commands.add_parser("list", help="list every check: task, points, public or hidden, visibility")
    listing.set_defaults(run=_list)
    args = parser.parse_args(argv)
    return args.run(args)
