"""The autograder end to end: full marks for the reference, zero for the stubs, the same verdicts twice,
Gradescope's results.json, the command line, and every submission layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from catalogue.grading import mutated, reference_copy, shared_grader
from catalogue.mutants import BUGS

from autograder.checks import all_groups
from autograder.public.core import VISIBILITIES
from autograder.submission import SubmissionError, prepare_submission
from kit import REFERENCE_DIR, RELEASE_DIR, REPO_ROOT

TASKS = tuple(task for group in all_groups() for task in group.tasks)  # every task the registry grades


@pytest.fixture(scope="module")
def reference_report():
    return shared_grader().grade(REFERENCE_DIR)


def test_the_reference_scores_full_marks(reference_report):
    assert not reference_report.grader_errors
    lost = [f"{o.check.key}: {o.feedback}" for o in reference_report.outcomes if not o.passed]
    assert not lost, "\n\n".join(lost)
    assert reference_report.score == reference_report.max_score == 10 * len(TASKS)
    assert set(reference_report.by_task()) == set(TASKS) >= {"2.3.1", "2.4.1", "2.4.2"}


def test_the_untouched_release_scores_zero_with_not_implemented_per_task():
    report = shared_grader().grade(RELEASE_DIR)
    assert report.score == 0 and not report.grader_errors
    for task in TASKS:
        feedback = [o.feedback for o in report.outcomes if o.check.task == task]
        assert feedback and all("not implemented" in f or "not run" in f for f in feedback), feedback
        assert any(f.startswith(f"not implemented: task {task} ") for f in feedback), feedback


@pytest.mark.slow
def test_grading_twice_gives_the_same_scores_and_feedback(tmp_path):
    grader = shared_grader()
    buggy = mutated(tmp_path, BUGS[0], next(b for b in BUGS if b.tasks == ("2.2.3",)))
    first, second = grader.grade(buggy).results_json(), grader.grade(buggy).results_json()
    assert first["tests"] == second["tests"] and first["score"] == second["score"] < sum(
        t["max_score"] for t in first["tests"]
    )


def test_results_json_follows_gradescopes_schema(reference_report, tmp_path):
    path = tmp_path / "results" / "results.json"
    reference_report.write(path)
    results = json.loads(path.read_text())
    # no execution_time (see policy); extra_data, Gradescope's free-form field, holds the notebook's verdict
    assert set(results) == {"score", "output", "stdout_visibility", "tests", "extra_data"}
    assert results["extra_data"]["notebook"]["flag"] == "missing"  # reference/ holds no notebook
    assert results["extra_data"]["provenance"]["fingerprints"][
        "grader"
    ]  # what graded it (test_provenance.py)
    assert "Notebook: the submission holds no diffusion.ipynb" in results["output"]
    assert isinstance(results["output"], str) and results["stdout_visibility"] == "hidden"
    numbers = [test["number"] for test in results["tests"]]
    assert len(numbers) == len(set(numbers)) == sum(len(g.checks) for g in all_groups())
    for test in results["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(test["score"] for test in results["tests"])


def test_every_check_carries_its_task_points_visibility_and_hint():
    for group in all_groups():
        for task in group.tasks:
            checks = [c for c in group.checks if c.task == task]
            assert sum(c.points for c in checks) == 10, task
            assert any(c.public for c in checks) and any(not c.public for c in checks), task
            assert all(c.hint and c.title and c.visibility in VISIBILITIES for c in checks)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_command_line_prints_a_table_writes_results_and_exits_0(tmp_path):
    results = tmp_path / "results.json"
    done = _cli(
        "grade", str(RELEASE_DIR), "--results", str(results), "--device", "cpu", "--groups", "scheduler"
    )
    assert done.returncode == 0, done.stderr
    assert "verdict" in done.stdout and "FAILED" in done.stdout and "not implemented" in done.stdout
    assert json.loads(results.read_text())["score"] == 0
    listing = _cli("list")
    assert listing.returncode == 0 and "2.2.3" in listing.stdout and "hidden" in listing.stdout


def test_the_command_line_exits_3_when_the_grader_cannot_run(tmp_path):
    results = tmp_path / "results.json"
    done = _cli("grade", str(REFERENCE_DIR), "--results", str(results), "--groups", "no-such-group")
    assert done.returncode == 3 and "autograder itself failed" in done.stderr
    assert json.loads(results.read_text())["score"] == 0  # results.json is written all the same
    assert _cli("grade").returncode == 2


def _zip(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, prefix + path.relative_to(folder).as_posix())
    return target


@pytest.mark.parametrize("layout", ["zip", "zip-in-folder", "folder-in-folder", "package-itself"])
def test_every_submission_layout_is_found(layout, tmp_path):
    folder = reference_copy(tmp_path / "submission")
    (folder / "diffusion.ipynb").write_text("{}")
    submission = {
        "zip": lambda: _zip(folder, tmp_path / "submission.zip"),
        "zip-in-folder": lambda: _zip(folder, tmp_path / "nested.zip", prefix="homework/"),
        "folder-in-folder": lambda: folder.parent,
        "package-itself": lambda: folder / "diffusion_models",
    }[layout]()
    report = shared_grader().grade(submission, ("sampling",))
    assert report.score == report.max_score, report.table()


def test_a_submission_without_the_package_scores_zero_and_says_why(tmp_path):
    (tmp_path / "notes.txt").write_text("oops")
    report = shared_grader().grade(tmp_path, ("scheduler",))
    assert report.score == 0 and "no diffusion_models/ folder" in report.notice
    assert all("collect_submission.sh" in o.feedback for o in report.outcomes)


def test_a_zip_that_escapes_its_folder_is_refused(tmp_path):
    target = tmp_path / "evil.zip"
    with zipfile.ZipFile(target, "w") as zipped:
        zipped.writestr("../outside.py", "print('escaped')")
        zipped.writestr("diffusion_models/__init__.py", "")
    report = shared_grader().grade(target, ("scheduler",))
    assert report.score == 0 and "outside the zip" in report.notice


@pytest.mark.parametrize(
    "escaping", ["../outside.py", "diffusion_models/../../outside.py", "/ABSOLUTE/outside.py"]
)
def test_a_zip_member_that_escapes_is_never_written(escaping, tmp_path):
    """Unpacked where the grader unpacks it (``workdir/unpacked``): nothing lands outside that folder."""
    escaping = escaping.replace("/ABSOLUTE", str(tmp_path))
    target = tmp_path / "zips" / "evil.zip"
    target.parent.mkdir()
    with zipfile.ZipFile(target, "w") as zipped:
        zipped.writestr("diffusion_models/__init__.py", "")
        zipped.writestr(escaping, "print('escaped')")
        zipped.writestr("diffusion_models/noise_scheduler.py", "")
    workdir = tmp_path / "grader" / "work"
    workdir.mkdir(parents=True)
    with pytest.raises(SubmissionError, match="outside the zip"):
        prepare_submission(target, workdir)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("outside.py")) == []
