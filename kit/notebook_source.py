"""Write ``source/diffusion/diffusion.ipynb``, nbgrader's source notebook, from the text notebook
``solutions/diffusion.md`` and the task registry.

    python -m kit.notebook_source            # rewrite the notebook (python -m kit.release does it first)
    python -m kit.notebook_source --check    # exit 1 when the committed notebook is out of date

``solutions/diffusion.md`` is the notebook as text (jupytext's MyST Markdown: Jupyter opens it as a
notebook when jupytext is installed, and ``make setup`` installs it). Its cells are copied as they are,
but for those whose ``kit`` metadata asks for something to be written in:

- ``kit: {check: <task>}`` (a code cell, comments only): the task's **autograded** cell
  (``check_<task>``). Visible, it names the task, its files and its points, and runs its public
  checks (``public_checks.check``); hidden (``### BEGIN HIDDEN TESTS``), it ends with a placeholder
  value that nbgrader's own process replaces by the task's points from the full autograder, run
  outside the kernel (:mod:`autograder.nbgrader.cells`, :mod:`autograder.nbgrader.scores`). Title and points
  come from the task registry (``autograder/public/tasks.py``), the files from the solution markers.
- ``kit: {todo: <task>}`` (markdown): the task's TODO box, the cell's text behind "TODO, task X
  (its files)".
- ``kit: {answer: <name>, part: <part>, points: <n>, title: <outline title>[, figures: [...]]}``
  (markdown): a **manually graded** answer cell (``answer_<name>``) holding the model answer;
  ``nbgrader generate_assignment`` replaces it by "YOUR ANSWER HERE". Its question
  (``kit: {question: <name>}``, copied as it is), its rubric (``kit: {rubric: <name>}``, never copied:
  :mod:`kit.rubric` writes it out for instructors) and the figures it refers to (by what they show)
  are checked by :mod:`kit.written_questions`.
- ``kit: {points_table: true}`` (markdown): the points per part are appended to the cell.
- ``kit: {figure: <what it shows>}`` (a code cell): a cell whose saved output should hold a figure
  (one the written answers refer to, or that the grader of the written part looks at); the cell keeps
  the directive, and ``autograder/public/notebook.py`` reports a submitted notebook whose cell holds
  no image.

Every graded cell carries nbgrader's metadata (schema 3); an answer cell also carries its part
(``kit: {part: ...}``). The notebook's own metadata says it is generated (edit
``solutions/diffusion.md``, then ``make release``) and lists what a submission is checked for
(``kit: {graded: {answers: [...], figures: [...]}}``, :func:`graded_summary`): every route that reads a
submitted notebook (:mod:`autograder.public.notebook`) takes its expectations from there. Its
``kit: {written: [...]}`` is the outline of the student's PDF (``public_checks/written_pdf.py``): each
written question's grade_id, title, question and figures (:func:`kit.written_questions.outline`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.public.tasks import PARTS, TASKS, Task, task, tasks_of_part

from . import PACKAGE, SOLUTIONS_DIR, SOURCE_DIR
from .markers import find_regions
from .written_questions import WrittenQuestion, WrittenTextError, outline, written_questions

NOTEBOOK_PATH = SOURCE_DIR / "diffusion.ipynb"
NOTEBOOK_TEXT = "diffusion.md"  # the hand-edited notebook, in solutions/; kit.release does not copy it
SMALL_ENV = "DIFFUSION_NOTEBOOK_SMALL"  # =1: every training and sampling run shrinks to seconds
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
GENERATED_NOTE = f"by `make release` from solutions/{NOTEBOOK_TEXT}: edit that file, not this one"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


class NotebookTextError(ValueError):
    """A cell of the text notebook that the builder cannot expand, reported as ``file: cell N: problem``."""


# ---------------------------------------------------------------------------------------- inputs
def task_files(solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, list[str]]:
    """Task -> the package files (relative to the assignment folder) whose solution markers name it."""
    files: dict[str, list[str]] = {}
    for path in sorted((solutions_dir / PACKAGE).rglob("*.py")):
        relative = path.relative_to(solutions_dir).as_posix()
        for region in find_regions(path.read_text(encoding="utf-8"), path):
            if relative not in files.setdefault(region.task, []):
                files[region.task].append(relative)
    return files


def read_text_notebook(solutions_dir: Path = SOLUTIONS_DIR) -> NotebookNode:
    """``solutions_dir/diffusion.md`` as a notebook (cells and their ``kit`` metadata, not yet expanded)."""
    import jupytext  # instructor-only (the dev extra): nbgrader's autograde never builds the notebook

    path = solutions_dir / NOTEBOOK_TEXT
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the notebook is built from it")
    return jupytext.reads(path.read_text(encoding="utf-8"), fmt="md:myst")


@dataclass(frozen=True)
class Grading:
    """What the autograder grades: points per task, the points of its public checks (the rest is graded
    by hidden checks after submission), and the tasks that have public checks."""

    points: dict[str, float]
    public_tasks: frozenset[str]
    public_points: dict[str, float] = field(default_factory=dict)

    def split(self, task: str) -> tuple[float, float]:
        """(public, hidden) points of ``task``."""
        public = self.public_points.get(task, 0.0)
        return public, self.points.get(task, 0.0) - public


def autograder_grading() -> Grading:
    """The task registry's points (``autograder/public/tasks.py``; the checks are held to them)."""
    return Grading(
        {t.id: float(t.points) for t in TASKS},
        frozenset(t.id for t in TASKS if t.public_points),
        {t.id: float(t.public_points) for t in TASKS},
    )


