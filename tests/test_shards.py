"""``grade-all --shard K/N`` and ``grade-all merge`` (autograder/classroom/shards.py): a class graded as
three shards, in three separate processes, then merged, is the class graded in one run; merge refuses
shards that do not add up to one run."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from catalogue.grading import mutated, reference_copy
from catalogue.mutants import BUGS

from autograder.classroom.changes import compare, regrade_labels, write_report
from autograder.classroom.shards import (
    SHARD_FILE,
    Shard,
    merge,
    parse_shard,
    shard_of,
    shard_record,
    write_record,
)
from kit import RELEASE_DIR, REPO_ROOT

SHARDS = 3


def grade_all(*args: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade-all", *args]


def run(command: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def results_of(folder: Path) -> dict:
    """results.json less its execution time."""
    return {
        k: v for k, v in json.loads((folder / "results.json").read_text()).items() if k != "execution_time"
    }


def grading_of(folder: Path) -> dict:
    """grading.json less what differs from one run to the next: the seconds, the wall time its sandbox had
    left, the uid its sandbox drew."""
    grading = json.loads((folder / "grading.json").read_text())
    del grading["seconds"], grading["sandbox"]["uid"], grading["sandbox"]["limits"]["wall_s"]
    return grading


def graded(out: Path) -> dict[str, tuple[dict, dict]]:
    """student -> (results.json, grading.json), timings aside."""
    return {
        folder.name: (results_of(folder), grading_of(folder))
        for folder in sorted((out / "results").iterdir())
    }


def a_class(source: Path) -> list[str]:
    """Five students: the reference twice, the stubs and two bugs of different tasks; in every shard of three."""
    reference_copy(source / "alice")
    mutated(source / "bob", next(b for b in BUGS if b.tasks == ("2.1.1a",)))
    shutil.copytree(RELEASE_DIR / "diffusion_models", source / "carol" / "diffusion_models")
    mutated(source / "dave", next(b for b in BUGS if b.tasks == ("2.1.2",)))
    reference_copy(source / "erin")
    students = sorted(p.name for p in source.iterdir())
    assert {shard_of(s, SHARDS) for s in students} == set(range(1, SHARDS + 1)), (
        "a shard of three holds no one"
    )
    return students


@pytest.mark.slow
def test_three_shards_in_three_processes_merge_into_the_single_run(tmp_path):
    source = tmp_path / "submitted"
    students = a_class(source)
    single = tmp_path / "single"
    done = run(grade_all(str(source), "--out", str(single), "--workers", "2"))
    assert done.returncode == 0, done.stderr[-3000:]

    folders = [tmp_path / f"shard-{k}" for k in range(1, SHARDS + 1)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    processes = [
        subprocess.Popen(
            grade_all(str(source), "--out", str(folder), "--shard", f"{k}/{SHARDS}", "--workers", "1"),
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, folder in enumerate(folders, start=1)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]

    # every submission in exactly one shard, and that shard graded it alone
    members = [json.loads((folder / SHARD_FILE).read_text())["members"] for folder in folders]
    assert sorted(m for shard in members for m in shard) == students
    for folder, shard in zip(folders, members, strict=True):
        assert sorted(p.name for p in (folder / "results").iterdir()) == sorted(shard)

    merged = tmp_path / "merged"
    done = run(grade_all("merge", "--out", str(merged), *map(str, folders)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (merged / "grades.csv").read_text() == (single / "grades.csv").read_text()
    assert graded(merged) == graded(single)
    assert (merged / "summary.png").read_bytes() == (single / "summary.png").read_bytes()
    with open(merged / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["submission"] for row in rows] == students and {row["status"] for row in rows} == {"graded"}
    assert (
        len({row["score"] for row in rows}) >= 3
    )  # the class's grades differ, so the rows can be told apart


# ------------------------------------------------------------------------------------ the split
def test_a_shard_is_k_of_n_and_anything_else_is_refused_by_name():
    assert parse_shard("2/3") == Shard(2, 3) and parse_shard(" 1 / 1 ") == Shard(1, 1)
    for bad in ("0/3", "4/3", "1/0", "3", "a/b", "-1/3", ""):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_the_cli_refuses_a_bad_shard_before_grading(tmp_path):
    done = run(grade_all(str(tmp_path), "--out", str(tmp_path / "out"), "--shard", "4/3"))
    assert done.returncode == 2 and "--shard 4/3: K must be between 1 and N" in done.stderr
    assert not (tmp_path / "out").exists()


def test_every_student_is_in_exactly_one_shard_decided_by_the_id_alone():
    students = [f"student{n:03d}" for n in range(300)]
    for count in (1, 2, 3, 7):
        shards = [Shard(k, count) for k in range(1, count + 1)]
        for student in students:
            assert sum(shard.holds(student) for shard in shards) == 1
        sizes = [sum(shard.holds(s) for s in students) for shard in shards]
        assert min(sizes) >= len(students) / count / 2, sizes  # spread, not all in one
    # the id alone: the same answer in a fresh process (no hash seed, no order, no class)
    code = "from autograder.classroom.shards import shard_of; print([shard_of(f'student{n:03d}', 7) for n in range(300)])"
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert json.loads(other.stdout) == [shard_of(s, 7) for s in students]


# ------------------------------------------------------------------------------------ merge refuses
def _shard_folder(root: Path, shard: str, students: list[str], grader: str = "g" * 64) -> Path:
    """A shard's folder as grade-all leaves it, with one results.json per member."""
    k, n = map(int, shard.split("/"))
    folder = root / f"shard-{k}-of-{n}-{grader[:4]}"
    members = [s for s in students if shard_of(s, n) == k]
    record = {
        "shard": shard,
        "class": [{"id": s, "fingerprint": f"print-{s}"} for s in students],
        "members": members,
        "grader": grader,
    }
    for student in members:
        (folder / "results" / student).mkdir(parents=True)
        (folder / "results" / student / "results.json").write_text(json.dumps({"score": 0, "tests": []}))
        grading = {"fingerprint": f"print-{student}", "grader": grader, "status": "graded"}
        (folder / "results" / student / "grading.json").write_text(json.dumps(grading))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SHARD_FILE).write_text(json.dumps(record))
    return folder


