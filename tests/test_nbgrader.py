"""The real nbgrader CLI from source to grades, in a fresh course directory: the solved submission gets
every autograded point, the untouched release none, each task exactly as `python -m autograder grade`
scores the same zip, and the feedback never shows hidden test code. And the standard path is safe: plain
`nbgrader generate_assignment` in a copy of the course repository releases no solution, and a student who
submits that release untouched scores 0."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from assignment_folders import CACHES, ZIP_NAME, collect, student_folder
from catalogue.mutants import BUGS, apply
from nbgrader.api import Gradebook

from kit import PACKAGE, RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR
from kit.markers import find_regions, to_stub
from kit.notebook_source import WRITTEN_POINTS, autograder_grading
from kit.release import graded_files

ASSIGNMENT = "diffusion"
STUDENTS = ("solved", "untouched", "partial")  # what each submits: see _submission
PARTIAL_BUG = next(bug for bug in BUGS if bug.name == "mean-no-sqrt")  # task 2.1.2: 5 of its 10 points
HIDDEN_CODE = ("HIDDEN TESTS", "task_score", "notebook_grading", "prepare_autograding")
NBGRADER = Path(sys.executable).parent / "nbgrader"  # the command instructors type


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DIFFUSION_NOTEBOOK_SMALL", "NBGRADER_EXECUTION")}
    env["CUDA_VISIBLE_DEVICES"] = ""  # grade on the CPU, as a course server without a GPU does
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    return env


def _nbgrader(course: Path, *args: str) -> str:
    result = subprocess.run(
        [str(NBGRADER), *args],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    assert result.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


def _autograder_points(zip_path: Path, results: Path) -> dict[str, float]:
    """Task -> points that `python -m autograder grade` gives the zip."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(zip_path),
            "--results",
            str(results),
            "--device",
            "cpu",
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    points: dict[str, float] = {}
    for test in json.loads(results.read_text())["tests"]:
        task = test["name"].split(":")[0].removeprefix("task ")
        points[task] = points.get(task, 0.0) + test["score"]
    return points