def written_points(notebook: NotebookNode | None = None) -> dict[str, float]:
    """The manually graded answers of the text notebook: name -> points."""
    cells = (notebook or read_text_notebook()).cells
    return {
        kit["answer"]: kit["points"] for kit in (c.metadata.get("kit", {}) for c in cells) if "answer" in kit
    }


def read_written_questions(notebook: NotebookNode | None = None) -> list[WrittenQuestion]:
    """The written questions of the text notebook (question, model answer, rubric, figures), checked."""
    try:
        return written_questions((notebook or read_text_notebook()).cells)
    except WrittenTextError as err:
        raise NotebookTextError(f"{NOTEBOOK_TEXT}: {err}") from None


def __getattr__(name: str) -> Any:
    if name == "WRITTEN_POINTS":  # read on first use: importing check_grade_id needs no jupytext
        return written_points()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------- cells
def check_grade_id(task: str) -> str:
    """nbgrader's grade_id of ``task``'s autograded cell: ``check_2_1_2`` for task 2.1.2."""
    return "check_" + task.replace(".", "_")


def figure_id(shows: str) -> str:
    """The id of the cell whose figure ``shows`` that: ``figure-the-samples-at-w-0-5`` (nbformat's ids:
    letters, digits, ``-`` and ``_``, at most 64)."""
    slug = "-".join("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in shows.lower()).split())
    return f"figure-{slug}"[:64].rstrip("-")


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = int(points) if float(points).is_integer() else points
    return meta


def points_table(grading: Grading, written: dict[str, tuple[str, float]]) -> str:
    """Points per part: autograded (by public checks you run, plus hidden checks after you submit)
    and written (``written``: answer name -> (part, points))."""
    rows = [
        "| part | autograded: public + hidden checks | written | tasks |",
        "| --- | --- | --- | --- |",
    ]
    totals = [0.0, 0.0, 0.0]
    for part, name in PARTS.items():
        tasks = tasks_of_part(part)
        public = sum(grading.split(task)[0] for task in tasks)
        hidden = sum(grading.split(task)[1] for task in tasks)
        points = sum(p for where, p in written.values() if where == part)
        totals = [totals[0] + public, totals[1] + hidden, totals[2] + points]
        rows.append(
            f"| {part} {name} | {public + hidden:g}: {public:g} + {hidden:g} | {points:g} | {', '.join(tasks)} |"
        )
    public, hidden, points = totals
    rows.append(f"| **total** | **{public + hidden:g}: {public:g} + {hidden:g}** | **{points:g}** | |")
    return "\n".join(rows)


class NotebookWriter:
    """Collects cells in order; ids are stable (the grade_id, else a running number)."""

    def __init__(self, files: dict[str, list[str]], grading: Grading) -> None:
        self.files, self.grading = files, grading
        self.cells: list[NotebookNode] = []

    def _add(self, cell: NotebookNode, cell_id: str | None = None) -> None:
        cell["id"] = cell_id or f"cell-{len(self.cells):03d}"
        self.cells.append(cell)

    def md(self, source: str) -> None:
        self._add(nbformat.v4.new_markdown_cell(source))

    def code(self, source: str, figure: str | None = None) -> None:
        """A code cell; ``figure``: what the figure it should show shows (its id is made from that, so
        that it stays the same when cells are added before it)."""
        cell = nbformat.v4.new_code_cell(source)
        if figure is None:
            self._add(cell)
            return
        cell_id = figure_id(figure)
        if any(c["id"] == cell_id for c in self.cells):
            raise NotebookTextError(f"{NOTEBOOK_TEXT}: two figure cells show {figure!r}: name each its own")
        cell.metadata["kit"] = {"figure": figure}
        self._add(cell, cell_id)

    def answer(self, name: str, part: str, points: float, model_answer: str) -> None:
        """A manually graded markdown cell; its text is the model answer, hidden from students."""
        grade_id = f"answer_{name}"
        cell = nbformat.v4.new_markdown_cell(model_answer)
        cell.metadata["nbgrader"] = _nbgrader(
            grade_id, grade=True, solution=True, locked=False, points=points
        )
        cell.metadata["kit"] = {"part": part}
        self._add(cell, grade_id)

    def todo(self, task: str, what: str) -> None:
        """The TODO box of a task: the files to edit (from the solution markers) and what to do."""
        if task not in self.files:
            raise NotebookTextError(
                f"{NOTEBOOK_TEXT}: a TODO box for task {task}, which no solution marker names"
            )
        where = " and ".join(f"`{f}`" for f in self.files[task])
        body = "\n".join(f"> {line}" for line in what.splitlines())
        self.md(f"> **TODO, task {task}** ({where}):\n{body}")

    def check(self, task: str) -> None:
        """The task's check cell: public checks for students, the full autograder at autograde time."""
        title = _registry_task(task).title
        where = ", ".join(self.files.get(task, []))
        points = self.grading.points[task]
        public, hidden = self.grading.split(task)  # the task registry's, never typed in the notebook
        visible = [f"# Task {task}: {title} ({where})."]
        if public:
            visible += [
                f"# Autograded, {points:g} points: {public:g} from the public checks below, "
                f"{hidden:g} more from hidden checks graded after you submit."
            ]
        else:
            visible += [f"# Autograded, {points:g} points, all from hidden checks graded after you submit."]
        if task in self.grading.public_tasks:
            visible += [
                "# Its public checks print [PASS], or [FAIL] with what was expected and what came back.",
                "from public_checks import check",
                "",
                f'_ = check("{task}")',
            ]
        source = "\n".join(
            [
                HIDDEN_BEGIN,
                "from autograder.nbgrader.cells import prepare_autograding, recorded_by_nbgrader",
                "",
                "prepare_autograding()",
                HIDDEN_END,
                *visible,
                HIDDEN_BEGIN,
                f'recorded_by_nbgrader("{task}")',
                HIDDEN_END,
            ]
        )
        grade_id = check_grade_id(task)
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = _nbgrader(
            grade_id, grade=True, solution=False, locked=True, points=points
        )
        self._add(cell, grade_id)


def _registry_task(task_id: str) -> Task:
    try:
        return task(task_id)
    except ValueError as err:
        raise NotebookTextError(f"{NOTEBOOK_TEXT}: {err}") from None


# ---------------------------------------------------------------------------------------- the notebook
# The directives a cell may carry: its key -> (the keys it needs, the keys it may add), per cell type.
DIRECTIVES = {
    "code": {"check": ({"check"}, set()), "figure": ({"figure"}, set())},
    "markdown": {
        "todo": ({"todo"}, set()),
        "answer": ({"answer", "part", "points", "title"}, {"figures"}),
        "question": ({"question"}, set()),
        "rubric": ({"rubric"}, set()),
        "points_table": ({"points_table"}, set()),
    },
}


def _directive_forms(cell_type: str) -> list[str]:
    """The directives a ``cell_type`` cell may carry, as ``{key, key, [optional]}``."""
    return [
        "{" + ", ".join(sorted(needed) + [f"[{o}]" for o in sorted(optional)]) + "}"
        for needed, optional in DIRECTIVES.get(cell_type, {}).values()
    ]


def _known_directive(cell_type: str, kit: dict) -> bool:
    return any(
        needed <= set(kit) <= needed | optional for needed, optional in DIRECTIVES.get(cell_type, {}).values()
    )


def _expand(nb: NotebookWriter, number: int, cell: NotebookNode, table: str) -> None:
    """Add ``cell`` of the text notebook to ``nb``, expanding its ``kit`` directive if it has one."""
    kit = dict(cell.metadata.get("kit", {}))
    where = f"{NOTEBOOK_TEXT}: cell {number}"
    if kit and not _known_directive(cell.cell_type, kit):
        raise NotebookTextError(
            f"{where}: unknown kit directive {kit} on a {cell.cell_type} cell; a {cell.cell_type} "
            f"cell's directives are {_directive_forms(cell.cell_type)} (kit/notebook_source.py)"
        )
    if "check" in kit:
        task_id = str(kit["check"])
        _registry_task(task_id)
        if any(line.strip() and not line.lstrip().startswith("#") for line in cell.source.splitlines()):
            raise NotebookTextError(
                f"{where}: the check cell of task {task_id} is written by the builder; "
                "leave only comments in it"
            )
        nb.check(task_id)
    elif "todo" in kit:
        nb.todo(str(_registry_task(str(kit["todo"])).id), cell.source)
    elif "answer" in kit:
        if str(kit["part"]) not in PARTS:
            raise NotebookTextError(
                f"{where}: part {kit['part']!r} of answer {kit['answer']!r} is none of "
                f"{list(PARTS)} (autograder/public/tasks.py)"
            )
        nb.answer(str(kit["answer"]), str(kit["part"]), kit["points"], cell.source)
    elif "points_table" in kit:
        nb.md(cell.source + "\n\n" + table)
    elif "rubric" in kit:
        pass  # instructors only: kit.rubric writes it to reference/written/
    elif "figure" in kit:
        nb.code(cell.source, figure=str(kit["figure"]))
    elif cell.cell_type == "code":
        nb.code(cell.source)
    else:
        nb.md(cell.source)


def build_notebook(
    files: dict[str, list[str]] | None = None,
    grading: Grading | None = None,
    solutions_dir: Path = SOLUTIONS_DIR,
) -> NotebookNode:
    """The source notebook: the text notebook's cells, its kit directives expanded, nbgrader's metadata."""
    text = read_text_notebook(solutions_dir)
    written_outline = outline(read_written_questions(text))
    nb = NotebookWriter(
        files if files is not None else task_files(solutions_dir), grading or autograder_grading()
    )
    written = {
        str(kit["answer"]): (str(kit["part"]), float(kit["points"]))
        for kit in (c.metadata.get("kit", {}) for c in text.cells)
        if "answer" in kit
    }
    table = points_table(nb.grading, written)
    for number, cell in enumerate(text.cells, start=1):
        _expand(nb, number, cell, table)
    checked = [c.metadata["kit"]["check"] for c in text.cells if "check" in c.metadata.get("kit", {})]
    missing = [t.id for t in TASKS if t.id not in checked]
    twice = sorted({t for t in checked if checked.count(t) > 1})
    if missing or twice:
        raise NotebookTextError(
            f"{NOTEBOOK_TEXT}: every task of the registry needs exactly one check cell "
            f"(a code cell with `kit: {{check: <task>}}`); none for {missing}, more than one for {twice}"
        )
    notebook = nbformat.v4.new_notebook(cells=nb.cells)
    notebook.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "kit": {"generated": GENERATED_NOTE, "graded": graded_summary(nb.cells), "written": written_outline},
    }
    nbformat.validate(notebook)
    return notebook


