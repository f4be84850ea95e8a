"""The homework notebook: built from the text notebook solutions/diffusion.md and the task registry by
kit/notebook_source.py, the builder refusing what it cannot expand; every part in order, autograded cells
worth the autograder's points, model answers hidden from students, and a release notebook that runs
headless, top to bottom with the reference solution and up to the first TODO with the stubs."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
import torch
from assignment_folders import student_folder
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from kit import RELEASE_DIR, SOLUTIONS_DIR, SOURCE_DIR
from kit.notebook_source import (
    GENERATED_NOTE,
    HIDDEN_BEGIN,
    NOTEBOOK_PATH,
    NOTEBOOK_TEXT,
    SMALL_ENV,
    WRITTEN_POINTS,
    NotebookTextError,
    NotebookWriter,
    autograder_grading,
    build_notebook,
    render,
    task_files,
)

SOURCE = nbformat.read(SOURCE_DIR / "diffusion.ipynb", as_version=4)
RELEASE = nbformat.read(RELEASE_DIR / "diffusion.ipynb", as_version=4)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _autograded(notebook) -> dict[str, nbformat.NotebookNode]:
    """grade_id -> cell, for the autograded (code) cells."""
    return {
        _nbgrader(c)["grade_id"]: c
        for c in notebook.cells
        if _nbgrader(c).get("grade") and c.cell_type == "code"
    }


def _answers(notebook) -> dict[str, nbformat.NotebookNode]:
    return {
        _nbgrader(c)["grade_id"]: c
        for c in notebook.cells
        if _nbgrader(c).get("grade") and _nbgrader(c).get("solution") and c.cell_type == "markdown"
    }


def test_the_committed_notebook_is_what_the_generator_writes():
    assert NOTEBOOK_PATH.read_text(encoding="utf-8") == render(build_notebook()), (
        "source/diffusion/diffusion.ipynb is out of date (solutions/diffusion.md, the task registry or "
        "kit/notebook_source.py changed): run `python -m kit.release` and commit source/ and release/"
    )


def test_the_notebook_says_it_is_generated_and_the_text_is_what_jupytext_writes():
    import jupytext

    assert SOURCE.metadata["kit"]["generated"] == RELEASE.metadata["kit"]["generated"] == GENERATED_NOTE
    assert f"solutions/{NOTEBOOK_TEXT}" in GENERATED_NOTE
    text = (SOLUTIONS_DIR / NOTEBOOK_TEXT).read_text(encoding="utf-8")
    rewritten = jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst")
    assert _without_jupytext_version(rewritten) == _without_jupytext_version(text), (
        f"solutions/{NOTEBOOK_TEXT} is not as jupytext writes it (saving it in Jupyter would rewrite it)"
    )


def _without_jupytext_version(text: str) -> str:
    """``text`` with its header's ``jupytext_version:`` line blanked: jupytext writes its own version
    there, so a patch release of jupytext changes that line and nothing that matters."""
    return re.sub(r"(?m)^(\s*jupytext_version:).*$", r"\1", text)


def _edited_solutions(tmp_path, old: str, new: str):
    """A copy of solutions/ whose text notebook has ``old`` replaced by ``new`` (once)."""
    import shutil

    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    path = solutions / NOTEBOOK_TEXT
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return solutions


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("  check: 2.2.2\n", "  check: 2.2.3\n", r"none for \['2\.2\.2'\], more than one for \['2\.2\.3'\]"),
        ("  check: 2.2.2\n", "  check: 9.9.9\n", "unknown task '9.9.9'"),
        (
            "# The check cell of task 2.2.2, written by `make release` from the task registry.\n",
            "check('2.2.2')\n",
            "the check cell of task 2.2.2 is written by the builder",
        ),
        (
            '+++ {"kit": {"todo": "2.2.2"}}',
            '+++ {"kit": {"todo": "2.2.2", "points": 3}}',
            "unknown kit directive",
        ),
        (
            '"part": "2.1", "points": 2',
            '"part": "7.1", "points": 2',
            "part '7.1' of answer 'forward_marginal'",
        ),
        (
            "- **1 point.** Why it matters: training draws",
            "- **2 points.** Why it matters: training draws",
            "rubric of answer 'forward_marginal': its items add up to 3 points, the answer is worth 2",
        ),
        (
            "- **1 point.** What it is: the marginal",
            "- 1 point: What it is: the marginal",
            "rubric of answer 'forward_marginal', line 1: .* is no rubric item",
        ),
        (
            '+++ {"kit": {"rubric": "thresholding"}}',
            "+++",
            "answer 'thresholding' needs exactly one rubric cell .* after it; found 0",
        ),
        (
            '"figures": ["the augmentations"]',
            '"figures": ["the augmentation"]',
            r"answer 'augmentations' refers to figures \['the augmentation'\], which no code cell holds",
        ),
    ],
)
def test_the_builder_refuses_a_text_notebook_it_cannot_expand(tmp_path, old, new, problem):
    with pytest.raises(NotebookTextError, match=problem):
        build_notebook(solutions_dir=_edited_solutions(tmp_path, old, new))


def test_every_part_of_the_homework_comes_in_order():
    text = "\n".join(cell.source for cell in SOURCE.cells)
    milestones = [
        "## Part 2.1",
        "### 2.1.1",
        'check("2.1.1a")',
        'check("2.1.1b")',
        "### 2.1.2",
        'check("2.1.2")',
        "## Part 2.2",
        "### 2.2.1",
        'check("2.2.1")',
        "### 2.2.2",
        'check("2.2.2")',
        "### 2.2.3",
        'check("2.2.3")',
        "## Part 2.3",
        "task 2.3.1",
        "ImageGenerator(",
        "### Data augmentation",
        "train_policy(",
        "show_samples(0)",
        "show_samples(0.5)",
        "show_samples(1)",
        "show_samples(2)",
        "show_samples(5)",
        "### 2.3.2 Thresholding",
        'check("2.3.2")',
        "show_samples(0, threshold=True)",
        "show_samples(0.5, threshold=True)",
        "show_samples(1, threshold=True)",
        "show_samples(2, threshold=True)",
        "show_samples(5, threshold=True)",
        "### Free experiments",
        "## Part 2.4",
        "### 2.4.1",
        "task 2.4.1",
        "### 2.4.2",
        "task 2.4.2",
        "rollout(",
        "## Collect your submission",
        "collect_submission.sh",
    ]
    position = 0
    for milestone in milestones:
        found = text.find(milestone, position)
        assert found >= 0, (
            f"the notebook lacks {milestone!r} after {text[max(0, position - 80) : position]!r}"
        )
        position = found + len(milestone)


def test_each_todo_box_names_its_files_and_each_task_has_a_check_cell():
    text = "\n".join(cell.source for cell in SOURCE.cells)
    for task, files in task_files().items():
        box = next((c.source for c in SOURCE.cells if c.source.startswith(f"> **TODO, task {task}**")), None)
        assert box is not None, f"no TODO box for task {task}"
        for name in files:
            assert f"`{name}`" in box, f"the TODO box of task {task} does not name {name}"
        assert f"# Task {task}:" in text, f"no check cell for task {task}"


def test_autograded_cells_are_worth_the_autograder_points_of_their_task():
    grading = autograder_grading()
    cells = _autograded(SOURCE)
    graded_tasks = {}
    for grade_id, cell in cells.items():
        task = re.fullmatch(
            r'recorded_by_nbgrader\("([^"]+)"\)', cell.source.split(HIDDEN_BEGIN)[-1].splitlines()[1]
        )
        assert task, f"{grade_id} does not end with the hidden recorded_by_nbgrader call"
        graded_tasks[task.group(1)] = _nbgrader(cell)["points"]
    assert graded_tasks == grading.points, "each task the autograder grades needs one cell worth its points"


def test_every_task_with_a_todo_is_autograded_in_the_notebook():
    graded = {grade_id.removeprefix("check_").replace("_", ".") for grade_id in _autograded(SOURCE)}
    assert set(task_files()) <= graded, (
        f"tasks without an autograded cell: {sorted(set(task_files()) - graded)}"
    )


def test_autograded_cells_run_the_public_checks_and_hide_the_full_autograder():
    grading = autograder_grading()
    for grade_id, cell in _autograded(SOURCE).items():
        task = grade_id.removeprefix("check_").replace("_", ".")
        assert _nbgrader(cell)["locked"] and not _nbgrader(cell)["solution"]
        assert cell.source.count(HIDDEN_BEGIN) == 2 and cell.source.rstrip().endswith("### END HIDDEN TESTS")
        if task in grading.public_tasks:
            assert f'_ = check("{task}")' in cell.source
    released = _autograded(RELEASE)
    assert released.keys() == _autograded(SOURCE).keys()
    for grade_id, cell in released.items():
        for hidden in ("HIDDEN TESTS", "recorded_by_nbgrader", "nbgrader.cells", "prepare_autograding"):
            assert hidden not in cell.source, f"the students' {grade_id} shows {hidden!r}"


def test_each_check_cell_shows_its_public_and_hidden_points_from_the_registry():
    from autograder.checks import all_groups

    split: dict[str, list[float]] = {}
    for group in all_groups():
        for check in group.checks:
            split.setdefault(check.task, [0.0, 0.0])[0 if check.public else 1] += check.points
    released = _autograded(RELEASE)
    assert {grade_id.removeprefix("check_").replace("_", ".") for grade_id in released} == split.keys()
    for grade_id, cell in released.items():
        public, hidden = split[grade_id.removeprefix("check_").replace("_", ".")]
        if public:
            shown = (
                f"# Autograded, {public + hidden:g} points: {public:g} from the public checks below, "
                f"{hidden:g} more from hidden checks graded after you submit."
            )
        else:
            shown = f"# Autograded, {hidden:g} points, all from hidden checks graded after you submit."
        assert shown in cell.source.splitlines(), f"{grade_id} does not show {shown!r}"
    total_public = sum(p for p, _ in split.values())
    total_hidden = sum(h for _, h in split.values())
    intro = RELEASE.cells[0].source
    assert f"**{total_public + total_hidden:g}: {total_public:g} + {total_hidden:g}**" in intro


def test_the_notebook_names_the_augmentations_of_augment_py_and_the_package_leaves_the_question_open():
    from diffusion_models.computer_vision import AUGMENTATIONS

    text = "\n".join(cell.source for cell in RELEASE.cells if cell.cell_type == "markdown")
    assert all(f'`"{name}"`' in text for name in AUGMENTATIONS)
    for name in (
        "augment.py",
        "__init__.py",
    ):  # the answer of the augmentations question is the model answer's
        given = (RELEASE_DIR / "diffusion_models" / "computer_vision" / name).read_text(encoding="utf-8")
        for verdict in ("suited", "right for", "wrong for", "no digit", "reproduces"):
            assert verdict not in given, f"computer_vision/{name} says {verdict!r}"


def test_written_questions_are_graded_by_hand_with_model_answers_hidden_from_students():
    answers = _answers(SOURCE)
    assert {k.removeprefix("answer_"): _nbgrader(c)["points"] for k, c in answers.items()} == WRITTEN_POINTS
    musts = {  # what each model answer must say (the list of points to make)
        "answer_forward_marginal": [r"\sqrt{\bar\alpha_t}\, x_0", r"(1 - \bar\alpha_t) I", "in one step"],
        "answer_augmentations": ["p(x \\mid y)", "noise", "Cutout", "flips", "translations"],
        "answer_guidance_without_retraining": ["null-token dropout", "eq. 6", "only at sampling time"],
        "answer_thresholding": ["[-1, 1]", "(1 + w)", "At w = 0", "eq. 7"],
        "answer_thresholded_samples": ["With thresholding", "w = 5", "Diversity is lost", "w = 0.5 to 1"],
    }
    for grade_id, phrases in musts.items():
        for phrase in phrases:
            assert phrase in answers[grade_id].source, f"{grade_id} should mention {phrase!r}"
    released = _answers(RELEASE)
    assert released.keys() == answers.keys()
    for grade_id, cell in released.items():
        assert cell.source == "YOUR ANSWER HERE", f"the students' {grade_id} shows the model answer"
    release_text = "\n".join(c.source for c in RELEASE.cells)
    assert "Model answer" not in release_text and "BEGIN SOLUTION" not in release_text


def test_the_release_notebook_has_no_outputs_and_reads_the_small_switch():
    assert all(not c.get("outputs") for c in RELEASE.cells if c.cell_type == "code")
    setup = "\n".join(c.source for c in RELEASE.cells[:3])
    assert SMALL_ENV in setup and "NBGRADER_EXECUTION" in setup and "default_device()" in setup


# ---------------------------------------------------------------------------------------- executed
def _execute(folder, device: str = "cpu") -> tuple[nbformat.NotebookNode, CellExecutionError | None]:
    """Run the folder's notebook headless with the SMALL settings; return it and the error that stopped it.

    ``device="cpu"`` hides any GPU from the kernel, as on a student's laptop; ``"cuda"`` leaves it visible.
    """
    notebook = nbformat.read(folder / "diffusion.ipynb", as_version=4)
    env = {key: value for key, value in os.environ.items() if key != "NBGRADER_EXECUTION"}
    env[SMALL_ENV] = "1"
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        return notebook, err
    return notebook, None


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))],
)
def test_the_release_notebook_with_the_reference_runs_top_to_bottom(tmp_path, device):
    folder = student_folder(tmp_path / "student", solved=True)
    notebook, error = _execute(folder, device)
    assert error is None, f"the notebook stopped: {error}"
    assert f" on {device}" in _stdout(notebook.cells[1]), _stdout(notebook.cells[1])  # chosen, not edited
    checks = [c for c in notebook.cells if c.cell_type == "code" and 'check("' in c.source]
    failing = {c.id: _stdout(c) for c in checks if "[PASS]" not in _stdout(c) or "[FAIL]" in _stdout(c)}
    assert checks and not failing, f"public checks failed on the reference: {failing}"
    figures = sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))
    assert figures >= 15, f"only {figures} figures were drawn"
    assert (folder / "diffusion_submission.zip").is_file()  # its last cell collects the submission


@pytest.mark.slow
def test_the_release_notebook_with_the_stubs_stops_at_the_first_todo(tmp_path):
    first_todo = next(c.source for c in RELEASE.cells if c.source.startswith("> **TODO, task"))
    first_task = re.match(r"> \*\*TODO, task (\S+)\*\*", first_todo).group(1)
    notebook, error = _execute(student_folder(tmp_path / "student", solved=False))
    assert error is not None and error.ename == "NotImplementedError", error
    assert error.evalue.startswith(f"task {first_task}:"), error.evalue
    stopped = next(c for c in notebook.cells if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert "NoiseScheduler(" in stopped.source  # the first cell that calls the student's code
    before = notebook.cells[: notebook.cells.index(stopped)]
    assert f"not implemented: task {first_task}" in "".join(_stdout(c) for c in before)  # its check cell ran


def test_a_figure_cells_id_stays_when_cells_are_added_before_it_and_two_figures_need_two_names():
    def figure_cell_id(cells_before: int) -> str:
        writer = NotebookWriter({}, autograder_grading())
        for number in range(cells_before):
            writer.md(f"text {number}")
        writer.code("show_samples(0.5)", figure="the samples at w = 0.5")
        return writer.cells[-1]["id"]

    assert figure_cell_id(0) == figure_cell_id(3) == "figure-the-samples-at-w-0-5"
    writer = NotebookWriter({}, autograder_grading())
    writer.code("show_samples(0.5)", figure="the samples at w = 0.5")
    with pytest.raises(NotebookTextError, match="two figure cells"):
        writer.code("show_samples(0.5)", figure="the samples at w = 0.5")
