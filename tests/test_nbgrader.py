"""The real nbgrader CLI from roster to grades: every command of docs/instructors.md as written, in a
clone of the course repository, with four students in one autograde run:
the solved submission gets every autograded point, the untouched release none, a buggy one and a forging
one (its package patches the kit's grading helpers, prints fake results and makes the kernel return
values; its notebook's cells return big numbers) exactly what `python -m autograder grade-all` gives
their code (the forger's without its forgery). Three more, solved, test the notebook on every route:
`figures` answered every question and its notebook shows a figure of its own in each figure cell,
`corrupted` sent a notebook cut off by a bad save, and `solved` left every question unanswered;
nbgrader-collect, nbgrader-autograde, grade-all and the Gradescope runner give them the same autograded
points and each says what is wrong with the notebook, in words. The feedback never shows hidden test code, server paths
or hypothesis's database. A fifth, hostile, submission autogrades afterwards: its code, in the notebook's
fenced kernel, cannot write the gradebook, read another student's folder, change the kit or open a
socket, and nothing outside its own autograded folder changes. And the standard path is safe: plain
`nbgrader generate_assignment` releases no solution and writes the committed release."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import kernel_fences
import pytest
from assignment_folders import CACHES, ZIP_NAME, collect
from catalogue.grading import mutated
from catalogue.mutants import BUGS
from nbgrader.api import Gradebook, MissingEntry
from student_notebooks import corrupt, figure_cells, filled, png_text, write

from kit import PACKAGE, RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR
from kit.markers import find_regions, to_stub
from kit.notebook_source import WRITTEN_POINTS, autograder_grading
from kit.release import graded_files

ASSIGNMENT = "diffusion"
GUIDE = REPO_ROOT / "docs" / "instructors.md"
NBGRADER_STEPS = ("nbgrader-autograde", "nbgrader-feedback", "nbgrader-export")  # after setup, collect
# student id -> the bugs of tests/catalogue/mutants.py in the reference they submit; `stub` submits the
# release untouched, `forger` also forges its scores (FORGERY)
STUDENTS = {
    "solved": (),
    "buggy": ("sigma-beta",),
    "forger": ("no-clamp",),
    "stub": (),
    "figures": (),
    "corrupted": (),
}
# The notebook each hands in: the release as it is (unanswered, never run) but for these two
NOTEBOOK_STUDENTS = ("corrupted", "solved", "figures")  # through every route: unreadable, unanswered, fine
FIGURE_SEED = 4242  # the figures student's PNGs (tests/student_notebooks.py: png(FIGURE_SEED + n))
RAN_MARKER = "a_student_cell_ran"  # a figure cell of the figures student writes it if it is ever run
HIDDEN_CODE = ("HIDDEN TESTS", "recorded_by_nbgrader", "nbgrader.cells", "prepare_autograding")


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


def _notebook_of(student: str, folder: Path) -> None:
    """The figures student's notebook: every answer written, a figure of its own in each figure cell, and a
    figure cell that leaves RAN_MARKER behind if anything runs it."""
    if student in ("figures", "corrupted"):
        notebook = filled(seed=FIGURE_SEED)
        cell = figure_cells(notebook)[0]
        cell["source"] += f"\nopen({RAN_MARKER!r}, 'w').write('this cell ran')"
        write(notebook, folder / "diffusion.ipynb")


def _corrupt_zip(archive: Path) -> None:
    """The zip's notebook cut off as a bad save leaves it (collect_submission.sh refuses to zip one)."""
    unpacked = archive.parent / f"{archive.stem}-unpacked"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(unpacked)
    corrupt(unpacked / "diffusion.ipynb")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in unpacked.rglob("*") if p.is_file()):
            zipped.write(path, path.relative_to(unpacked).as_posix())
    shutil.rmtree(unpacked)


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


