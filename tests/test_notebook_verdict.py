"""autograder/public/notebook.py: the one verdict on a submitted notebook, against the expectations the
released notebook carries (its written answers and the cells that should show a figure)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from student_notebooks import RELEASE_NOTEBOOK, answer_cells, corrupt, figure_cells, filled, released, write

from autograder.public.notebook import Expected, inspect_notebook, read_expected
from kit import RELEASE_DIR
from kit.notebook_source import WRITTEN_POINTS, read_text_notebook

STUDENT_SCRIPT = RELEASE_DIR / "public_checks" / "notebook.py"


@pytest.fixture(scope="module")
def expected() -> Expected:
    return read_expected(RELEASE_NOTEBOOK)


def test_the_expectations_are_the_released_notebooks_answer_cells_and_figure_directives(expected):
    notebook = released()
    cells = answer_cells(notebook)
    assert [(a.grade_id, a.points) for a in expected.answers] == [
        (c["metadata"]["nbgrader"]["grade_id"], c["metadata"]["nbgrader"]["points"]) for c in cells
    ]
    assert [a.grade_id for a in expected.answers] == [f"answer_{name}" for name in WRITTEN_POINTS]
    text_parts = [
        c.metadata["kit"]["part"] for c in read_text_notebook().cells if "answer" in c.metadata.get("kit", {})
    ]
    assert [a.part for a in expected.answers] == [str(p) for p in text_parts]
    assert expected.written_points == sum(WRITTEN_POINTS.values())
    assert [f.cell_id for f in expected.figures] == [c["id"] for c in figure_cells(notebook)]
    assert len(expected.figures) >= 10  # the samples the written answers of part 2.3 are about


def test_a_filled_notebook_has_no_problem(tmp_path, expected):
    verdict = inspect_notebook(write(filled(), tmp_path / "diffusion.ipynb"), expected)
    assert verdict.readable and verdict.has_outputs and verdict.flag == "ok"
    assert verdict.problems == () and verdict.missing_figures == () and verdict.missing_answer_cells == ()
    assert [a.answered for a in verdict.answers] == [True] * len(expected.answers)
    assert verdict.answers[0].source == f"My answer to {expected.answers[0].grade_id}."


def test_the_untouched_release_is_unanswered_and_without_outputs(tmp_path, expected):
    verdict = inspect_notebook(write(released(), tmp_path / "diffusion.ipynb"), expected)
    assert verdict.readable and verdict.flag == "incomplete"
    assert verdict.unanswered == tuple(a.grade_id for a in expected.answers)
    assert not verdict.has_outputs
    text = " ".join(verdict.problems)
    assert "5 written answer(s) not answered" in text and "answer_thresholding (part 2.3, 3 points)" in text
    assert "saved without outputs" in text and "Run All Cells" in text


def test_a_cut_off_notebook_is_unreadable_and_the_problem_says_how_to_recover(tmp_path, expected):
    path = corrupt(write(filled(), tmp_path / "diffusion.ipynb"))
    verdict = inspect_notebook(path, expected)
    assert not verdict.readable and verdict.flag == "unreadable"
    assert verdict.missing_answer_cells == tuple(a.grade_id for a in expected.answers)
    (problem,) = verdict.problems
    assert "invalid JSON at line" in problem and "13 points" in problem and "Recovery:" in problem
    assert "graded all the same" in problem  # the package's points do not depend on it


def test_a_missing_notebook_is_flagged_missing(tmp_path, expected):
    verdict = inspect_notebook(tmp_path / "diffusion.ipynb", expected)
    assert verdict.flag == "missing" and "holds no diffusion.ipynb" in verdict.problems[0]


@pytest.mark.parametrize(
    "text", ["", "[1, 2]", '{"cells": [], "nbformat": 3}', '{"cells": [1], "nbformat": 4}']
)
def test_json_that_is_no_notebook_is_unreadable(tmp_path, text):
    path = tmp_path / "diffusion.ipynb"
    path.write_text(text, encoding="utf-8")
    assert not inspect_notebook(path).readable


def test_a_deleted_answer_cell_and_a_cleared_figure_are_named(tmp_path, expected):
    notebook = filled()
    deleted = answer_cells(notebook)[1]
    notebook["cells"].remove(deleted)
    figure = figure_cells(notebook)[5]
    for output in figure["outputs"]:  # its text, not its image: what a figure closed unshown leaves
        output.get("data", {}).pop("image/png", None)
    verdict = inspect_notebook(write(notebook, tmp_path / "diffusion.ipynb"), expected)
    grade_id = deleted["metadata"]["nbgrader"]["grade_id"]
    assert verdict.missing_answer_cells == (grade_id,)
    assert verdict.missing_figures == (figure["metadata"]["kit"]["figure"],)
    text = " ".join(verdict.problems)
    assert grade_id in text and figure["metadata"]["kit"]["figure"] in text
    assert "copy each missing cell" in text


def test_an_answer_below_the_placeholder_counts_as_answered(tmp_path, expected):
    notebook = filled()
    answer_cells(notebook)[0]["source"] = "YOUR ANSWER HERE\n\nIt is Gaussian."
    answer_cells(notebook)[1]["source"] = ["YOUR ANSWER ", "HERE\n", "  "]
    verdict = inspect_notebook(write(notebook, tmp_path / "diffusion.ipynb"), expected)
    assert [a.answered for a in verdict.answers][:2] == [True, False]


def test_without_given_expectations_a_notebook_is_checked_against_its_own(tmp_path, expected):
    notebook = filled()
    notebook["cells"].remove(answer_cells(notebook)[0])
    verdict = inspect_notebook(write(notebook, tmp_path / "diffusion.ipynb"))
    assert verdict.missing_answer_cells == (expected.answers[0].grade_id,)


def _student_script(path):
    return subprocess.run(
        [sys.executable, "-I", str(STUDENT_SCRIPT), str(path)], capture_output=True, text=True, timeout=60
    )


def test_the_students_copy_refuses_an_unreadable_notebook_and_warns_about_an_unanswered_one(tmp_path):
    broken = corrupt(write(filled(), tmp_path / "broken.ipynb"))
    done = _student_script(broken)
    assert done.returncode == 1 and "not a readable notebook" in done.stderr
    done = _student_script(write(released(), tmp_path / "diffusion.ipynb"))
    assert done.returncode == 0 and "warning: 5 written answer(s) not answered" in done.stderr
    done = _student_script(write(filled(), tmp_path / "diffusion.ipynb"))
    assert done.returncode == 0 and done.stderr == "" and "5/5 written answers answered" in done.stdout
    assert json.loads(RELEASE_NOTEBOOK.read_text())["metadata"]["kit"]["graded"]  # students have it too