def _submission(student: str, where: Path) -> Path:
    """A student's folder: ``solved`` the reference, ``untouched`` the release, ``partial`` the reference
    with one catalogued bug (part of a task's points) and two graded files left as their stubs (a task at
    0, another whose other file is solved), so that the tasks do not all score all or nothing alike."""
    folder = student_folder(where, solved=student != "untouched")
    if student == "partial":
        apply(PARTIAL_BUG, folder / PACKAGE)
        touched = {f"{PACKAGE}/{edit.file}" for edit in PARTIAL_BUG.edits}
        others = [name for name in graded_files()[1:] if name not in touched]
        for stub in (others[0], others[-1]):
            shutil.copyfile(RELEASE_DIR / stub, folder / stub)
    return folder


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory) -> Path:
    """A course directory taken through db student add, generate_assignment, autograde,
    generate_feedback and export, with one submission per student of STUDENTS."""
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "course"
    shutil.copytree(SOURCE_DIR, course / "source" / ASSIGNMENT, ignore=CACHES)
    shutil.copy2(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for student in STUDENTS:
        _nbgrader(course, "db", "student", "add", student)
    _nbgrader(course, "generate_assignment", ASSIGNMENT)
    for student in STUDENTS:
        folder = _submission(student, root / student)
        collected = collect(folder)
        assert collected.returncode == 0, collected.stderr
        shutil.copy2(folder / ZIP_NAME, root / f"{student}.zip")
        with zipfile.ZipFile(folder / ZIP_NAME) as upload:
            upload.extractall(course / "submitted" / student / ASSIGNMENT)
    _nbgrader(course, "autograde", ASSIGNMENT)
    _nbgrader(course, "generate_feedback", ASSIGNMENT)
    _nbgrader(course, "export")
    return course


def _task_scores(course: Path, student: str) -> dict[str, float]:
    """Task -> nbgrader's auto score of its autograded cell (grade_id check_<task>)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {
            grade.name.removeprefix("check_").replace("_", "."): grade.auto_score
            for grade in notebook.grades
            if grade.name.startswith("check_")
        }


@pytest.mark.slow
def test_generate_assignment_writes_the_committed_student_notebook(graded_course):
    generated = graded_course / "release" / ASSIGNMENT / "diffusion.ipynb"
    assert generated.read_bytes() == (RELEASE_DIR / "diffusion.ipynb").read_bytes(), (
        "nbgrader generate_assignment and `python -m kit.release` disagree on the student notebook"
    )


@pytest.mark.slow
def test_the_solved_submission_gets_every_autograded_point_and_the_untouched_release_none(graded_course):
    autograded_total = sum(autograder_grading().points.values())
    with open(graded_course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows["solved"]["score"]) == pytest.approx(
        autograded_total
    )  # written answers: graded by hand
    assert float(rows["untouched"]["score"]) == 0.0
    assert float(rows["solved"]["max_score"]) == pytest.approx(
        autograded_total + sum(WRITTEN_POINTS.values())
    )


@pytest.mark.slow
def test_nbgrader_scores_each_task_as_the_autograder_scores_the_same_zip(graded_course, tmp_path):
    grading = autograder_grading()
    for student in STUDENTS:
        nbgrader_points = _task_scores(graded_course, student)
        autograder_points = _autograder_points(
            graded_course.parent / f"{student}.zip", tmp_path / f"{student}.json"
        )
        assert nbgrader_points.keys() == grading.points.keys()
        assert nbgrader_points == pytest.approx(autograder_points), student
        if student == "partial":  # the comparison can tell tasks apart, and fractions from all or nothing
            earned = set(autograder_points.values())
            assert 0 in earned and any(0 < p < max(grading.points.values()) for p in earned), earned
            assert len(earned) >= 4, earned


@pytest.mark.slow
def test_autograding_never_puts_a_solution_into_the_students_package(graded_course):
    autograded = graded_course / "autograded" / "untouched" / ASSIGNMENT / PACKAGE
    for name in graded_files()[1:]:  # the files with TODOs: the student's own, as released
        assert (autograded.parent / name).read_bytes() == (RELEASE_DIR / name).read_bytes(), name
    given = [p for p in (RELEASE_DIR / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts]
    for path in given:  # the given files: nbgrader's copies from source/ equal the release's
        assert (autograded / path.relative_to(RELEASE_DIR / PACKAGE)).read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_the_feedback_shows_the_verdicts_but_never_hidden_test_code(graded_course):
    for student in STUDENTS:
        html = (graded_course / "feedback" / student / ASSIGNMENT / "diffusion.html").read_text(
            encoding="utf-8"
        )
        for hidden in HIDDEN_CODE:
            assert hidden not in html, f"{student}'s feedback shows {hidden!r}"
        assert "Autograder, task 2.1.2" in html and "public_checks" in html


# ---------------------------------------------------------------------------------------- the config
def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", str(REPO_ROOT)).load_config()


def test_autograding_keeps_the_submitted_todo_files_and_nothing_else_of_theirs():
    excluded = _course_config().Autograde.exclude_overwriting[ASSIGNMENT]
    assert sorted(excluded) == sorted(name for name in graded_files() if name.endswith(".py"))


def test_a_warning_on_stderr_does_not_zero_an_autograded_cell_but_other_stderr_still_does():
    from nbformat.v4 import new_code_cell, new_output
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade

    def graded(*stderr: str):
        cell = new_code_cell("task_score('2.1.2')")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 10, "grade_id": "check"}
        cell.outputs = [new_output("stream", name="stderr", text=text) for text in stderr]
        cell.outputs += [new_output("stream", name="stdout", text="[PASS] ...\n")]
        cell.outputs += [new_output("execute_result", data={"text/plain": "7.5"}, execution_count=1)]
        return IgnorePattern(config=_course_config()).preprocess_cell(cell, {}, 0)[0]

    warnings = (
        "/x/torch/nn/modules/module.py:12: UserWarning: something harmless\n  warnings.warn(\n",
        "/x/hypothesis/core.py:3: HypothesisDeprecationWarning: soon\n",
        "training: 100%|##########| 6/6 [00:01<00:00, 5.2step/s]\n",
    )
    assert determine_grade(graded(*warnings)) == (7.5, 10.0)
    assert determine_grade(graded("my debug print\n")) == (0, 10.0)


# ------------------------------------------------------------------------- the standard nbgrader path
def _solution_lines() -> set[str]:
    """The lines that only the solutions hold: inside a solution region of solutions/, in no stub, and
    more than a bracket, a bare call or a keyword passed on (``p_uncond=p_uncond,``)."""
    inside: set[str] = set()
    elsewhere: set[str] = set()
    for path in sorted((SOLUTIONS_DIR / PACKAGE).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for region in find_regions(text, path):
            inside.update(line.strip() for line in lines[region.begin : region.end - 1])
        elsewhere.update(line.strip() for line in to_stub(text, path).splitlines())
    return {line for line in inside - elsewhere if len(line) >= 20 and not re.fullmatch(r"(\w+)=\1,?", line)}


def _text_lines(path: Path) -> list[str]:
    """A release file's lines; a notebook's are its cells' lines."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [line.strip() for cell in cells for line in "".join(cell["source"]).splitlines()]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def plain_course(tmp_path_factory) -> Path:
    """A copy of the course repository as an instructor clones it, released with plain
    `nbgrader generate_assignment diffusion`; one student, `stub`, submits that release untouched and
    is autograded with plain `nbgrader autograde diffusion`."""
    root = tmp_path_factory.mktemp("plain-nbgrader")
    course = root / "course"
    shutil.copytree(
        REPO_ROOT,
        course,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "out",
            "data",
            "build",
            "dist",
            "*.egg-info",
            "gradebook.db",
            ".ruff_cache",
            "__pycache__",
            "*.pyc",
            ".ipynb_checkpoints",
            ".pytest_cache",
            ".hypothesis",
        ),
    )
    assert (course / "solutions" / PACKAGE).is_dir()  # the solutions are there, beside nbgrader's source/
    shutil.rmtree(course / "release")  # released afresh by nbgrader, not the committed copy
    _nbgrader(course, "db", "student", "add", "stub")
    _nbgrader(course, "generate_assignment", ASSIGNMENT)
    folder = root / "stub"
    shutil.copytree(course / "release" / ASSIGNMENT, folder)
    collected = collect(folder)
    assert collected.returncode == 0, collected.stderr
    with zipfile.ZipFile(folder / ZIP_NAME) as upload:
        upload.extractall(course / "submitted" / "stub" / ASSIGNMENT)
    _nbgrader(course, "autograde", ASSIGNMENT)
    return course


