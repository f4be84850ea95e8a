"""The one verdict on a submitted notebook: can it be read, are its written answers there and answered,
do the cells that should hold a figure hold one.

    python public_checks/notebook.py diffusion.ipynb     # what collect_submission.sh runs (exit 1: unreadable)

Every route reads the notebook through :func:`inspect_notebook` and says the same: the student's
``collect_submission.sh`` (it warns, and refuses a notebook that cannot be read), ``make
nbgrader-collect`` and ``nbgrader autograde`` (the written part flagged for the TA), ``python -m
autograder grade`` (results.json, so Gradescope too) and ``grade-all`` (grades.csv). The package's
points never depend on it: a notebook that cannot be read loses its written answers only.

What a notebook is checked for comes from the notebook itself as ``make release`` built it: its metadata
``kit.graded`` lists each manually graded answer (nbgrader's grade_id and points, the part) and each cell
that should hold a figure (``kit/notebook_source.py``, from the ``answer`` and ``figure`` directives of
``solutions/diffusion.md``). The graders pass the released notebook's (:func:`read_expected`); a student's
copy checks against its own. Standard library only: it runs wherever the student's Python does, before
anything is installed. It ships to students as ``public_checks/notebook.py`` and holds no answer.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOTEBOOK = "diffusion.ipynb"
PLACEHOLDER = "YOUR ANSWER HERE"  # what nbgrader's release puts in every answer cell
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
RESUBMIT = "rerun collect_submission.sh and submit the new zip"
REPAIR = (
    "open it in Jupyter and save it again (File > Save), or restore the last good copy (File > Revert "
    "Notebook to Checkpoint, or .ipynb_checkpoints/diffusion-checkpoint.ipynb), then " + RESUBMIT
)


@dataclass(frozen=True)
class ExpectedAnswer:
    grade_id: str  # nbgrader's grade_id, e.g. "answer_thresholding"
    part: str  # e.g. "2.3"
    points: float


@dataclass(frozen=True)
class ExpectedFigure:
    cell_id: str  # the code cell's id in the released notebook
    shows: str  # what it shows, in words: "the samples at w = 0.5"


@dataclass(frozen=True)
class Expected:
    """What a submitted notebook should hold: the written answers and the figures, in notebook order."""

    answers: tuple[ExpectedAnswer, ...]
    figures: tuple[ExpectedFigure, ...] = ()

    @property
    def written_points(self) -> float:
        return sum(answer.points for answer in self.answers)


@dataclass(frozen=True)
class WrittenAnswer:
    grade_id: str  # nbgrader grade_id, e.g. "answer_thresholding"
    part: str  # the part it belongs to, e.g. "2.3"
    points: float
    source: str  # the student's markdown
    answered: bool  # False when empty or still nbgrader's "YOUR ANSWER HERE"


@dataclass(frozen=True)
class NotebookVerdict:
    readable: bool
    problems: tuple[str, ...]  # each in words, with the recovery step; () when fine
    answers: tuple[WrittenAnswer, ...]  # in notebook order
    missing_answer_cells: tuple[str, ...]  # grade_ids the assignment expects that the notebook lacks
    missing_figures: tuple[str, ...]  # cells that should hold a figure and hold none (what they show)
    has_outputs: bool
    present: bool = True  # False: the submission holds no notebook at all

    @property
    def unanswered(self) -> tuple[str, ...]:
        return tuple(answer.grade_id for answer in self.answers if not answer.answered)

    @property
    def flag(self) -> str:
        """One word for a table column: ``ok``, ``missing``, ``unreadable`` or ``incomplete``."""
        if not self.present:
            return "missing"
        if not self.readable:
            return "unreadable"
        return "incomplete" if self.problems else "ok"

    def summary(self) -> str:
        """One paragraph: the flag's meaning, then each problem."""
        if not self.problems:
            answered = len(self.answers) - len(self.unanswered)
            return f"Notebook: readable, {answered}/{len(self.answers)} written answers answered, figures in place."
        return "Notebook: " + " ".join(self.problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "readable": self.readable,
            "problems": list(self.problems),
            "answered": [a.grade_id for a in self.answers if a.answered],
            "unanswered": list(self.unanswered),
            "missing_answer_cells": list(self.missing_answer_cells),
            "missing_figures": list(self.missing_figures),
            "has_outputs": self.has_outputs,
        }


