"""``nbgrader autograde`` against ``python -m autograder grade``, per student, and the class with 2 workers.

    .venv/bin/python benchmarks/nbgrader_time.py [--students 3] [--workers 2]

In one run, on the same ``--students`` solved submissions (the release with the reference package) in a
fresh course folder (this repository's tracked files, ``nbgrader generate_assignment`` and a roster):

1. the CLI: ``python -m autograder grade`` of each submission folder, a fresh process each;
2. serial nbgrader: one ``nbgrader autograde diffusion`` of the class (at nbgrader's DEBUG log level, for
   the profile; its per-student time is the class time divided by the students);
3. parallel nbgrader: ``python -m autograder.nbgrader.parallel --workers N`` of the same class, from the
   same empty gradebook.

Prints the per-student times and their ratio (the target is nbgrader at most 1.5x the CLI), the class
time with N workers against the serial run's, the load average around each step (the machine may be
shared: read the ratios), and where nbgrader's time goes per student (from its log's timestamps): the
gradebook and the copies, the sanitizing, the sandboxed grading (the zygote starts with the first
student's), the fenced kernel's start and its check cells, and the zygote's own start, timed apart.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOG_FORMAT = ["--NbGrader.log_format=%(asctime)s.%(msecs)03d %(message)s", "--NbGrader.log_datefmt=%H:%M:%S"]
PHASES = (  # (name, the log line that starts it); each ends where the next starts
    ("gradebook, copies, sanitizing", r"Creating/updating student with ID '(?P<student>[^']+)'"),
    ("sandboxed grading", r"Applying preprocessor: GradeSubmittedPackage"),
    ("kernel start (fenced)", r"Applying preprocessor: FencedExecute"),
    ("check cells in the kernel", r"Executing cell:"),
    ("scores, saving", r"Applying preprocessor: IgnorePattern"),
    ("end", r"Setting destination file permissions"),
)


def env() -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIFFUSION_NOTEBOOK_SMALL")}
    variables["CUDA_VISIBLE_DEVICES"] = ""  # a course server's CPU
    variables["PATH"] = f"{VENV_BIN}{os.pathsep}{variables.get('PATH', '')}"  # nbgrader runs alembic
    return variables


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def run(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr


def build_course(root: Path, students: list[str]) -> Path:
    """This repository's tracked files, the assignment released and registered, the students submitted."""
    course = root / "course"
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    for name in filter(None, names.stdout.split("\0")):
        if (REPO_ROOT / name).is_file():
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, course / name)
    roster = "id,first_name,last_name,email\n" + "".join(
        f"{s},{s},Student,{s}@example.org\n" for s in students
    )
    (course / "students.csv").write_text(roster, encoding="utf-8")
    run([str(VENV_BIN / "nbgrader"), "generate_assignment", "diffusion", "--force"], course)
    run([str(VENV_BIN / "nbgrader"), "db", "student", "import", "students.csv"], course)
    for student in students:
        folder = course / "submitted" / student / "diffusion"
        shutil.copytree(course / "release" / "diffusion", folder)
        shutil.rmtree(folder / "diffusion_models")
        shutil.copytree(course / "reference" / "diffusion_models", folder / "diffusion_models")
    shutil.copy2(course / "gradebook.db", root / "empty-gradebook.db")
    return course


def fresh(course: Path) -> None:
    """The gradebook as nbgrader-setup left it, nothing autograded."""
    shutil.copy2(course.parent / "empty-gradebook.db", course / "gradebook.db")
    for name in ("autograded", ".nbgrader-parallel"):
        shutil.rmtree(course / name, ignore_errors=True)


def profile(log: str) -> dict[str, dict[str, float]]:
    """Student -> phase -> seconds, from nbgrader's timestamped DEBUG log (PHASES)."""
    stamps: list[tuple[datetime, str, str]] = []  # (when, phase, student)
    student = ""
    for line in log.splitlines():
        match = re.match(r"(\d\d:\d\d:\d\d\.\d{3}) (.*)", line)
        if not match:
            continue
        when, text = datetime.strptime(match[1], "%H:%M:%S.%f"), match[2]
        for name, pattern in PHASES:
            found = re.match(pattern, text)
            if found and not (name == "check cells in the kernel" and stamps and stamps[-1][1] == name):
                student = found.groupdict().get("student") or student
                stamps.append((when, name, student))
                break
    phases: dict[str, dict[str, float]] = {}
    for (when, name, who), (after, _, _) in zip(stamps, stamps[1:], strict=False):
        if name != "end":
            phases.setdefault(who, {})[name] = (after - when).total_seconds()
    return phases


def zygote_start() -> float:
    """Seconds to start the sandboxed grader's zygote (what each fresh process pays once)."""
    sys.path.insert(0, str(REPO_ROOT))
    from autograder.grader import Grader

    grader = Grader(device="cpu")
    started = time.perf_counter()
    grader.zygote  # noqa: B018 (the property starts it)
    seconds = time.perf_counter() - started
    grader.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=3, help="solved submissions (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="the parallel run's workers (default 2)")
    args = parser.parse_args(argv)
    if args.students < 1 or args.workers < 2:
        parser.error("--students must be at least 1 and --workers at least 2")
    students = [f"student{n}" for n in range(1, args.students + 1)]
    with tempfile.TemporaryDirectory(prefix="nbgrader-time-") as tmp:
        course = build_course(Path(tmp), students)
        print(f"{args.students} solved submissions, {os.cpu_count()} CPUs; {load()}")

        cli = []
        for student in students:
            folder = course / "submitted" / student / "diffusion"
            cli.append(run([sys.executable, "-m", "autograder", "grade", str(folder), "--quiet"], course)[0])
        print(
            f"CLI (python -m autograder grade): {statistics.mean(cli):.1f} s per student {[round(c, 1) for c in cli]}; {load()}"
        )

        fresh(course)
        nbgrader = [str(VENV_BIN / "nbgrader"), "autograde", "diffusion", "--log-level=DEBUG", *LOG_FORMAT]
        serial, log = run(nbgrader, course)
        per_student = serial / args.students
        print(
            f"nbgrader autograde, serial: {serial:.1f} s for the class, {per_student:.1f} s per student; {load()}"
        )
        print(f"ratio nbgrader / CLI per student: {per_student / statistics.mean(cli):.2f} (target <= 1.5)")

        fresh(course)
        command = [sys.executable, "-m", "autograder.nbgrader.parallel", "--workers", str(args.workers)]
        parallel, _ = run(command, course)
        print(
            f"nbgrader autograde, {args.workers} workers: {parallel:.1f} s for the class against {serial:.1f} s "
            f"serial ({serial / parallel:.2f}x); {load()}"
        )

        phases = profile(log)
        names = [name for name, _ in PHASES if name != "end"]
        print("\nwhere serial nbgrader's time goes, per student (s):")
        print(f"  {'student':<10}" + "".join(f"{name[:22]:>24}" for name in names))
        for student in students:
            row = phases.get(student, {})
            print(f"  {student:<10}" + "".join(f"{row.get(name, float('nan')):>24.1f}" for name in names))
        accounted = sum(sum(row.values()) for row in phases.values())
        print(f"  start-up of nbgrader itself and the rest: {serial - accounted:.1f} s for the class")
        print(
            f"  the zygote's start, timed apart: {zygote_start():.1f} s (once per nbgrader process; {load()})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
