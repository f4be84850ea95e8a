"""The autograder's command line.

    python -m autograder grade SUBMISSION [--results PATH] [--device auto|cpu|cuda] [--groups a,b]
    python -m autograder grade-all DIR --out OUT [--workers N] [--device cpu] [--time-scale 1]
    python -m autograder list

``grade`` prints a table of verdicts and writes Gradescope's results.json. It exits 0 whenever the
grading completed, whatever the score; 1 when the grader itself could not run (results.json is
written then too, with a score of 0 and the reason); 2 for a bad command line.

``grade-all`` grades a folder of submissions in parallel and can be stopped and resumed
(:mod:`autograder.batch`). It exits 0 when every submission was graded, 1 when some could not be
(their rows in grades.csv say ``error``), 3 when the grader's own files changed under it, 130 when
it was stopped.
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


def _grade_all(args: argparse.Namespace) -> int:
    from .batch import Batch

    if args.workers < 1 or args.threads < 1 or args.time_scale <= 0:
        print("--workers and --threads must be at least 1, --time-scale above 0", file=sys.stderr)
        return 2
    batch = Batch(
        source=Path(args.folder),
        out=Path(args.out),
        workers=args.workers,
        device=args.device,
        threads=args.threads,
        time_scale=args.time_scale,
        memory_mb=args.memory_mb,
        assignment=args.assignment,
        plot=not args.no_plot,
    )
    try:
        return batch.run()
    except ValueError as err:  # no submissions there
        print(f"grade-all: {err}", file=sys.stderr)
        return 2


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
    batch = commands.add_parser(
        "grade-all",
        help="grade a folder of submissions in parallel (nbgrader's submitted/ or a folder of zips); resumable",
    )
    batch.add_argument(
        "folder", help="nbgrader's submitted/ (or its course folder), or a folder of zips or folders"
    )
    batch.add_argument("--out", required=True, help="where results/<student>/results.json, grades.csv go")
    batch.add_argument("--workers", type=int, default=2, help="submissions graded at once (one process each)")
    batch.add_argument("--device", choices=DEVICES, default="cpu", help="where the student's tensors live")
    batch.add_argument("--threads", type=int, default=1, help="torch threads per child process")
    batch.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every time limit (a slow machine: > 1)"
    )
    batch.add_argument(
        "--memory-mb", type=int, help="memory of each child in MiB, instead of each task group's own limit"
    )
    batch.add_argument(
        "--assignment", default="diffusion", help="the assignment's folder in submitted/<student>/"
    )
    batch.add_argument("--no-plot", action="store_true", help="do not draw summary.png")
    batch.set_defaults(run=_grade_all)
    listing = commands.add_parser("list", help="list every check: task, points, public or hidden, visibility")
    listing.set_defaults(run=_list)
    args = parser.parse_args(argv)
    return args.run(args)