# ---------------------------------------------------------------------------------------- expectations
def expected_from(notebook: dict[str, Any]) -> Expected:
    """The expectations a built notebook carries (``metadata.kit.graded``); without them, its own
    answer cells (nbgrader's metadata) and no figures."""
    graded = notebook.get("metadata", {}).get("kit", {}).get("graded")
    if isinstance(graded, dict):
        return Expected(
            tuple(
                ExpectedAnswer(str(a["grade_id"]), str(a["part"]), float(a["points"]))
                for a in graded["answers"]
            ),
            tuple(ExpectedFigure(str(f["id"]), str(f["shows"])) for f in graded.get("figures", [])),
        )
    answers = []
    for cell in _cells(notebook):
        meta = _nbgrader(cell)
        if cell.get("cell_type") == "markdown" and meta.get("grade") and meta.get("solution"):
            part = str(cell.get("metadata", {}).get("kit", {}).get("part", "?"))
            answers.append(ExpectedAnswer(str(meta.get("grade_id")), part, float(meta.get("points", 0))))
    return Expected(tuple(answers))


def read_expected(release_notebook: Path) -> Expected:
    """The expectations of the released notebook (``release/diffusion/diffusion.ipynb``); a clear error
    when it is missing or unreadable: the course's own file, not a student's."""
    notebook, error = read_notebook(release_notebook)
    if notebook is None:
        raise ValueError(
            f"the released notebook {release_notebook} cannot be read ({error}): run make release"
        )
    return expected_from(notebook)


