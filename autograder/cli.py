"""The autograder's command line.

    python -m autograder grade SUBMISSION [--results PATH] [--device auto|cpu|cuda] [--groups a,b]
                                          [--public-only] [--junit PATH] [--summary PATH]
                                          [--fail-under POINTS] [--classroom-output NAME]
    python -m autograder grade-all DIR --out OUT [--workers N] [--device cpu] [--time-scale 1]
                                           [--shard K/N]
    python -m autograder grade-all merge --out OUT SHARD_DIR...
    python -m autograder list [--tasks] [--markdown]
    python -m autograder explain RESULTS [--device cpu|cuda]
    python -m autograder changes OLD NEW [--out DIR]

``list`` prints the task registry (``autograder/public/tasks.py``: each task's points, public points,
title and file:symbol), then every check; ``--tasks`` the tasks alone, ``--markdown`` the README's task
table.
``grade`` prints a table of verdicts and writes Gradescope's results.json; ``--junit`` adds JUnit XML
(one test case per check), ``--summary`` appends a Markdown report (e.g. to ``$GITHUB_STEP_SUMMARY``),
``--classroom-output NAME`` GitHub Classroom's result as a step output, all from
:mod:`autograder.public.reports`. ``--public-only`` grades with the public checks alone and
never imports the hidden ones (:mod:`autograder.checks`). Its exit statuses:

    0  graded: the score is at or above --fail-under, or no --fail-under was given
    1  graded: the score is below --fail-under
    2  a bad command line
    3  the grader itself failed: it could not run (results.json is written all the same, with a score
       of 0 and the reason), or a check hit an error of the grader's own; whatever the score

``grade-all`` grades a folder of submissions in parallel and can be stopped and resumed
(:mod:`autograder.classroom.batch`). It exits 0 when every submission was graded, 1 when some could not be
(their rows in grades.csv say ``error``), 3 when the grader's own files changed under it, 130 when
it was stopped. A rerun regrades every submission that a different grader graded (a fixed check, new
points, another hint policy: the grader's fingerprint, :mod:`autograder.provenance`) and writes
``changes.csv`` and ``changes.md``: per student and task, the old and new points and the checks that
moved them; ``--keep-grades`` refuses to regrade instead, and says whose grades are outdated.
``--shard K/N`` grades the K-th of N shards of the class (on as many machines: a job array, a CI
matrix), each into its own ``--out``; ``grade-all merge --out OUT SHARD_DIR...`` joins the N folders
into the grades.csv, results and summary.png of one run (:mod:`autograder.classroom.shards`), and exits
as that run would: 0, or 1 when some submissions were not graded; 2 when the folders are not the N
shards of one class graded by one grader.

``explain`` says whether this machine would reproduce a results.json (the same grader, the same
library versions; exit 0, else 1). ``changes`` compares two folders of results (grade-all's, a
Gradescope export, one results.json per student folder) and writes the same report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from .grader import DEVICES, Grader
from .public import reports
from .report import Report, failure_results, write_atomically


def _grade(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.classroom_output and not os.environ.get("GITHUB_OUTPUT"):
        print(
            "--classroom-output needs $GITHUB_OUTPUT (the file a GitHub Actions step writes outputs to)",
            file=sys.stderr,
        )
        return reports.USAGE
    groups = tuple(args.groups.split(",")) if args.groups else None
    try:
        with Grader(device=args.device, threads=args.threads) as grader:
            report = grader.grade(Path(args.submission), groups, public_only=args.public_only)
    except Exception as err:  # the grader's own failure: still leave a results.json behind
        message = f"The autograder itself failed ({type(err).__name__}: {err}); please tell the course staff."
        if args.results:
            Path(args.results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.results).write_text(
                json.dumps(failure_results(message, time.monotonic() - started), indent=2)
            )
        traceback.print_exc()
        print(message, file=sys.stderr)
        if args.summary:
            reports.append_text(args.summary, f"## {_title(args)}: not graded\n\n{message}\n")
        return reports.GRADER_ERROR
    report.seconds = time.monotonic() - started
    if args.results:
        report.write(Path(args.results))
    if args.junit:
        Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            Path(args.junit),
            reports.junit_xml(report.outcomes, seconds=report.seconds, properties=_junit_properties(report)),
        )
    if args.summary:
        reports.append_text(
            args.summary, reports.markdown_summary(report.outcomes, _title(args), report.notice)
        )
    if args.classroom_output:
        reports.set_step_output(
            args.classroom_output, reports.classroom_output(report.outcomes), os.environ["GITHUB_OUTPUT"]
        )
    if not args.quiet:
        print(report.table())
    else:
        print(report.summary())
    status = reports.exit_status(report.outcomes, args.fail_under)
    if status == reports.BELOW:
        print(f"The score {report.score:g} is below --fail-under {args.fail_under:g}.", file=sys.stderr)
    return status


def _junit_properties(report: Report) -> dict[str, str]:
    recorded = report.provenance or {}
    return {
        "kit_version": str(recorded.get("kit_version", "")),
        "grader": str(recorded.get("fingerprints", {}).get("grader", "")),
        "device": str(recorded.get("device", report.device)),
    }


def _explain(args: argparse.Namespace) -> int:
    from .provenance import explain_main

    return explain_main(Path(args.results), args.device)


def _changes(args: argparse.Namespace) -> int:
    from .classroom.changes import compare_folders

    try:
        return compare_folders(Path(args.old), Path(args.new), Path(args.out) if args.out else None)
    except ValueError as err:
        print(f"changes: {err}", file=sys.stderr)
        return 2


def _title(args: argparse.Namespace) -> str:
    return "Autograder (public checks only)" if args.public_only else "Autograder"


def _grade_all(args: argparse.Namespace) -> int:
    from .classroom.batch import Batch
    from .classroom.shards import parse_shard

    if args.workers < 1 or args.threads < 1 or args.time_scale <= 0:
        print("--workers and --threads must be at least 1, --time-scale above 0", file=sys.stderr)
        return 2
    try:
        shard = parse_shard(args.shard) if args.shard is not None else None
    except ValueError as err:
        print(f"grade-all: {err}", file=sys.stderr)
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
        keep_grades=args.keep_grades,
        shard=shard,
    )
    try:
        return batch.run()
    except ValueError as err:  # no submissions there, or --out holds another shard
        print(f"grade-all: {err}", file=sys.stderr)
        return 2


def _merge(args: argparse.Namespace) -> int:
    from .classroom.shards import merge

    try:
        return merge(Path(args.out), [Path(folder) for folder in args.shards], plot=not args.no_plot)
    except ValueError as err:  # not the N shards of one class, graded by one grader
        print(f"grade-all merge: {err}", file=sys.stderr)
        return 2


def merge_parser() -> argparse.ArgumentParser:
    """``grade-all merge``: its own parser, since ``grade-all``'s first argument is a folder."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder grade-all merge",
        description="join the folders of `grade-all DIR --shard K/N` runs (all N of them) into the "
        "grades.csv, results/ and summary.png of one run over the class",
    )
    parser.add_argument("shards", nargs="+", metavar="SHARD_DIR", help="the --out folder of each shard")
    parser.add_argument("--out", required=True, help="where the class's results/, grades.csv go")
    parser.add_argument("--no-plot", action="store_true", help="do not draw summary.png")
    parser.set_defaults(run=_merge)
    return parser


