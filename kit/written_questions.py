"""The written questions of the text notebook ``solutions/diffusion.md``: question, model answer, rubric
and the figures each refers to, read from its cells' ``kit`` directives and checked against each other.

A written question is four kinds of cell, tied together by the answer's name:

- ``kit: {question: <name>}`` (markdown): the question as students read it.
- ``kit: {answer: <name>, part, points, title[, figures]}`` (markdown, after the question): the model
  answer (nbgrader's manually graded answer cell); ``title`` is the question's name in the outline,
  ``figures`` the figures (below) the question asks about, in the order the student's PDF shows them.
- ``kit: {rubric: <name>}`` (markdown, after the answer): the rubric, one item a line,
  ``- **<points> point(s).** <what earns them>`` (continuation lines indented); the items' points add
  up to the answer's. Instructors only: the notebook never holds it (:mod:`kit.rubric` writes it out).
- ``kit: {figure: <what it shows>}`` (code): a cell whose saved output should hold a figure; an
  answer's ``figures`` name such cells by what they show.

Model answers and rubrics stay on the instructors' side; :func:`outline` is what the notebook carries
for the student's PDF (``public_checks/written_pdf.py``): titles, points, questions and figure names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

RUBRIC_ITEM = re.compile(r"^- \*\*(?P<points>\d+(?:\.\d+)?) points?\.\*\* (?P<text>\S.*)$")


class WrittenTextError(ValueError):
    """A written question of the text notebook that does not hold together, said by the answer's name."""


@dataclass(frozen=True)
class RubricItem:
    points: float
    text: str  # Markdown, one line


@dataclass(frozen=True)
class WrittenQuestion:
    name: str
    part: str
    points: float
    title: str
    question: str  # Markdown
    model_answer: str  # Markdown
    figures: tuple[str, ...]
    rubric: tuple[RubricItem, ...]

    @property
    def grade_id(self) -> str:
        """nbgrader's grade_id of the answer cell."""
        return f"answer_{self.name}"


def parse_rubric(name: str, text: str) -> tuple[RubricItem, ...]:
    """The items of the rubric cell of answer ``name``: ``- **N points.** text`` lines, each continued by
    lines indented two spaces."""
    items: list[list] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = RUBRIC_ITEM.match(line)
        if match:
            items.append([float(match["points"]), match["text"]])
        elif line.startswith("  ") and items:
            items[-1][1] += " " + line.strip()
        else:
            raise WrittenTextError(
                f"rubric of answer {name!r}, line {number}: {line!r} is no rubric item; write "
                "`- **<points> point(s).** <what earns them>`, continued by lines indented two spaces"
            )
    if not items:
        raise WrittenTextError(f"rubric of answer {name!r} has no item (`- **1 point.** ...`)")
    return tuple(RubricItem(points, text) for points, text in items)


def _kit(cell: NotebookNode) -> dict:
    return dict(cell.metadata.get("kit", {}))


def _one(cells: dict[str, list[int]], kind: str, name: str, where: str) -> int:
    found = cells.get(name, [])
    if len(found) != 1:
        raise WrittenTextError(
            f"answer {name!r} needs exactly one {kind} cell (`kit: {{{kind}: {name}}}`) {where}; "
            f"found {len(found)}"
        )
    return found[0]


def written_questions(cells: Sequence[NotebookNode]) -> list[WrittenQuestion]:
    """The written questions of the text notebook's ``cells``, in notebook order (the outline's)."""
    questions: dict[str, list[int]] = {}
    rubrics: dict[str, list[int]] = {}
    figures: dict[str, list[int]] = {}
    answers: list[int] = []
    for index, cell in enumerate(cells):
        kit = _kit(cell)
        if "question" in kit:
            questions.setdefault(str(kit["question"]), []).append(index)
        elif "rubric" in kit:
            rubrics.setdefault(str(kit["rubric"]), []).append(index)
        elif "figure" in kit:
            figures.setdefault(str(kit["figure"]), []).append(index)
        elif "answer" in kit:
            answers.append(index)
    names = [str(cells[i].metadata["kit"]["answer"]) for i in answers]
    for kind, found in (("question", questions), ("rubric", rubrics)):
        strays = sorted(set(found) - set(names))
        if strays:
            raise WrittenTextError(f"{kind} cells for {strays}, which no answer cell names")
    twice = sorted(name for name, where in figures.items() if len(where) > 1)
    if twice:
        raise WrittenTextError(f"more than one cell holds the figures {twice}: give each its own name")
    out = []
    for index, name in zip(answers, names, strict=True):
        out.append(_question(cells, index, name, questions, rubrics, figures))
    return out


def _question(
    cells: Sequence[NotebookNode],
    index: int,
    name: str,
    questions: dict[str, list[int]],
    rubrics: dict[str, list[int]],
    figures: dict[str, list[int]],
) -> WrittenQuestion:
    kit = _kit(cells[index])
    question = _one(questions, "question", name, "before it")
    rubric = _one(rubrics, "rubric", name, "after it")
    if not question < index < rubric:
        raise WrittenTextError(
            f"answer {name!r}: its question cell comes before it, its rubric cell after it"
        )
    if not str(kit.get("title", "")).strip():
        raise WrittenTextError(f"answer {name!r} needs a `title` (its name in the outline)")
    wanted = [str(f) for f in kit.get("figures", [])]
    missing = [f for f in wanted if f not in figures]
    if missing:
        raise WrittenTextError(
            f"answer {name!r} refers to figures {missing}, which no code cell holds (`kit: {{figure: ...}}`)"
        )
    items = parse_rubric(name, cells[rubric].source)
    total = sum(item.points for item in items)
    if total != float(kit["points"]):
        raise WrittenTextError(
            f"rubric of answer {name!r}: its items add up to {total:g} points, the answer is worth "
            f"{float(kit['points']):g}"
        )
    return WrittenQuestion(
        name=name,
        part=str(kit["part"]),
        points=float(kit["points"]),
        title=str(kit["title"]),
        question=cells[question].source,
        model_answer=cells[index].source,
        figures=tuple(wanted),
        rubric=items,
    )


def outline(questions: Sequence[WrittenQuestion]) -> list[dict]:
    """What the student's notebook carries about its written questions (``metadata.kit.written``), in
    order: what the student's PDF needs beside ``kit.graded`` (grade_id, part, points), and neither a
    model answer nor a rubric."""
    return [
        {
            "grade_id": q.grade_id,
            "title": q.title,
            "question": q.question,
            "figures": list(q.figures),  # what each shows: the figure cells' `kit: {figure: ...}`
        }
        for q in questions
    ]