# ---------------------------------------------------------------------------------------- reading
def read_notebook(path: Path) -> tuple[dict[str, Any] | None, str]:
    """(the notebook as JSON, "") or (None, why it is not a notebook, in words)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return None, f"it could not be opened: {err.strerror or err}"
    if not data.strip():
        return None, "the file is empty"
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        return None, f"it is not UTF-8 text (byte {err.start})"
    except json.JSONDecodeError as err:
        return None, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, "it is JSON but not a notebook (no list of cells)"
    if notebook.get("nbformat") != 4:
        return None, f"it is not a version 4 notebook (nbformat {notebook.get('nbformat')!r})"
    if not all(isinstance(cell, dict) and "cell_type" in cell for cell in notebook["cells"]):
        return None, "some of its cells are not notebook cells"
    return notebook, ""


def _cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in notebook.get("cells", []) if isinstance(cell, dict)]


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata", {})
    value = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return value if isinstance(value, dict) else {}


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _answered(source: str) -> bool:
    return bool(source.replace(PLACEHOLDER, "").strip())


def _has_image(cell: dict[str, Any]) -> bool:
    outputs = cell.get("outputs", [])
    return isinstance(outputs, list) and any(
        isinstance(output, dict)
        and isinstance(output.get("data"), dict)
        and any(kind in output["data"] for kind in IMAGE_TYPES)
        for output in outputs
    )


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


# ---------------------------------------------------------------------------------------- the verdict
def inspect_notebook(path: Path, expected: Expected | None = None) -> NotebookVerdict:
    """The verdict on the notebook at ``path`` against ``expected`` (the released notebook's, from
    :func:`read_expected`; None: what the notebook itself says it should hold)."""
    path = Path(path)
    if not path.is_file():
        written = expected.written_points if expected else 0
        problem = (
            f"the submission holds no {path.name}, so its written answers ({_points(written)}) cannot be "
            f"graded; its code is graded all the same. Recovery: save {path.name} beside diffusion_models/, "
            f"{RESUBMIT}."
        )
        ids = tuple(a.grade_id for a in expected.answers) if expected else ()
        return NotebookVerdict(False, (problem,), (), ids, (), False, present=False)
    notebook, error = read_notebook(path)
    if notebook is None:
        written = expected.written_points if expected else 0
        problem = (
            f"{path.name} is not a readable notebook ({error}), so its written answers ({_points(written)}) "
            f"cannot be graded; its code is graded all the same. Recovery: {REPAIR}."
        )
        ids = tuple(a.grade_id for a in expected.answers) if expected else ()
        return NotebookVerdict(False, (problem,), (), ids, (), False)
    return verdict_of(notebook, expected or expected_from(notebook))


def verdict_of(notebook: dict[str, Any], expected: Expected) -> NotebookVerdict:
    """The verdict on a notebook already read (nbformat's JSON, or a ``NotebookNode``)."""
    cells = _cells(notebook)
    by_grade_id: dict[str, dict[str, Any]] = {}
    for cell in cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if isinstance(grade_id, str):
            by_grade_id.setdefault(grade_id, cell)
    answers = tuple(
        WrittenAnswer(a.grade_id, a.part, a.points, text, _answered(text))
        for a in expected.answers
        if a.grade_id in by_grade_id
        for text in [_text(by_grade_id[a.grade_id].get("source"))]
    )
    missing_cells = tuple(a.grade_id for a in expected.answers if a.grade_id not in by_grade_id)
    by_id = {cell.get("id"): cell for cell in cells if cell.get("cell_type") == "code"}
    missing_figures = tuple(
        f.shows for f in expected.figures if f.cell_id not in by_id or not _has_image(by_id[f.cell_id])
    )
    has_outputs = any(cell.get("outputs") for cell in cells if cell.get("cell_type") == "code")
    points = {a.grade_id: a for a in expected.answers}

    def named(grade_id: str) -> str:
        answer = points[grade_id]
        return f"{grade_id} (part {answer.part}, {_points(answer.points)})"

    problems = []
    if missing_cells:
        problems.append(
            f"{len(missing_cells)} answer cell(s) missing: {_listing([named(g) for g in missing_cells])}, so "
            "those answers cannot be graded. Recovery: copy each missing cell (the cell, not only its text: "
            "nbgrader finds it by its metadata) from a fresh copy of the released diffusion.ipynb, write the "
            f"answer in it, save, and {RESUBMIT}."
        )
    unanswered = [a.grade_id for a in answers if not a.answered]
    if unanswered:
        problems.append(
            f"{len(unanswered)} written answer(s) not answered (empty or still {PLACEHOLDER!r}): "
            f"{_listing([named(g) for g in unanswered])}. Recovery: write each answer in its cell, save, "
            f"and {RESUBMIT}."
        )
    if not has_outputs:
        problems.append(
            "the notebook was saved without outputs (no code cell shows a result), so the figures your "
            "written answers refer to are not in it. Recovery: run every cell (Run > Run All Cells), save, "
            f"and {RESUBMIT}."
        )
    elif missing_figures:
        problems.append(
            f"{len(missing_figures)} figure(s) missing from the cells that should show them: "
            f"{_listing(list(missing_figures))}. Recovery: run those cells, save, and {RESUBMIT}."
        )
    return NotebookVerdict(True, tuple(problems), answers, missing_cells, missing_figures, has_outputs)


# ---------------------------------------------------------------------------------------- students
def main(argv: list[str] | None = None) -> int:
    """Print the verdict on a notebook for its student; 1 when it cannot be read (nothing to zip)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python public_checks/notebook.py diffusion.ipynb", file=sys.stderr)
        return 2
    verdict = inspect_notebook(Path(args[0]))
    if not verdict.readable:
        print(f"error: {verdict.problems[0]}", file=sys.stderr)
        return 1
    for problem in verdict.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not verdict.problems:
        print(verdict.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
