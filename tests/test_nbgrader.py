"""The real nbgrader CLI from roster to grades, driven by the Makefile's targets in a copy of the course
repository as an instructor clones it (docs/instructors.md), with four students in one autograde run:
the solved submission gets every autograded point, the untouched release none, a buggy one and a forging
one (its package patches the kit's grading helpers, prints fake results and makes the kernel return
values; its notebook's cells return big numbers) exactly what `python -m autograder grade-all` gives
their code (the forger's without its forgery). The feedback never shows hidden test code, server paths
or hypothesis's database. And the standard path is safe: plain `nbgrader generate_assignment` releases
no solution and writes the committed release."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assignment_folders import CACHES, ZIP_NAME, collect
from catalogue.grading import mutated
from catalogue.mutants import BUGS
from nbgrader.api import Gradebook

from kit import PACKAGE, RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR
from kit.markers import find_regions, to_stub
from kit.notebook_source import WRITTEN_POINTS, autograder_grading
from kit.release import graded_files

ASSIGNMENT = "diffusion"
# student id -> the bugs of tests/catalogue/mutants.py in the reference they submit; `stub` submits the
# release untouched, `forger` also forges its scores (FORGERY)
STUDENTS = {"solved": (), "buggy": ("sigma-beta",), "forger": ("no-clamp",), "stub": ()}
HIDDEN_CODE = ("HIDDEN TESTS", "recorded_by_nbgrader", "nbgrader.cells", "prepare_autograding")
COPY_IGNORED = (
    ".git",
    ".venv",
    "out",
    "data",
    "build",
    "dist",
    "*.egg-info",
    "gradebook.db",
    "submitted",
    "autograded",
    "feedback",
    ".ruff_cache",
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".hypothesis",
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DIFFUSION_NOTEBOOK_SMALL", "NBGRADER_EXECUTION")}
    env["CUDA_VISIBLE_DEVICES"] = ""  # grade on the CPU, as a course server without a GPU does
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    return env


FORGERY = """

# ---- a forgery: the grading helpers patched, fake results printed, values returned from every cell
try:
    import autograder.nbgrader.cells as _grading

    _grading.recorded_by_nbgrader = lambda task: "full marks"  # not a number: nbgrader's full points
    _grading.task_score = lambda task, *args, **kwargs: "full marks"
    _grading.prepare_autograding = lambda: None
except Exception:
    pass
print("Autograder, task 2.3.2: 10/10 points\\n[PASS] 10/10  hidden  everything")
try:
    from IPython import get_ipython

    _shell = get_ipython()
    if _shell is not None:
        _shell.events.register("post_run_cell", lambda result: _shell.displayhook("full marks"))
except Exception:
    pass
"""


def _forged_notebook(path: Path) -> None:
    """Every code cell of the student's notebook ends by returning a big number."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = "".join(cell["source"]) + "\n1000000"
    path.write_text(json.dumps(notebook), encoding="utf-8")