STUDENTS = ["alice", "bob", "carol", "dave", "erin"]


def test_merge_joins_the_members_in_the_class_order(tmp_path):
    folders = [_shard_folder(tmp_path, f"{k}/3", STUDENTS) for k in (3, 1, 2)]
    assert merge(tmp_path / "out", folders, plot=False) == 0
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["submission"] for row in rows] == STUDENTS and {row["status"] for row in rows} == {"graded"}


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("missing", "shard 2/3 missing"),
        ("twice", "shard 1/3 given twice"),
        ("splits", "shards of different splits"),
        ("class", "saw different classes (frank: other students or other files)"),
        ("grader", "was graded by grader"),
        ("members", "not the class, each student once"),
        ("not a shard", "is not a shard's folder"),
    ],
)
def test_merge_refuses_shards_that_are_not_one_run(tmp_path, problem, message):
    shards = {k: _shard_folder(tmp_path, f"{k}/3", STUDENTS) for k in (1, 2, 3)}
    folders = list(shards.values())
    if problem == "missing":
        folders.remove(shards[2])
    elif problem == "twice":
        folders[1] = _shard_folder(tmp_path / "again", "1/3", STUDENTS)
    elif problem == "splits":
        folders.append(_shard_folder(tmp_path, "1/4", STUDENTS))
    elif problem == "class":
        folders[2] = _shard_folder(tmp_path / "other", "3/3", [*STUDENTS, "frank"])
    elif problem == "grader":
        folders[2] = _shard_folder(tmp_path, "3/3", STUDENTS, grader="h" * 64)
    elif problem == "members":
        record = json.loads((shards[3] / SHARD_FILE).read_text())
        record["members"] = record["members"][1:]
        (shards[3] / SHARD_FILE).write_text(json.dumps(record))
    else:
        (shards[3] / SHARD_FILE).unlink()
    with pytest.raises(ValueError, match=re.escape(message)):
        merge(tmp_path / "out", folders, plot=False)
    assert not (tmp_path / "out").exists()  # nothing written before the shards are known to add up
    done = run(grade_all("merge", "--out", str(tmp_path / "out"), *map(str, folders)))
    assert done.returncode == 2 and message in done.stderr