def _leaks(release: Path, folders: set[str], inside: bool) -> dict[str, list[str]]:
    """Release file -> its lines that hold a solution line, a solution marker, a hidden test or a model
    answer; only the files in (``inside``) or outside the top-level ``folders``."""
    solution_lines = _solution_lines()
    assert len(solution_lines) > 50  # the comparison has teeth: every task's code is in it
    leaks = {}
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        name = path.relative_to(release).as_posix()
        if (name.split("/")[0] in folders) != inside:
            continue
        markers = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "Model answer")
        found = [
            line
            for line in _text_lines(path)
            if line in solution_lines or any(marker in line for marker in markers)
        ]
        if found:
            leaks[name] = found[:3]
    return leaks


@pytest.mark.slow
def test_plain_generate_assignment_releases_no_solution(plain_course):
    leaks = _leaks(plain_course / "release" / ASSIGNMENT, {"public_checks"}, inside=False)
    assert not leaks, f"nbgrader generate_assignment released solutions: {leaks}"


@pytest.mark.slow
def test_plain_generate_assignment_releases_public_checks_without_a_solution_line(plain_course):
    leaks = _leaks(plain_course / "release" / ASSIGNMENT, {"public_checks"}, inside=True)
    assert not leaks, f"the released public checks hold solution lines: {leaks}"


@pytest.mark.slow
def test_plain_generate_assignment_writes_the_committed_release(plain_course):
    def tree(root: Path) -> dict[str, bytes]:
        files = (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}

    generated, committed = tree(plain_course / "release" / ASSIGNMENT), tree(RELEASE_DIR)
    assert sorted(generated) == sorted(committed)
    assert [name for name in generated if generated[name] != committed[name]] == [], (
        "nbgrader generate_assignment and `make release` disagree"
    )


@pytest.mark.slow
def test_the_untouched_plain_release_scores_zero_under_nbgrader_autograde(plain_course):
    with Gradebook(f"sqlite:///{plain_course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "stub")
        assert submission.max_score == pytest.approx(
            sum(autograder_grading().points.values()) + sum(WRITTEN_POINTS.values())
        )
        assert submission.score == 0.0, {
            grade.name: grade.auto_score for grade in submission.notebooks[0].grades if grade.auto_score
        }
