"""Time the grading of the reference, start to finish, on two CPU cores.

    .venv/bin/python benchmarks/grade_time.py [--repeat 3] [--submission reference]

Each run is a fresh ``python -m autograder grade SUBMISSION --device cpu`` process, pinned to two cores
with ``taskset`` where it exists, timed from its start to its exit as Gradescope runs it. Prints each
wall time, the median, and whether the grading gave full marks. The target is under 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0


def one_run(submission: Path, cores: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(submission),
            "--device",
            "cpu",
            "--results",
            str(results),
            "--quiet",
        ]
        if shutil.which("taskset"):
            command = ["taskset", "-c", cores, *command]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started, json.loads(results.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="number of timed runs")
    parser.add_argument("--submission", type=Path, default=REPO_ROOT / "reference")
    parser.add_argument("--cores", default="0,1", help="CPU list for taskset (two cores by default)")
    args = parser.parse_args(argv)
    times = []
    for run in range(1, args.repeat + 1):
        seconds, results = one_run(args.submission, args.cores)
        possible = sum(test["max_score"] for test in results["tests"])
        times.append(seconds)
        print(f"run {run}: {seconds:.2f} s wall, score {results['score']:g}/{possible:g}")
    median = statistics.median(times)
    print(
        f"median {median:.2f} s over {len(times)} runs on cores {args.cores} (target < {TARGET_S:g} s): "
        f"{'OK' if median < TARGET_S else 'TOO SLOW'}"
    )
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