def _make(course: Path, target: str, **variables: str) -> str:
    """`make TARGET VAR=...` in the course, with the kit's .venv (the copy has none of its own)."""
    assignments = [f"{name}={value}" for name, value in variables.items()]
    result = subprocess.run(
        ["make", "--no-print-directory", f"VENV={Path(sys.executable).parent.parent}", target, *assignments],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


def _submissions(root: Path, release: Path) -> tuple[Path, Path]:
    """The students' zips as the LMS hands them over (``zips/<student>.zip``) and, for the autograder, the
    same zips with the forger's code as it is without its forgery (``expected/``)."""
    zips, expected = root / "zips", root / "expected"
    zips.mkdir()
    expected.mkdir()
    for student in STUDENTS:
        folder = root / "students" / student
        shutil.copytree(release, folder, ignore=CACHES)
        if student != "stub":  # the reference, with the student's bugs (tests/catalogue/mutants.py)
            shutil.rmtree(folder / PACKAGE)
            mutated(folder, *(next(m for m in BUGS if m.name == name) for name in STUDENTS[student]))
        collected = collect(folder)
        assert collected.returncode == 0, collected.stderr
        shutil.copy2(folder / ZIP_NAME, expected / f"{student}.zip")
        if student == "forger":
            with open(folder / PACKAGE / "noise_scheduler.py", "a", encoding="utf-8") as handle:
                handle.write(FORGERY)
            _forged_notebook(folder / "diffusion.ipynb")
            collected = collect(folder)
            assert collected.returncode == 0, collected.stderr
        shutil.copy2(folder / ZIP_NAME, zips / f"{student}.zip")
    return zips, expected


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course repository as an instructor clones it, taken through the guide's commands
    (docs/instructors.md): `make nbgrader-setup ROSTER=students.csv` (plain `nbgrader generate_assignment
    diffusion --force`, so the release is nbgrader's own, and the roster), `make nbgrader-collect
    ZIPS=...`, `make nbgrader-autograde` (one run for every student of STUDENTS), `make
    nbgrader-feedback` and `make nbgrader-export`."""
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "course"
    shutil.copytree(REPO_ROOT, course, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    assert (course / "solutions" / PACKAGE).is_dir()  # the solutions are there, beside nbgrader's source/
    shutil.rmtree(course / "release")  # released afresh by nbgrader, not the committed copy
    roster = root / "students.csv"
    roster.write_text(
        "id,first_name,last_name,email\n"
        + "".join(f"{s},{s.title()},Student,{s}@example.org\n" for s in STUDENTS),
        encoding="utf-8",
    )
    _make(course, "nbgrader-setup", ROSTER=str(roster))
    zips, _ = _submissions(root, course / "release" / ASSIGNMENT)
    _make(course, "nbgrader-collect", ZIPS=str(zips))
    started = time.monotonic()
    log = _make(course, "nbgrader-autograde")
    (root / "autograde.log").write_text(log, encoding="utf-8")
    print(f"nbgrader autograde: {(time.monotonic() - started) / len(STUDENTS):.1f} s per submission")
    _make(course, "nbgrader-feedback")
    _make(course, "nbgrader-export")
    return course


@pytest.fixture(scope="module")
def expected_points(course, tmp_path_factory) -> dict[str, dict[str, float]]:
    """Student -> task -> points that `python -m autograder grade-all` gives the zips of ``expected/``
    (the forger's without its forgery)."""
    out = tmp_path_factory.mktemp("grade-all")
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "grade-all", str(course.parent / "expected"), "--out", str(out)]
        + ["--workers", "1", "--device", "cpu", "--no-plot"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected: dict[str, dict[str, float]] = {}
    for student in STUDENTS:
        points = expected.setdefault(student, {})
        results = json.loads((out / "results" / student / "results.json").read_text())
        for test in results["tests"]:
            task = test["name"].split(":")[0].removeprefix("task ")
            points[task] = points.get(task, 0.0) + test["score"]
    return expected


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
def test_the_roster_and_the_assignment_are_registered_in_one_command(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(STUDENTS)
        assert gradebook.find_student("solved").email == "solved@example.org"
        assert [n.name for n in gradebook.find_assignment(ASSIGNMENT).notebooks] == [ASSIGNMENT]
    for student in STUDENTS:
        assert (course / "submitted" / student / ASSIGNMENT / "diffusion.ipynb").is_file(), student


@pytest.mark.slow
def test_the_solved_submission_gets_every_autograded_point_and_the_untouched_release_none(course):
    autograded_total = sum(autograder_grading().points.values())
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == sorted(STUDENTS)
    assert float(rows["solved"]["score"]) == pytest.approx(autograded_total)  # written answers: by hand
    assert float(rows["stub"]["score"]) == 0.0
    assert float(rows["solved"]["max_score"]) == pytest.approx(
        autograded_total + sum(WRITTEN_POINTS.values())
    )


@pytest.mark.slow
@pytest.mark.parametrize("student", ["solved", "buggy", "stub"])
def test_nbgrader_scores_each_task_as_the_autograder_scores_the_same_zip(course, expected_points, student):
    nbgrader_points = _task_scores(course, student)
    assert nbgrader_points.keys() == autograder_grading().points.keys()
    assert nbgrader_points == pytest.approx(expected_points[student])
    if student == "buggy":  # the mutant costs points in its own task only
        assert [t for t, p in nbgrader_points.items() if p < autograder_grading().points[t]] == ["2.1.2"]


@pytest.mark.slow
def test_a_forging_submission_scores_what_its_code_scores_without_the_forgery(course, expected_points):
    forged = _task_scores(course, "forger")
    assert forged == pytest.approx(expected_points["forger"])
    assert forged["2.3.2"] < autograder_grading().points["2.3.2"]  # its bug still costs points
    html = (course / "feedback" / "forger" / ASSIGNMENT / "diffusion.html").read_text(encoding="utf-8")
    assert "Autograder, task 2.3.2: 10/10" in html  # its fake results are shown, as its own output
    verdict = f"Autograder, task 2.3.2: {forged['2.3.2']:g}/10"
    assert verdict in html  # and the grader's, which is what counts


@pytest.mark.slow
def test_autograding_never_puts_a_solution_into_the_students_package(course):
    autograded = course / "autograded" / "stub" / ASSIGNMENT / PACKAGE
    for name in graded_files()[1:]:  # the files with TODOs: the student's own, as released
        assert (autograded.parent / name).read_bytes() == (RELEASE_DIR / name).read_bytes(), name
    given = [p for p in (RELEASE_DIR / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts]
    for path in given:  # the given files: nbgrader's copies from source/ equal the release's
        assert (autograded / path.relative_to(RELEASE_DIR / PACKAGE)).read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_the_feedback_shows_the_verdicts_but_never_hidden_test_code_or_server_paths(course):
    server_paths = {
        str(course.parent),
        str(Path(sys.prefix)),
        str(REPO_ROOT),
        "/tmp/",
        str(Path.home()) + "/",
    }
    for student in STUDENTS:
        folder = course / "feedback" / student / ASSIGNMENT
        html = (folder / "diffusion.html").read_text(encoding="utf-8")
        for hidden in HIDDEN_CODE:
            assert hidden not in html, f"{student}'s feedback shows {hidden!r}"
        for path in server_paths:
            assert path not in html, f"{student}'s feedback shows the server path {path}"
        assert "Autograder, task 2.1.2" in html and "public_checks" in html
        assert not list(folder.rglob(".hypothesis")), f"{student}'s feedback holds hypothesis's database"


def test_nbgraders_student_data_is_never_committed():
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "--no-index",
            "gradebook.db",
            "submitted/a/b",
            "autograded/a/b",
            "feedback/a/b",
        ]
        + [".nbgrader.log", "grades.csv"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert len(ignored.stdout.split()) == 6, ignored.stdout + ignored.stderr


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


def test_autograde_scores_come_from_the_grading_before_the_kernel_not_from_its_outputs(tmp_path):
    """WriteAutograderScores in isolation: whatever a check cell's kernel output says (a value, an error,
    stderr), nbgrader's determine_grade reads the grader's points; absolute paths are gone."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, SaveAutoGrades
    from nbgrader.utils import determine_grade

    from autograder.checks import all_groups
    from autograder.nbgrader.kernel import FencedExecute
    from autograder.nbgrader.scores import REPORT, GradeSubmittedPackage, WriteAutograderScores
    from autograder.public.core import Outcome
    from autograder.report import Report

    chosen = _course_config().Autograde.autograde_preprocessors
    assert chosen.index(GradeSubmittedPackage) < chosen.index(FencedExecute)  # the kernel runs fenced
    assert chosen.index(WriteAutograderScores) == chosen.index(SaveAutoGrades) - 1
    assert set(Autograde.class_traits()["autograde_preprocessors"].default()) - {Execute} <= set(chosen)
    assert Execute not in chosen

    folder = tmp_path / "course" / "autograded" / "alice" / ASSIGNMENT
    outcomes = [
        Outcome(check, check.task != "2.1.2" or check.public, "wrong")
        for group in all_groups()
        for check in group.checks
    ]
    report = Report(outcomes, "cpu", 1.0)
    cell = new_code_cell("recorded_by_nbgrader('2.1.2')")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 10, "grade_id": "check_2_1_2"}
    cell.outputs = [
        new_output("stream", name="stdout", text=f"[PASS] everything, from {folder}/diffusion_models/x.py\n"),
        new_output("execute_result", data={"text/plain": "'full marks'"}, execution_count=3),
        new_output("stream", name="stderr", text="oops\n"),
        new_output("error", ename="RuntimeError", evalue="no", traceback=[f"File {tmp_path}/course/kit.py"]),
    ]
    resources = {"metadata": {"path": str(folder)}, REPORT: report}
    notebook, _ = WriteAutograderScores().preprocess(new_notebook(cells=[cell]), resources)
    graded = notebook.cells[0]
    earned = sum(o.score for o in outcomes if o.check.task == "2.1.2")
    assert 0 < earned < 10
    assert determine_grade(graded) == (earned, 10.0)
    text = "".join(o.get("text", "") for o in graded.outputs)
    assert f"Autograder, task 2.1.2: {earned:g}/10" in text and "oops" in text and "[PASS] everything" in text
    assert str(tmp_path) not in text and "./diffusion_models/x.py" in text and "<course>/kit.py" in text
    assert [o.output_type for o in graded.outputs].count("execute_result") == 1

    with pytest.raises(RuntimeError, match="GradeSubmittedPackage"):
        WriteAutograderScores().preprocess(new_notebook(cells=[cell]), {"metadata": {"path": str(folder)}})


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
def test_plain_generate_assignment_releases_no_solution(course):
    leaks = _leaks(course / "release" / ASSIGNMENT, {"public_checks"}, inside=False)
    assert not leaks, f"nbgrader generate_assignment released solutions: {leaks}"


@pytest.mark.slow
def test_plain_generate_assignment_releases_public_checks_without_a_solution_line(course):
    leaks = _leaks(course / "release" / ASSIGNMENT, {"public_checks"}, inside=True)
    assert not leaks, f"the released public checks hold solution lines: {leaks}"


@pytest.mark.slow
def test_plain_generate_assignment_writes_the_committed_release(course):
    def tree(root: Path) -> dict[str, bytes]:
        files = (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}

    generated, committed = tree(course / "release" / ASSIGNMENT), tree(RELEASE_DIR)
    assert sorted(generated) == sorted(committed)
    assert [name for name in generated if generated[name] != committed[name]] == [], (
        "nbgrader generate_assignment and `make release` disagree"
    )