def _submissions(root: Path, release: Path, zips: Path) -> None:
    """The students' zips as the LMS hands them over (``zips/<student>.zip``) and, for the autograder, the
    same zips with the forger's code as it is without its forgery (``root/expected/``)."""
    expected = root / "expected"
    zips.mkdir()
    expected.mkdir()
    for student in STUDENTS:
        folder = root / "students" / student
        shutil.copytree(release, folder, ignore=CACHES)
        if student != "stub":  # the reference, with the student's bugs (tests/catalogue/mutants.py)
            shutil.rmtree(folder / PACKAGE)
            mutated(folder, *(next(m for m in BUGS if m.name == name) for name in STUDENTS[student]))
        _notebook_of(student, folder)
        collected = collect(folder)
        assert collected.returncode == 0, collected.stderr
        if student == "corrupted":
            _corrupt_zip(folder / ZIP_NAME)
        shutil.copy2(folder / ZIP_NAME, expected / f"{student}.zip")
        if student == "forger":
            with open(folder / PACKAGE / "noise_scheduler.py", "a", encoding="utf-8") as handle:
                handle.write(FORGERY)
            _forged_notebook(folder / "diffusion.ipynb")
            collected = collect(folder)
            assert collected.returncode == 0, collected.stderr
        shutil.copy2(folder / ZIP_NAME, zips / f"{student}.zip")


