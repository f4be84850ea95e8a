"""``python -m autograder grade-all``: a class graded in parallel, stopped, resumed, and nothing lost.

The main test grades a class of 24 zips (the reference and the stubs, mixed, as collect_submission.sh makes them)
twice with two workers: once straight through, once killed (SIGKILL, no chance to clean up) after
some results.json exist and then resumed; both runs must write the same grades.csv, the resumed run
must not grade again what was finished, and no process of the killed run may survive it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile.classroom import passable_folder

from autograder.checks import all_groups
from autograder.classroom.batch import GradeBook, discover, fingerprint
from autograder.classroom.plots import failure_rates
from kit import REFERENCE_DIR, RELEASE_DIR, REPO_ROOT
from kit.release import graded_files

GROUPS = all_groups()
CHECKS = sum(len(group.checks) for group in GROUPS)
POINTS = {
    task: sum(c.points for g in GROUPS for c in g.checks if c.task == task)
    for g in GROUPS
    for task in g.tasks
}
FULL = sum(group.points for group in GROUPS)  # never hard-coded: task groups are added over time


CLASS_SIZE = 24  # enough for two workers to interleave and for a kill to land midway


def _zip(package_root: Path, target: Path) -> Path:
    """What collect_submission.sh zips: the notebook and the package files with TODOs."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("diffusion.ipynb", "{}")
        for name in graded_files()[1:]:  # the package files with TODOs, after the notebook
            zipped.write(package_root / name, name)
    return target


def _class(folder: Path, count: int) -> dict[str, str]:
    """``count`` zips, reference and stubs alternating; returns student -> which."""
    folder.mkdir(parents=True)
    kinds = {}
    for n in range(count):
        kind = "reference" if n % 2 == 0 else "stubs"
        student = f"student{n:02d}"
        _zip(REFERENCE_DIR if kind == "reference" else RELEASE_DIR, folder / f"{student}.zip")
        kinds[student] = kind
    return kinds


def _command(source: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autograder",
        "grade-all",
        str(source),
        "--out",
        str(out),
        "--workers",
        "2",
        *extra,
    ]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _run(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(source, out, *extra), cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=600
    )


def _results(out: Path) -> list[Path]:
    return sorted((out / "results").glob("*/results.json")) if (out / "results").is_dir() else []


