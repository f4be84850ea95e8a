"""Throughput of ``python -m autograder grade-all``: submissions graded per minute on two CPU cores.

    .venv/bin/python benchmarks/grade_all_throughput.py [--count 40] [--workers 1 2]

Builds a class of ``--count`` zips as collect_submission.sh makes them, a share ``--reference-share`` of
them the reference solution (every check runs to the end: the slowest case) and the rest the stubs
(every task fails fast), then times one fresh ``grade-all`` per worker count, pinned to ``--cores`` with
taskset where it exists, from start to exit (worker and zygote start-up included). Prints the wall
time, the submissions per minute and the mean seconds per submission, and checks every score.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from autograder.checks import all_groups  # noqa: E402

REFERENCE = REPO_ROOT / "reference"
RELEASE = REPO_ROOT / "release" / "diffusion"


def todo_files() -> list[str]:
    """What collect_submission.sh zips besides the notebook: the package's files with TODOs."""
    package = RELEASE / "diffusion_models"
    return sorted(
        f"diffusion_models/{path.relative_to(package).as_posix()}"
        for path in package.rglob("*.py")
        if "raise NotImplementedError(" in path.read_text(encoding="utf-8")
    )


def build_class(folder: Path, count: int, reference_share: float) -> dict[str, float]:
    """``count`` zips; returns student -> expected score (full marks for the reference, 0 for the stubs)."""
    folder.mkdir(parents=True)
    full = sum(group.points for group in all_groups())
    expected = {}
    references = round(count * reference_share)
    for n in range(count):
        is_reference = n * references // count != (n + 1) * references // count  # spread evenly
        student = f"student{n:03d}"
        with zipfile.ZipFile(folder / f"{student}.zip", "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr("diffusion.ipynb", "{}")
            for name in todo_files():
                zipped.write((REFERENCE if is_reference else RELEASE) / name, name)
        expected[student] = full if is_reference else 0.0
    return expected


def one_run(source: Path, workers: int, cores: str) -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "autograder", "grade-all", str(source), "--out", str(out)]
        command += ["--workers", str(workers), "--no-plot"]
        if shutil.which("taskset"):
            command = ["taskset", "-c", cores, *command]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        with open(out / "grades.csv", newline="") as handle:
            scores = {row["submission"]: float(row["score"]) for row in csv.DictReader(handle)}
    return seconds, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40, help="submissions in the class")
    parser.add_argument("--reference-share", type=float, default=0.75, help="share of full-marks submissions")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    parser.add_argument("--cores", default="0,1", help="CPU list for taskset (two cores by default)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "class"
        expected = build_class(source, args.count, args.reference_share)
        references = sum(score > 0 for score in expected.values())
        print(
            f"{args.count} submissions ({references} reference, {args.count - references} stubs), cores {args.cores}"
        )
        for workers in args.workers:
            seconds, scores = one_run(source, workers, args.cores)
            ok = "scores OK" if scores == expected else "WRONG SCORES"
            print(
                f"workers {workers}: {seconds:.1f} s wall, {60 * args.count / seconds:.1f} submissions/min, "
                f"{seconds / args.count:.2f} s each; {ok}"
            )
            if scores != expected:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