def graded_summary(cells: list[NotebookNode]) -> dict[str, list[dict[str, Any]]]:
    """What a submitted notebook is checked for, from the built cells: each manually graded answer
    (grade_id, part, points: nbgrader's metadata and the cell's part) and each cell that should hold a
    figure (its id and what it shows), in notebook order."""
    answers = [
        {
            "grade_id": cell.metadata["nbgrader"]["grade_id"],
            "part": cell.metadata["kit"]["part"],
            "points": cell.metadata["nbgrader"]["points"],
        }
        for cell in cells
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")
    ]
    figures = [
        {"id": cell["id"], "shows": cell.metadata["kit"]["figure"]}
        for cell in cells
        if "figure" in cell.metadata.get("kit", {})
    ]
    return {"answers": answers, "figures": figures}


def render(notebook: NotebookNode) -> str:
    """The notebook as the text written to disk (nbformat's JSON, one trailing newline)."""
    return nbformat.writes(notebook) + "\n"


def graded_cells(notebook: NotebookNode) -> Iterator[NotebookNode]:
    """The cells nbgrader grades (autograded and manually graded)."""
    return (cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade"))


def write(path: Path = NOTEBOOK_PATH) -> Path:
    path.write_text(render(build_notebook()), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook on disk is out of date")
    args = parser.parse_args(argv)
    if args.check:
        fresh = render(build_notebook())
        if not NOTEBOOK_PATH.is_file() or NOTEBOOK_PATH.read_text(encoding="utf-8") != fresh:
            print(f"{NOTEBOOK_PATH} is out of date: run `python -m kit.release`", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK_PATH} is up to date")
        return 0
    print(f"wrote {write()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