def guide_commands() -> list[str]:
    """Every line of the ```bash blocks of docs/instructors.md, in order: what an instructor types."""
    blocks = re.findall(r"^```bash\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.S | re.M)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _clone(course: Path) -> None:
    """The course folder as `git clone` gives it: the files git tracks, with this working tree's changes
    and its new files that git does not ignore (so uncommitted work is what the test runs), and nothing
    that git ignores (.venv, gradebook.db, submitted/, ...)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not in the clone
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, course / name, follow_symlinks=False)


def _run_guide(course: Path, commands: list[str]) -> dict[str, str]:
    """Run the guide's commands in ``course`` with the kit's .venv (``VENV=``, passed in MAKEFLAGS as if
    typed on each make's command line); each command -> its output."""
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed"
    if stamp.exists():  # `make setup` then finds the venv installed from this pyproject.toml
        os.utime(course / "pyproject.toml", (stamp.stat().st_mtime,) * 2)
    env = _env() | {"MAKEFLAGS": f"VENV={venv}"}
    outputs = {}
    for command in commands:
        if command.startswith("make setup") and not stamp.exists():
            continue  # a venv not made by `make setup`: make would install into it
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", command], cwd=course, capture_output=True, text=True, timeout=900, env=env
        )
        outputs[command] = done.stdout + done.stderr
        assert done.returncode == 0, f"{command} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        if "autograde" in command:
            seconds = (time.monotonic() - started) / len(STUDENTS)
            print(f"{command}: {seconds:.1f} s per submission")
    return outputs


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A clone of the course repository taken through every command of docs/instructors.md as written,
    from `make setup` (the kit's .venv, already installed) and `make nbgrader-setup ROSTER=students.csv`
    (plain `nbgrader generate_assignment diffusion --force`, so the release is nbgrader's own, and the
    roster) to `make nbgrader-collect ZIPS=zips`, `make nbgrader-autograde` (one run for every student of
    STUDENTS), `make nbgrader-feedback`, `make nbgrader-export` and `make grade-all`."""
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "course"
    commands = guide_commands()
    assert commands[0].startswith("git clone") and commands[0].endswith("cd course"), commands[0]
    _clone(course)
    assert (course / "solutions" / PACKAGE).is_dir()  # the solutions are there, beside nbgrader's source/
    shutil.rmtree(course / "release")  # released afresh by nbgrader, not the committed copy
    variables = dict(re.findall(r"\b(ROSTER|ZIPS)=(\S+)", " ".join(commands)))
    steps = ("nbgrader-setup ROSTER=", "nbgrader-collect ZIPS=") + NBGRADER_STEPS
    found = [next((i for i, c in enumerate(commands) if f"make {step}" in c), -1) for step in steps]
    assert -1 not in found and found == sorted(found), f"the guide's nbgrader steps changed: {commands}"
    (course / variables["ROSTER"]).write_text(
        "id,first_name,last_name,email\n"
        + "".join(f"{s},{s.title()},Student,{s}@example.org\n" for s in STUDENTS),
        encoding="utf-8",
    )
    _submissions(root, RELEASE_DIR, course / variables["ZIPS"])  # students had the committed release
    outputs = _run_guide(course, commands[1:])
    (root / "autograde.log").write_text(
        "".join(out for command, out in outputs.items() if "autograde" in command), encoding="utf-8"
    )
    (root / "guide-outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    return course


def _guide_output(course: Path, step: str) -> str:
    """What the guide's `make <step>` printed in the course fixture."""
    outputs = json.loads((course.parent / "guide-outputs.json").read_text(encoding="utf-8"))
    return next(out for command, out in outputs.items() if f"make {step}" in command)


@pytest.fixture(scope="module")
def grade_all(course, tmp_path_factory) -> Path:
    """`python -m autograder grade-all` over the zips of ``expected/`` (the forger's without its forgery):
    its output folder."""
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
    return out


def _points_by_task(results: dict) -> dict[str, float]:
    """Task -> the points of a results.json's tests."""
    points: dict[str, float] = {}
    for test in results["tests"]:
        task = test["name"].split(":")[0].removeprefix("task ")
        points[task] = points.get(task, 0.0) + test["score"]
    return points


@pytest.fixture(scope="module")
def expected_points(grade_all) -> dict[str, dict[str, float]]:
    """Student -> task -> points that `python -m autograder grade-all` gives the zips of ``expected/``."""
    return {
        student: _points_by_task(json.loads((grade_all / "results" / student / "results.json").read_text()))
        for student in STUDENTS
    }


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
        assert sorted(s.id for s in gradebook.students if s.id != HOSTILE) == sorted(STUDENTS)
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
@pytest.mark.parametrize("student", ["solved", "buggy", "stub", "figures", "corrupted"])
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
        for noise in ("Fontconfig", "not a writable"):
            assert noise not in html, f"{student}'s feedback shows {noise!r}"


# ------------------------------------------------------------------ the notebook, on every route
NOTEBOOK_FLAGS = {"corrupted": "unreadable", "solved": "incomplete", "figures": "ok"}
NOTEBOOK_WORDS = {  # what every route says of each student's notebook
    "corrupted": "diffusion.ipynb is not a readable notebook (invalid JSON at line",
    "solved": "5 written answer(s) not answered",
    "figures": None,
}


@pytest.fixture(scope="module")
def gradescope_results(course) -> dict[str, dict]:
    """Student -> results.json of `make gradescope-test SUBMISSION=zips/<student>.zip` (the Gradescope
    runner, set up and run as Gradescope would) for the students of NOTEBOOK_STUDENTS."""
    results = {}
    for student in NOTEBOOK_STUDENTS:
        _make(course, "gradescope-test", SUBMISSION=str(course / "zips" / f"{student}.zip"))
        path = course / "out" / "gradescope-test" / "results" / "results.json"
        results[student] = json.loads(path.read_text(encoding="utf-8"))
    return results


def _collect_lines(course: Path, student: str) -> list[str]:
    """What `make nbgrader-collect` printed about ``student``: its line and the warnings under it."""
    lines = _guide_output(course, "nbgrader-collect").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{student}: "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return lines[start:end]


def _autograded_notebook(course: Path, student: str) -> dict:
    path = course / "autograded" / student / ASSIGNMENT / "diffusion.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("student", NOTEBOOK_STUDENTS)
def test_every_route_gives_the_same_autograded_points_and_says_whats_wrong_with_the_notebook(
    course, grade_all, gradescope_results, student
):
    flag, words = NOTEBOOK_FLAGS[student], NOTEBOOK_WORDS[student]
    solved = autograder_grading().points
    # the same autograded points: nbgrader's cells, grade-all, the Gradescope runner: all of them
    assert _task_scores(course, student) == pytest.approx(solved)
    graded = json.loads((grade_all / "results" / student / "results.json").read_text(encoding="utf-8"))
    assert _points_by_task(graded) == pytest.approx(solved)
    assert _points_by_task(gradescope_results[student]) == pytest.approx(solved)
    # nbgrader-collect: a warning under the student (none when fine); the batch went on
    collected = "\n".join(_collect_lines(course, student))
    assert "unpacked into submitted/" in collected
    assert (words in collected) if words else ("warning" not in collected), collected
    # grade-all: grades.csv's notebook column and results.json; Gradescope: results.json
    with open(grade_all / "grades.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["submission"] == student)
    assert row["status"] == "graded" and row["notebook"] == flag
    for results in (graded, gradescope_results[student]):
        assert results["extra_data"]["notebook"]["flag"] == flag
        assert (words in results["output"]) if words else ("Notebook: readable" in results["output"])
    if words:
        assert words in row["notebook_problems"]
    # nbgrader autograde: the verdict as the notebook's first cell, formgrader's flag, the export
    first = _autograded_notebook(course, student)["cells"][0]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        flagged = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).flagged
    assert flagged == bool(words)
    if words:
        assert first["id"] == "notebook-verdict" and words in "".join(first["source"])
        assert f"Notebook check: {flag}" in "".join(first["source"])
    else:
        assert first.get("id") != "notebook-verdict"
    with open(course / "grades.csv", newline="") as handle:
        exported = next(r for r in csv.DictReader(handle) if r["student_id"] == student)
    assert float(exported["autograded_score"]) == pytest.approx(sum(solved.values()))
    assert float(exported["written_max"]) == pytest.approx(sum(WRITTEN_POINTS.values()))
    assert exported["flagged"] == str(bool(words)).lower()


@pytest.mark.slow
def test_an_unreadable_notebook_is_kept_for_the_ta_and_the_released_one_autograded_in_its_place(course):
    submitted = course / "submitted" / "corrupted" / ASSIGNMENT
    with zipfile.ZipFile(course / "zips" / "corrupted.zip") as zipped:
        sent = zipped.read("diffusion.ipynb")
    assert (submitted / "diffusion.ipynb.unreadable").read_bytes() == sent
    assert (
        course / "autograded" / "corrupted" / ASSIGNMENT / "diffusion.ipynb.unreadable"
    ).read_bytes() == sent
    html = (course / "feedback" / "corrupted" / ASSIGNMENT / "diffusion.html").read_text(encoding="utf-8")
    assert "Notebook check: unreadable" in html and "diffusion.ipynb.unreadable" in html


@pytest.mark.slow
def test_the_students_own_figures_reach_formgrader_and_the_feedback_and_no_student_cell_runs(course):
    sent = [png_text(FIGURE_SEED + n) for n in range(len(figure_cells(filled())))]
    autograded = _autograded_notebook(course, "figures")
    shown = [o["data"]["image/png"] for c in figure_cells(autograded) for o in c["outputs"] if "data" in o]
    assert [text.replace("\n", "") for text in shown] == sent  # every figure, byte for byte, in its cell
    html = (course / "feedback" / "figures" / ASSIGNMENT / "diffusion.html").read_text(encoding="utf-8")
    missing = [n for n, text in enumerate(sent) if text not in html]
    assert not missing, f"figures {missing} of the student's are not in the feedback"
    assert not (course / "autograded" / "figures" / ASSIGNMENT / RAN_MARKER).exists(), "a student cell ran"
    log = (course.parent / "autograde.log").read_text(encoding="utf-8")
    assert "Kernel of figures fenced:" in log  # what did run (the check cells) ran in the fenced kernel


@pytest.mark.slow
def test_the_feedback_is_written_again_after_a_manual_grade_with_its_points_and_comment(course):
    comment = "TA: the thresholded rows are sharper; say why (eq. 15)."
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("answer_thresholding", ASSIGNMENT, ASSIGNMENT, "figures")
        grade.manual_score = 2.5
        gradebook.find_comment(
            "answer_thresholding", ASSIGNMENT, ASSIGNMENT, "figures"
        ).manual_comment = comment
        gradebook.db.commit()
    _make(course, "nbgrader-feedback")
    html = (course / "feedback" / "figures" / ASSIGNMENT / "diffusion.html").read_text(encoding="utf-8")
    assert comment in html
    assert re.search(r"Score:\s*2\.5\s*/\s*3", re.sub(r"<[^>]+>", " ", html)), "the manual score is not shown"


# ------------------------------------------------------------------ nbgrader autograde, in parallel
PARALLEL = ("solved", "buggy", "corrupted")  # graded again with WORKERS=2, beside BROKEN
BROKEN = "broken"  # solved, but its package ends the interpreter on import: nbgrader fails it
SUBMISSION_ROWS = {  # a student's rows of the gradebook, with names in place of nbgrader's uuids
    "student": "SELECT id, first_name, last_name, email, lms_user_id FROM student WHERE id = ?",
    "submission": "SELECT timestamp, extension FROM submitted_assignment WHERE student_id = ?",
    "notebook": "SELECT n.name, sn.flagged, sn.late_submission_penalty FROM submitted_notebook sn "
    "JOIN notebook n ON sn.notebook_id = n.id JOIN submitted_assignment s ON sn.assignment_id = s.id "
    "WHERE s.student_id = ?",
    "grade": "SELECT c.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade FROM grade g "
    "JOIN base_cell c ON g.cell_id = c.id JOIN submitted_notebook sn ON g.notebook_id = sn.id "
    "JOIN submitted_assignment s ON sn.assignment_id = s.id WHERE s.student_id = ?",
    "comment": "SELECT c.name, m.auto_comment, m.manual_comment FROM comment m "
    "JOIN base_cell c ON m.cell_id = c.id JOIN submitted_notebook sn ON m.notebook_id = sn.id "
    "JOIN submitted_assignment s ON sn.assignment_id = s.id WHERE s.student_id = ?",
}


def _student_rows(gradebook: Path, student: str) -> dict[str, list[tuple]]:
    """Table -> ``student``'s rows in ``gradebook``, sorted, every column but nbgrader's uuids."""
    db = sqlite3.connect(gradebook)
    try:
        return {table: sorted(db.execute(query, (student,))) for table, query in SUBMISSION_ROWS.items()}
    finally:
        db.close()


def _autograde_in_parallel(course: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", "nbgrader-autograde", "WORKERS=2"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )


@pytest.fixture(scope="module")
def parallel(course, tmp_path_factory) -> dict:
    """A copy of the course as it was before autograding (its gradebook without any submission), with the
    students of PARALLEL and BROKEN in submitted/, through `make nbgrader-autograde WORKERS=2` twice, then
    plain `nbgrader autograde --student broken` from no submission of BROKEN: the copy, each parallel
    run's output, the students' rows after the first, BROKEN's after the serial run."""
    copy = tmp_path_factory.mktemp("parallel") / "course"
    left_out = {"autograded", "feedback", "submitted", ".nbgrader-parallel", "out"}
    shutil.copytree(course, copy, ignore=lambda folder, names: left_out if Path(folder) == course else ())
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:
        for submission in list(gradebook.find_assignment(ASSIGNMENT).submissions):
            gradebook.remove_submission(ASSIGNMENT, submission.student_id)
    for student in PARALLEL:
        shutil.copytree(course / "submitted" / student, copy / "submitted" / student)
    shutil.copytree(course / "submitted" / "solved", copy / "submitted" / BROKEN)
    with open(copy / "submitted" / BROKEN / ASSIGNMENT / PACKAGE / "noise_scheduler.py", "a") as handle:
        handle.write("\nimport os\n\nos._exit(3)  # the kernel dies as it imports the package\n")
    first = _autograde_in_parallel(copy)
    rows = {student: _student_rows(copy / "gradebook.db", student) for student in (*PARALLEL, BROKEN)}
    broken_folder = (copy / "autograded" / BROKEN / ASSIGNMENT).exists()
    again = _autograde_in_parallel(copy)
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:  # then BROKEN serially, afresh
        with contextlib.suppress(MissingEntry):  # (the parallel runs may have written none: the test says)
            gradebook.remove_submission(ASSIGNMENT, BROKEN)
    venv = Path(sys.executable).parent.parent
    serial = [str(venv / "bin" / "nbgrader"), "autograde", ASSIGNMENT, "--student", BROKEN]
    subprocess.run(serial, cwd=copy, capture_output=True, text=True, timeout=900, env=_env())
    broken = _student_rows(copy / "gradebook.db", BROKEN)
    return {
        "course": copy,
        "first": first,
        "rows": rows,
        "broken folder": broken_folder,
        "again": again,
        "serial broken": broken,
    }


@pytest.mark.slow
def test_parallel_autograde_writes_the_gradebook_rows_of_a_serial_run_and_a_broken_student_stops_none(
    course, parallel
):
    first = parallel["first"]
    log = first.stdout + first.stderr
    assert first.returncode != 0, "a student failed: make must say so"
    assert f"{BROKEN}: FAILED" in log and "autograded 3 students, 1 failed" in log, log[-4000:]
    for student in PARALLEL:
        assert f"Kernel of {student} fenced:" in log  # every kernel the fenced one
        assert _student_rows(parallel["course"] / "gradebook.db", student) == _student_rows(
            course / "gradebook.db", student
        ), f"{student}'s gradebook rows differ from the serial run's"
        assert (parallel["course"] / "autograded" / student / ASSIGNMENT / "diffusion.ipynb").is_file()
    assert parallel["rows"]["solved"]["grade"], "no rows compared"
    assert not parallel["broken folder"]  # no autograded/broken/diffusion, as nbgrader leaves a failed one
    assert parallel["rows"][BROKEN] == parallel["serial broken"], "the failed student's rows differ"
    assert parallel["rows"][BROKEN]["submission"], "nbgrader wrote no row of the failed student"


@pytest.mark.slow
def test_parallel_autograde_resumes_grading_only_the_student_that_failed(parallel):
    again = parallel["again"]
    log = again.stdout + again.stderr
    assert f"4 students in {parallel['course'] / 'submitted'}: 3 autograded before, 1 to autograde" in log, (
        log
    )
    for student in PARALLEL:
        assert f"Kernel of {student} fenced:" not in log
        assert _student_rows(parallel["course"] / "gradebook.db", student) == parallel["rows"][student]
    assert f"{BROKEN}: FAILED" in log and again.returncode != 0


# ------------------------------------------------------------------ the fenced kernel, against a hostile
HOSTILE = "hostile"
HOSTILE_CODE = """

# ---- hostile: in the notebook's kernel, reach out of its own autograded folder and record the outcome
def _reach_out():
    import json, os, socket, sys
    from pathlib import Path

    if "ipykernel" not in sys.modules:  # only in the kernel (the grader's children are another test's)
        return
    here = Path.cwd()  # <course>/autograded/<student>/diffusion
    course = here.parents[2]
    outcomes = {}

    def attempt(name, action):
        try:
            action()
            outcomes[name] = "done"
        except BaseException as error:
            outcomes[name] = f"{type(error).__name__}: {error}"

    def write_gradebook():
        with open(course / "gradebook.db", "r+b") as handle:
            handle.seek(100)
            handle.write(b"hostile")

    def update_gradebook():
        import sqlite3

        with sqlite3.connect(course / "gradebook.db") as db:
            db.execute("UPDATE grade SET manual_score = 1000")

    def append(path):
        with open(path, "a") as handle:
            handle.write("# hostile")

    attempt("write its own folder", lambda: (here / "own.txt").write_text("mine"))
    attempt("write gradebook.db", write_gradebook)
    attempt("update gradebook.db", update_gradebook)
    attempt("read another student's submission", lambda: (course / "submitted" / "{other}" / "diffusion"
                                                           / "diffusion.ipynb").read_bytes())
    attempt("list the submissions", lambda: os.listdir(course / "submitted"))
    attempt("read the hidden checks", lambda: (course / "autograder" / "checks" / "__init__.py").read_bytes())
    attempt("read the solutions", lambda: (course / "solutions" / "diffusion_models" / "noise_scheduler.py"
                                            ).read_bytes())
    attempt("change the public checks", lambda: append(course / "autograder" / "public" / "core.py"))
    attempt("change nbgrader_config.py", lambda: append(course / "nbgrader_config.py"))
    attempt("write beside its folder", lambda: (here.parent / "hostile.txt").write_text("hostile"))
    attempt("open a TCP socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
    attempt("open a unix socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
    attempt("connect to the grading machine", lambda: socket.create_connection(("127.0.0.1", {port}), 5))
    (here / "attempts.json").write_text(json.dumps(outcomes))


_reach_out()
"""
FILE_ATTEMPTS = (
    "write gradebook.db",
    "update gradebook.db",
    "read another student's submission",
    "list the submissions",
    "read the hidden checks",
    "read the solutions",
    "change the public checks",
    "change nbgrader_config.py",
    "write beside its folder",
)
SOCKET_ATTEMPTS = ("open a TCP socket", "open a unix socket", "connect to the grading machine")


def _course_state(course: Path) -> dict[str, str]:
    """Every file of the course folder -> its hash, but the hostile's autograded folder and the two files
    nbgrader itself writes while autograding (gradebook.db, compared by :func:`_gradebook_rows`, and its
    log)."""
    own = course / "autograded" / HOSTILE
    state = {}
    for path in sorted(course.rglob("*")):
        if path.is_relative_to(own) or path.name in ("gradebook.db", ".nbgrader.log") or path.is_dir():
            continue
        state[path.relative_to(course).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _gradebook_rows(course: Path) -> list[str]:
    """Every row of gradebook.db (as SQL) that is not the hostile student's own: its student row,
    submission, notebooks, grades and comments."""
    try:
        return _rows_but(sqlite3.connect(course / "gradebook.db"))
    except sqlite3.DatabaseError as error:  # a kernel that wrote into it
        return [f"gradebook.db unreadable: {error}"]


def _rows_but(db: sqlite3.Connection) -> list[str]:
    """The rows of ``db`` but the hostile student's own."""
    with db:
        mine = {HOSTILE}
        mine |= {
            r[0] for r in db.execute("SELECT id FROM submitted_assignment WHERE student_id = ?", (HOSTILE,))
        }
        notebooks = [
            r[0] for r in db.execute("SELECT id, assignment_id FROM submitted_notebook") if r[1] in mine
        ]
        mine |= set(notebooks)
        for table in ("grade", "comment"):
            mine |= {r[0] for r in db.execute(f"SELECT id, notebook_id FROM {table}") if r[1] in mine}
        return [row for row in db.iterdump() if not any(f"'{key}'" in row for key in mine)]


@pytest.fixture(scope="module")
def hostile(course) -> dict:
    """The hostile submission (the release with HOSTILE_CODE in its package) collected into the course
    after the others were graded, then `nbgrader autograde diffusion --student hostile`: the course and
    the gradebook before and after, what its kernel's attempts gave, nbgrader's log, whether the grading
    machine's listener saw a connection."""
    root = course.parent
    folder = root / "students" / HOSTILE
    shutil.copytree(RELEASE_DIR, folder, ignore=CACHES)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with open(folder / PACKAGE / "noise_scheduler.py", "a", encoding="utf-8") as handle:
        handle.write(HOSTILE_CODE.replace("{other}", "solved").replace("{port}", str(port)))
    assert collect(folder).returncode == 0
    zips = root / "hostile-zips"
    zips.mkdir()
    shutil.copy2(folder / ZIP_NAME, zips / f"{HOSTILE}.zip")
    venv = Path(sys.executable).parent.parent
    make = ["make", "--no-print-directory", f"VENV={venv}"]
    subprocess.run([*make, "nbgrader-collect", f"ZIPS={zips}"], cwd=course, env=_env(), check=True)
    before = _course_state(course), _gradebook_rows(course)
    done = subprocess.run(
        [str(venv / "bin" / "nbgrader"), "autograde", ASSIGNMENT, "--student", HOSTILE],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    listener.settimeout(0.5)
    try:
        listener.accept()[0].close()
        connected = True
    except TimeoutError:
        connected = False
    listener.close()
    attempts_file = course / "autograded" / HOSTILE / ASSIGNMENT / "attempts.json"
    return {
        "returncode": done.returncode,
        "log": done.stdout + done.stderr,
        "before": before,
        "after": (_course_state(course), _gradebook_rows(course)),
        "attempts": json.loads(attempts_file.read_text()) if attempts_file.exists() else None,
        "connected": connected,
    }


def _hostile_ran(hostile: dict) -> dict[str, str]:
    """The hostile kernel's attempts; it must have run them and written in its own folder."""
    assert hostile["returncode"] == 0, hostile["log"][-4000:]
    assert hostile["attempts"] is not None, (
        f"the hostile code never ran in the kernel:\n{hostile['log'][-4000:]}"
    )
    assert hostile["attempts"]["write its own folder"] == "done", hostile["attempts"]
    return hostile["attempts"]


@pytest.mark.slow
def test_the_fenced_kernel_cannot_write_the_gradebook_read_other_students_or_change_the_kit(hostile):
    kernel_fences.skip_unless(("landlock",), "no Landlock here: the kernel's files are fenced by it")
    attempts = _hostile_ran(hostile)
    succeeded = {name: attempts[name] for name in FILE_ATTEMPTS if attempts[name] == "done"}
    assert not succeeded, f"the hostile kernel got through: {succeeded}"


@pytest.mark.slow
def test_nothing_outside_the_hostile_kernels_own_folder_changes(hostile):
    kernel_fences.skip_unless(("landlock",), "no Landlock here: the kernel's files are fenced by it")
    _hostile_ran(hostile)
    (files_before, rows_before), (files_after, rows_after) = hostile["before"], hostile["after"]
    changed = sorted(
        name
        for name in files_before.keys() | files_after.keys()
        if files_before.get(name) != files_after.get(name)
    )
    assert changed == [], f"files outside its own folder changed: {changed}"
    assert rows_after == rows_before, "gradebook rows of other students changed"


@pytest.mark.slow
def test_the_fenced_kernel_opens_no_socket(hostile):
    kernel_fences.skip_unless(("seccomp",), "no seccomp here: the kernel's sockets are refused by it")
    attempts = _hostile_ran(hostile)
    succeeded = {name: attempts[name] for name in SOCKET_ATTEMPTS if attempts[name] == "done"}
    assert not succeeded and not hostile["connected"], f"the hostile kernel got through: {succeeded}"


@pytest.mark.slow
def test_the_hostile_submission_is_graded_and_the_log_names_its_kernels_fences(course, hostile):
    _hostile_ran(hostile)
    assert set(_task_scores(course, HOSTILE).values()) == {0.0}  # the stubs, graded as any
    fences = kernel_fences.expected()
    names = {"landlock": "Landlock", "seccomp": "seccomp", "netns": "network namespace", "uid": "own uid"}
    line = next(line for line in hostile["log"].splitlines() if f"Kernel of {HOSTILE} fenced:" in line)
    for fence, name in names.items():
        if fences[fence]:
            assert name in line, f"{name} is up here but the log says: {line}"
        else:
            assert f"Kernel of {HOSTILE}: no {name} on this platform" in hostile["log"], name


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
            ".nbgrader-parallel/work/1/gradebook.db",
        ]
        + [".nbgrader.log", "grades.csv", "students.csv"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert len(ignored.stdout.split()) == 8, ignored.stdout + ignored.stderr


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
