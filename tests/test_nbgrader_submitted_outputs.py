"""autograder/nbgrader/submitted_outputs.py: what autograde keeps of the outputs a student saved, and
that only the autograded cells run."""

from __future__ import annotations

import base64

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from student_notebooks import png

from autograder.nbgrader.kernel import FencedExecute
from autograder.nbgrader.submitted_outputs import KeepSubmittedOutputs, sanitize_preprocessors

PNG = base64.b64encode(png(7)).decode("ascii")


def _check_cell():
    cell = new_code_cell("check('2.1.2')")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 10, "grade_id": "check_2_1_2"}
    cell.outputs = [new_output("stream", name="stdout", text="[PASS] forged by the student\n")]
    return cell


def _student_cell():
    cell = new_code_cell("show_samples(0.5)")
    cell.outputs = [
        new_output("stream", name="stdout", text="sampling\n"),
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output("display_data", data={"text/html": "<script>steal()</script>", "text/plain": "x"}),
        new_output("display_data", data={"application/javascript": "steal()"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload='steal()'/>"}),
        new_output("display_data", data={"image/png": 'AAAA" onerror="steal()'}),
        new_output("execute_result", data={"text/plain": "7"}, execution_count=3),
    ]
    return cell


def test_the_students_figures_stay_and_nothing_that_can_run_in_a_browser_does():
    notebook = new_notebook(cells=[new_markdown_cell("text"), _check_cell(), _student_cell()])
    kept, _ = KeepSubmittedOutputs().preprocess(notebook, {})
    check, student = kept.cells[1], kept.cells[2]
    assert check.outputs == []  # the autograded cell runs again (fenced) and gets the grader's verdicts
    texts = [str(o.get("data", o.get("text"))) for o in student.outputs]
    assert [o.output_type for o in student.outputs] == [
        "stream",
        "display_data",
        "display_data",
        "execute_result",
    ]
    assert student.outputs[1].data == {"image/png": PNG, "text/plain": "<Figure>"}
    assert not any("steal" in text for text in texts), texts


def test_autograde_keeps_outputs_instead_of_clearing_them_and_runs_only_the_check_cells():
    from nbgrader.converters import Autograde

    defaults = Autograde.class_traits()["sanitize_preprocessors"].default()
    chosen = sanitize_preprocessors(defaults)
    assert KeepSubmittedOutputs in chosen and len(chosen) == len(defaults)
    assert not [p for p in chosen if getattr(p, "__name__", p) == "ClearOutput"]

    ran = []

    class Recording(FencedExecute):
        def execute_cell(self, cell, index, **kwargs):  # what nbconvert runs for a cell
            ran.append(index)
            return cell

    executor = Recording()
    for index, cell in enumerate([_student_cell(), _check_cell(), _student_cell()]):
        executor.preprocess_cell(cell, {}, index)
    assert ran == [1]
