"""Unpack a folder of submission zips into nbgrader's ``submitted/<student>/diffusion/``.

    python -m kit.nbgrader_collect ZIPS [--course .]     # make nbgrader-collect ZIPS=folder

Each ``<student>.zip`` in ZIPS (what ``collect_submission.sh`` writes, renamed to the student's id, as an
LMS export is after unpacking its outer archive) becomes ``submitted/<student>/diffusion/``: the zip's
folder that holds ``diffusion_models/`` (the zip's top, or one folder down), unpacked with the
autograder's limits (no ``..``, absolute paths or links; bounded size). A student folder already there
is replaced. The student id is the zip's name, as ``grade-all`` names it.

Each collected notebook gets the verdict every route gives (:mod:`autograder.public.notebook`), printed
as warnings under its student; none stops the batch. A notebook that cannot be read, or a zip without
one, is kept aside (``diffusion.ipynb.unreadable``) and the released notebook put in its place
(:mod:`autograder.nbgrader.notebook_flag`), so that ``nbgrader autograde`` grades the package and flags
the written part. The exit status is 1 only when a zip could not be unpacked at all.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.classroom.batch import safe_id
from autograder.nbgrader.notebook_flag import replace_unreadable
from autograder.submission import GIVEN_NOTEBOOK, NOTEBOOK, SubmissionError, find_package, unpack

ASSIGNMENT = "diffusion"


def release_notebook(course: Path) -> Path:
    """The course's released notebook (what a submitted one should hold), else the kit's own."""
    path = course / "release" / ASSIGNMENT / NOTEBOOK
    return path if path.is_file() else GIVEN_NOTEBOOK


def collect_zips(
    zips: Path, course: Path, warnings: dict[str, tuple[str, ...]] | None = None
) -> dict[str, str]:
    """Unpack every zip of ``zips`` into ``course/submitted/<student>/diffusion``; student -> what went wrong
    ("" when it was unpacked). ``warnings`` (when given) gets student -> the notebook's problems."""
    outcome: dict[str, str] = {}
    warnings = {} if warnings is None else warnings
    for archive in sorted(p for p in Path(zips).iterdir() if p.suffix.lower() == ".zip" and p.is_file()):
        student = safe_id(archive.stem)
        target = course / "submitted" / student / ASSIGNMENT
        with tempfile.TemporaryDirectory(prefix="collect-") as scratch:
            try:
                root = find_package(unpack(archive, Path(scratch))).parent
            except SubmissionError as err:
                outcome[student] = str(err)
                continue
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(root, target)
        outcome[student] = ""
        warnings[student] = replace_unreadable(target / NOTEBOOK, release_notebook(course)).problems
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("zips", type=Path, help="a folder of <student>.zip files")
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (default: here)")
    args = parser.parse_args(argv)
    warnings: dict[str, tuple[str, ...]] = {}
    outcome = collect_zips(args.zips, args.course, warnings)
    for student, error in outcome.items():
        print(f"{student}: {error or 'unpacked into submitted/' + student + '/' + ASSIGNMENT}")
        for problem in warnings.get(student, ()):
            print(f"    warning: {problem}")
    if not outcome:
        print(f"no zips in {args.zips}", file=sys.stderr)
        return 1
    return 1 if any(outcome.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