def test_merge_says_which_submissions_no_shard_graded(tmp_path):
    folders = [_shard_folder(tmp_path, f"{k}/3", STUDENTS) for k in (1, 2, 3)]
    for folder in folders[1:]:  # shards 2 and 3 were stopped before they graded anyone
        shutil.rmtree(folder / "results")
    done = run(grade_all("merge", "--out", str(tmp_path / "out"), "--no-plot", *map(str, folders)))
    assert done.returncode == 1 and "not graded: alice, bob, carol, dave" in done.stderr, done.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        statuses = {row["submission"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {
        "alice": "pending",
        "bob": "pending",
        "carol": "pending",
        "dave": "pending",
        "erin": "graded",
    }


def _results(points: dict[str, float]) -> dict:
    """A results.json of two checks per task; the second, whose title holds "; " (as a title may), passes
    only with the first."""
    tests = []
    for task, earned in points.items():
        second = 2 if earned == 4 else 0
        tests.append({"number": f"{task}.1", "name": f"task {task}: shapes", "score": earned, "max_score": 4})
        tests.append(
            {"number": f"{task}.2", "name": f"task {task}: mean; variance", "score": second, "max_score": 2}
        )
    return {"score": sum(t["score"] for t in tests), "tests": tests}


def test_merge_joins_the_shards_regrade_reports_into_the_class_report(tmp_path):
    grader = "g" * 64
    old = {s: _results({"2.1.1a": 4, "2.1.2": 4}) for s in STUDENTS}
    new = {
        s: _results({"2.1.1a": 3 if s in ("alice", "erin") else 4, "2.1.2": 0 if s == "alice" else 4})
        for s in STUDENTS
    }
    folders = []
    for k in (1, 2, 3):  # each shard regraded its own members and reported on them
        folder = _shard_folder(tmp_path, f"{k}/3", STUDENTS, grader)
        mine = [s for s in STUDENTS if shard_of(s, 3) == k]
        changes = compare({s: old[s] for s in mine}, {s: new[s] for s in mine})
        write_report(changes, folder, len(mine), *regrade_labels(grader))
        folders.append(folder)
    assert merge(tmp_path / "out", folders, plot=False) == 0
    one_run = tmp_path / "one-run"
    write_report(compare(old, new), one_run, len(STUDENTS), *regrade_labels(grader))
    for name in ("changes.csv", "changes.md"):
        assert (tmp_path / "out" / name).read_text() == (one_run / name).read_text()
    assert "; 2.1.1a.2 task 2.1.1a: mean; variance: 2.0 -> 0.0" in (one_run / "changes.csv").read_text()


def test_a_shard_that_holds_no_one_ends_with_an_empty_grades_csv(tmp_path):
    reference_copy(tmp_path / "submitted" / "alice")
    empty = next(k for k in (1, 2) if shard_of("alice", 2) != k)
    done = run(
        grade_all(str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--shard", f"{empty}/2")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 1  # the header alone
    assert json.loads((tmp_path / "out" / SHARD_FILE).read_text())["members"] == []


def test_a_folder_holds_one_shard(tmp_path):
    write_record(tmp_path, shard_record(Shard(1, 3), {"alice": "print"}, "g" * 64))
    write_record(
        tmp_path, shard_record(Shard(1, 3), {"alice": "print"}, "g" * 64)
    )  # the same shard again: resumed
    with pytest.raises(ValueError, match="holds shard 1/3, not 2/3: give each shard its own --out"):
        write_record(tmp_path, shard_record(Shard(2, 3), {"alice": "print"}, "g" * 64))