def _started(source: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        _command(source, out, *extra),
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_results(out: Path, count: int, process: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while len(_results(out)) < count:
        assert process.poll() is None, (
            f"the batch ended before {count} results: {process.stderr.read()[-2000:]}"
        )
        assert time.monotonic() < deadline, f"fewer than {count} results after {timeout_s} s"
        time.sleep(0.05)


def _processes_of(out: Path, named: str = "") -> list[int]:
    """Processes that name ``out`` on their command line (the batch, its workers) or work in it (zygotes,
    children); only those whose command line holds ``named``, when given."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if (str(out).encode() in cmdline or cwd.startswith(str(out))) and named.encode() in cmdline:
            found.append(int(name))
    return found


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with passable_folder() as folder:
        yield folder


@pytest.fixture
def here(scratch, request) -> Path:
    """A folder of this test's own in the passable scratch folder."""
    folder = scratch / request.node.name
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def classroom(scratch) -> tuple[Path, dict[str, str]]:
    folder = scratch / "class" / "zips"
    return folder, _class(folder, CLASS_SIZE)


@pytest.fixture(scope="module")
def straight_run(classroom, scratch) -> Path:
    source, _ = classroom
    out = scratch / "straight"
    done = _run(source, out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_a_class_grades_in_parallel_with_the_expected_scores(classroom, straight_run):
    _, kinds = classroom
    rows = _rows(straight_run)
    assert list(rows) == sorted(kinds)
    for student, kind in kinds.items():
        row = rows[student]
        assert row["status"] == "graded" and float(row["max_score"]) == FULL, row
        assert float(row["score"]) == (FULL if kind == "reference" else 0), row
        earned = {task: float(row[task]) for task in POINTS}
        assert earned == (POINTS if kind == "reference" else dict.fromkeys(POINTS, 0.0)), row
    assert len(_results(straight_run)) == CLASS_SIZE
    assert (straight_run / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (straight_run / ".work").exists()  # the workers' temporary folders are gone


@pytest.mark.slow
def test_a_batch_killed_midway_resumes_to_the_same_grades_without_regrading(classroom, straight_run, here):
    source, _ = classroom
    out = here / "interrupted"
    batch = _started(source, out)
    _wait_for_results(out, CLASS_SIZE // 3, batch)
    batch.kill()  # SIGKILL: no handler runs, no worker is told
    batch.wait()
    deadline = time.monotonic() + 20
    while _processes_of(out) and time.monotonic() < deadline:  # the workers die with the batch
        time.sleep(0.1)
    assert _processes_of(out) == [], "a process of the killed batch outlived it"
    finished = {path: path.stat().st_mtime_ns for path in _results(out)}
    assert CLASS_SIZE // 3 <= len(finished) < CLASS_SIZE
    # grades.csv is rewritten as each result lands: the killed batch's holds all but the results that
    # landed in its last instants (at most one per worker); resuming rebuilds it from every results.json
    graded = {student for student, row in _rows(out).items() if row["status"] == "graded"}
    assert graded <= {path.parent.name for path in finished} and len(graded) >= len(finished) - 2
    for path in finished:  # whatever was written is complete
        assert len(json.loads(path.read_text())["tests"]) == CHECKS
    resumed = _run(source, out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(finished)} graded before, {CLASS_SIZE - len(finished)} to grade" in resumed.stderr
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items()), (
        "finished work was regraded"
    )
    assert (out / "grades.csv").read_text() == (straight_run / "grades.csv").read_text()


@pytest.mark.slow
def test_ctrl_c_keeps_what_is_finished_and_a_changed_submission_is_graded_again(here):
    source = here / "zips"
    _class(source, 4)
    out = here / "out"
    batch = _started(source, out, "--no-plot")
    _wait_for_results(out, 1, batch)
    batch.send_signal(signal.SIGINT)
    _, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 130, stderr[-2000:]
    assert "run the same command to go on" in stderr
    rows = _rows(out)
    assert {row["status"] for row in rows.values()} <= {"graded", "pending"} and "pending" in {
        row["status"] for row in rows.values()
    }
    assert _run(source, out, "--no-plot").returncode == 0
    assert all(row["status"] == "graded" for row in _rows(out).values())
    _zip(RELEASE_DIR, source / "student00.zip")  # the student resubmitted: the stubs, this time
    submissions = discover(source)
    book = GradeBook(out, submissions, {s.id: fingerprint(s.path) for s in submissions})
    assert [row["status"] for row in book.write()] == ["outdated", "graded", "graded", "graded"]
    again = _run(source, out, "--no-plot")
    assert again.returncode == 0 and "3 graded before, 1 to grade" in again.stderr, again.stderr
    assert _rows(out)["student00"]["score"] == "0"


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced_and_its_submission_graded(here):
    source = here / "zips"
    _class(source, 4)
    out = here / "out"
    batch = _started(source, out, "--no-plot")
    _wait_for_results(out, 1, batch)
    workers = _processes_of(out, named="autograder.classroom.batch")
    assert len(workers) == 2
    for worker in workers:  # every worker at once: only workers started after them can grade the rest
        os.kill(worker, signal.SIGKILL)
    _, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 0, stderr[-2000:]
    assert [row["status"] for row in _rows(out).values()] == ["graded"] * 4
    assert [float(row["score"]) for row in _rows(out).values()] == [FULL, 0.0, FULL, 0.0]


@pytest.mark.slow
def test_relative_folders_as_make_grade_all_passes_them(here):
    """`make grade-all` runs ``grade-all SUBMISSIONS --out out/class`` from the repository: relative paths
    must reach the children, which work in folders under the output folder."""
    _class(here / "zips", 2)
    command = [sys.executable, "-m", "autograder", "grade-all", "zips", "--out", "out/class", "--no-plot"]
    done = subprocess.run(command, cwd=here, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(here / "out" / "class")
    assert [(row["status"], float(row["score"])) for row in rows.values()] == [
        ("graded", FULL),
        ("graded", 0.0),
    ]


def test_nbgrader_and_flat_layouts_are_found(tmp_path):
    course = tmp_path / "course"
    (course / "submitted" / "alice" / "diffusion" / "diffusion_models").mkdir(parents=True)
    (course / "submitted" / "bob" / "diffusion").mkdir(parents=True)
    _zip(REFERENCE_DIR, course / "submitted" / "bob" / "diffusion" / "diffusion_submission.zip")
    _zip(REFERENCE_DIR, course / "submitted" / "carol d'Arc.zip")
    (course / "submitted" / ".DS_Store").write_text("")
    (course / "submitted" / "notes.txt").write_text("")
    found = discover(course)
    assert [s.id for s in found] == ["alice", "bob", "carol_d_Arc"]
    assert found[0].path == course / "submitted" / "alice" / "diffusion"
    assert found[2].path.suffix == ".zip"
    with pytest.raises(ValueError, match="no submissions"):
        discover(tmp_path / "course" / "submitted" / "alice" / "diffusion" / "diffusion_models")
    with pytest.raises(ValueError, match="is one submission"):
        discover(course / "submitted" / "alice" / "diffusion")


def test_the_fingerprint_follows_the_files(tmp_path):
    """The same files elsewhere, copied later, fingerprint the same; a changed byte or name does not."""
    (tmp_path / "a").mkdir()
    first = _zip(REFERENCE_DIR, tmp_path / "a" / "student.zip")
    os.utime(first, ns=(10**18, 10**18))
    copy = tmp_path / "b" / "student.zip"
    copy.parent.mkdir()
    shutil.copyfile(first, copy)  # another folder, another time stamp: the same submission
    assert fingerprint(copy) == fingerprint(first)
    changed = bytearray(first.read_bytes())
    changed[len(changed) // 2] ^= 1
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "student.zip").write_bytes(changed)
    assert fingerprint(tmp_path / "c" / "student.zip") != fingerprint(first)
    folder = tmp_path / "folder"
    (folder / "diffusion_models").mkdir(parents=True)
    (folder / "diffusion_models" / "x.py").write_text("x = 1")
    before = fingerprint(folder)
    moved = tmp_path / "moved" / "folder"
    shutil.copytree(folder, moved)
    os.utime(moved / "diffusion_models" / "x.py", ns=(10**18, 10**18))
    (moved / "diffusion_models" / "__pycache__").mkdir()  # caches are not the student's files
    (moved / "diffusion_models" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")
    assert fingerprint(moved) == before
    (folder / "diffusion_models" / "x.py").write_text("x = 2")
    assert fingerprint(folder) != before
    (folder / "diffusion_models" / "x.py").write_text("x = 1")
    assert fingerprint(folder) == before
    (folder / "diffusion_models" / "x.py").rename(folder / "diffusion_models" / "y.py")
    assert fingerprint(folder) != before


def test_failure_rates_count_the_submissions_that_lost_points_on_each_task():
    rows = [
        {"status": "graded", "2.1.1a": "10", "2.1.1b": "4", "_possible": {"2.1.1a": 10.0, "2.1.1b": 10.0}},
        {"status": "graded", "2.1.1a": "10", "2.1.1b": "10", "_possible": {"2.1.1a": 10.0, "2.1.1b": 10.0}},
        {"status": "error", "2.1.1a": "0", "2.1.1b": "0", "_possible": {"2.1.1a": 10.0, "2.1.1b": 10.0}},
        {"status": "pending", "2.1.1a": "", "2.1.1b": "", "_possible": {}},
    ]
    assert failure_rates(rows, ["2.1.1a", "2.1.1b"]) == {"2.1.1a": 0.0, "2.1.1b": 0.5}