def _list(args: argparse.Namespace) -> int:
    from .public.tasks import markdown_table, text_table

    if args.markdown:
        print(markdown_table())
        return 0
    print(text_table())
    if args.tasks:
        return 0
    from .checks import all_groups

    print()
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
        "--groups", help="comma-separated task groups to grade (default all; `list` names them)"
    )
    grade.add_argument(
        "--public-only",
        action="store_true",
        help="grade with the public checks only; the hidden checks are never imported",
    )
    grade.add_argument("--junit", help="also write JUnit XML here (one test case per check)")
    grade.add_argument(
        "--summary",
        help="append a Markdown report here (points per task, feedback); e.g. $GITHUB_STEP_SUMMARY",
    )
    grade.add_argument(
        "--fail-under", type=float, metavar="POINTS", help="exit 1 when the score is below POINTS"
    )
    grade.add_argument(
        "--classroom-output",
        metavar="NAME",
        help="write GitHub Classroom's result (points per task) as the step output NAME, into $GITHUB_OUTPUT",
    )
    grade.add_argument("--threads", type=int, default=1, help="torch threads per child process")
    grade.add_argument("--quiet", action="store_true", help="print the summary only")
    grade.set_defaults(run=_grade)
    batch = commands.add_parser(
        "grade-all",
        help="grade a folder of submissions in parallel (nbgrader's submitted/ or a folder of zips); resumable; "
        "`grade-all merge --out OUT SHARD_DIR...` joins --shard runs (a folder named merge: ./merge)",
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
    batch.add_argument(
        "--shard",
        metavar="K/N",
        help="grade only the K-th of N shards of the class (1 <= K <= N), for `grade-all merge` to join",
    )
    batch.add_argument(
        "--keep-grades",
        action="store_true",
        help="never regrade a submission because the grader changed: refuse, and list whose grades are outdated",
    )
    batch.set_defaults(run=_grade_all)
    listing = commands.add_parser(
        "list",
        help="list the tasks (id, points, public points, title, file:symbol), then every check (task, "
        "points, public or hidden, visibility, title)",
    )
    listing.add_argument("--tasks", action="store_true", help="the tasks alone, without the checks")
    listing.add_argument("--markdown", action="store_true", help="the tasks as the README's Markdown table")
    listing.set_defaults(run=_list)
    explaining = commands.add_parser(
        "explain", help="would this machine reproduce a results.json? (its grader and library versions)"
    )
    explaining.add_argument("results", help="a results.json written by this kit, or a folder of them")
    explaining.add_argument("--device", choices=("cpu", "cuda"), help="also compare the device graded on")
    explaining.set_defaults(run=_explain)
    changing = commands.add_parser(
        "changes", help="compare two folders of results: per student and task, old and new points"
    )
    changing.add_argument(
        "old", help="the earlier results (grade-all's out folder, or <student>/results.json)"
    )
    changing.add_argument("new", help="the later results, laid out the same way or another of those ways")
    changing.add_argument("--out", help="write changes.csv and changes.md here (default: print the Markdown)")
    changing.set_defaults(run=_changes)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["grade-all", "merge"]:
        args = merge_parser().parse_args(argv[2:])
    else:
        args = parser.parse_args(argv)
    return args.run(args)
