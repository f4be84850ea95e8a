"""Regrades that say what changed (autograder/classroom/batch.py, changes.py): grade-all's resume key
holds the grader's fingerprint, so a change to a check regrades the class and reports whose points moved;
a rerun with nothing changed regrades no one; the same class graded with 1 and 2 workers gives the same
results."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from assignment_folders import CACHES
from catalogue.grading import mutated, reference_copy
from catalogue.mutants import BUGS

from kit import REPO_ROOT

CHECK = "task 2.1.1a: betas, alphas, alpha_bars equal the linear schedule's closed form"  # hidden, 4 points


def kit_copy(root: Path) -> Path:
    """The grading part of the kit, as a course's grader repository holds it."""
    for part in ("autograder", "requirements", "release/diffusion/diffusion_models"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=CACHES)
    return root


def take_a_point_from_the_check(kit: Path) -> None:
    """The instructor's change: the hidden closed-form check of 2.1.1a is worth 3 points, not 4 (the
    check and the registry, which must agree)."""
    checks = kit / "autograder" / "checks" / "scheduler.py"
    text = checks.read_text()
    old = '    "2.1.1a",\n    "betas, alphas, alpha_bars equal the linear schedule\'s closed form",\n    points=4,'
    assert text.count(old) == 1, "the check moved: update tests/test_regrade.py"
    checks.write_text(text.replace(old, old.replace("points=4", "points=3")))
    tasks = kit / "autograder" / "public" / "tasks.py"
    text = tasks.read_text()
    old = '        "2.1.1a",\n        "NoiseScheduler.__init__: betas, alphas, alpha_bars",\n'
    start = text.index(old)
    end = text.index("    ),", start)
    block = text[start:end]
    assert block.count("        10,\n") == 1
    tasks.write_text(text[:start] + block.replace("        10,\n", "        9,\n") + text[end:])


def grade_all(kit: Path, source: Path, out: Path, workers: int, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(kit)}
    command = [sys.executable, "-m", "autograder", "grade-all", str(source), "--out", str(out)]
    return subprocess.run(
        [*command, "--workers", str(workers), "--no-plot", *extra],
        cwd=kit,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def results(out: Path) -> dict[str, dict]:
    """student -> results.json less its execution time."""
    found = {}
    for path in sorted((out / "results").glob("*/results.json")):
        found[path.parent.name] = {
            k: v for k, v in json.loads(path.read_text()).items() if k != "execution_time"
        }
    return found


def check_of(result: dict) -> dict:
    (test,) = [t for t in result["tests"] if t["name"] == CHECK]
    return test


def task_points(result: dict, task: str) -> float:
    return sum(t["score"] for t in result["tests"] if t["number"].rsplit(".", 1)[0] == task)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    """Three students: the reference, a 2.1.1a bug (it fails the changed check) and a 2.1.2 bug (it
    passes it)."""
    source = tmp_path_factory.mktemp("regrade") / "submitted"
    reference_copy(source / "student00")
    mutated(source / "student01", next(b for b in BUGS if b.tasks == ("2.1.1a",)))
    mutated(source / "student02", next(b for b in BUGS if b.tasks == ("2.1.2",)))
    return source


@pytest.mark.slow
def test_a_changed_check_regrades_the_class_and_reports_whose_points_moved(classroom, tmp_path):
    kit = kit_copy(tmp_path / "kit")
    one, two = tmp_path / "one-worker", tmp_path / "two-workers"
    for out, workers in ((one, 1), (two, 2)):
        run = grade_all(kit, classroom, out, workers)
        assert run.returncode == 0, run.stderr
    before = results(two)
    assert before == results(one)  # determinism: 1 or 2 workers, the same results.json

    # The grader changes: everyone is regraded, and the report lists exactly who moved.
    take_a_point_from_the_check(kit)
    run = grade_all(kit, classroom, two, 2)
    assert run.returncode == 0, run.stderr
    assert "0 graded before, 3 to grade" in run.stderr and "regraded 3 submissions" in run.stderr
    after = results(two)
    passed = {s for s, r in before.items() if check_of(r)["status"] == "passed"}
    assert passed and passed != set(before), "the class must hold students on both sides of the check"
    for student in before:
        expected = task_points(before[student], "2.1.1a") - (1 if student in passed else 0)
        assert task_points(after[student], "2.1.1a") == expected
    with open(two / "changes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["student"] for row in rows} == passed
    for row in rows:
        assert row["task"] == "2.1.1a" and float(row["difference"]) == -1
        assert float(row["old_points"]) == task_points(before[row["student"]], "2.1.1a")
        assert (
            row["checks"]
            == f"2.1.1a.{check_of(before[row['student']])['number'].rsplit('.', 1)[1]} {CHECK}: 4.0 -> 3.0"
        )
    markdown = (two / "changes.md").read_text()
    assert "3 students compared; " in markdown and all(s in markdown for s in passed)
    with open(two / "grades.csv", newline="") as handle:
        graders = {row["grader"] for row in csv.DictReader(handle)}
    assert len(graders) == 1 and graders != {""}

    # The same comparison between two result folders, without grade-all.
    compared = subprocess.run(
        [sys.executable, "-m", "autograder", "changes", str(one), str(two), "--out", str(tmp_path / "cmp")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compared.returncode == 1, compared.stderr  # 1: some grades moved
    assert (tmp_path / "cmp" / "changes.csv").read_text() == (two / "changes.csv").read_text()

    # Nothing changed since: no one is regraded, nothing is rewritten.
    stamps = {p: p.stat().st_mtime_ns for p in (two / "results").glob("*/results.json")}
    run = grade_all(kit, classroom, two, 2)
    assert run.returncode == 0 and "3 graded before, 0 to grade" in run.stderr, run.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    # --keep-grades after another change: nobody regraded, every row outdated, the command says so.
    (kit / "autograder" / "policy.py").write_text(
        (kit / "autograder" / "policy.py").read_text() + "\n# changed\n"
    )
    run = grade_all(kit, classroom, two, 2, "--keep-grades")
    assert run.returncode == 1 and "kept the grades of 3 submissions" in run.stderr, run.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    with open(two / "grades.csv", newline="") as handle:
        assert {row["status"] for row in csv.DictReader(handle)} == {"outdated"}
