"""The notebook's verdict (:mod:`autograder.public.notebook`) where nbgrader grades: a notebook that
cannot be read never stops the batch nor costs the package its points, and every problem reaches the TA.

nbgrader reads each submitted notebook with nbformat before any preprocessor runs; one that is not
valid JSON raises ``NotJSONError``, nbgrader logs "Removing failed assignment", leaves the student out
of ``autograded/`` and formgrader, gives 0 for the whole notebook (the package's 100 points included)
and exits 1. So the recovery happens before nbgrader reads it:

1. :func:`replace_unreadable` (``make nbgrader-collect`` calls it for each student, and
   ``nbgrader_config.py`` makes it Autograde's ``pre_convert_hook`` for notebooks that reach
   ``submitted/`` another way) moves an unreadable notebook aside, to ``diffusion.ipynb.unreadable``
   (kept byte for byte for the TA), and writes the released notebook in its place, with the verdict in
   its metadata (``kit.placeholder``). nbgrader then autogrades it as any notebook: the package's points
   are the autograder's, the written answers are the release's "YOUR ANSWER HERE" (0 until the student
   sends a readable notebook and it is autograded again).
2. :class:`FlagNotebook`, nbgrader's first sanitizing preprocessor, reads the verdict of the notebook as
   submitted (or the placeholder's), puts it as the notebook's first cell (formgrader and the feedback
   show it above everything else), writes it in nbgrader's log and flags the submission in the
   gradebook (formgrader's flag, shown in its list of submissions).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.public.notebook import (
    NotebookVerdict,
    inspect_notebook,
    read_expected,
    verdict_of,
)
from autograder.submission import GIVEN_NOTEBOOK

UNREADABLE_SUFFIX = ".unreadable"  # not .ipynb: nbgrader never takes it for a notebook
FLAG_CELL_ID = "notebook-verdict"


def kept_name(notebook: Path) -> Path:
    """Where the unreadable notebook is kept: ``diffusion.ipynb.unreadable`` (``...unreadable-2`` when
    that exists already)."""
    candidate, number = notebook.with_name(notebook.name + UNREADABLE_SUFFIX), 1
    while candidate.exists():
        number += 1
        candidate = notebook.with_name(f"{notebook.name}{UNREADABLE_SUFFIX}-{number}")
    return candidate


def substitute_placeholder(notebook: Path, verdict: NotebookVerdict, release: Path = GIVEN_NOTEBOOK) -> Path:
    """Keep the unreadable (or missing) ``notebook`` aside and write the released notebook in its place,
    ``verdict`` in its metadata; returns where the original is (``notebook`` itself when there was none)."""
    kept = notebook
    if notebook.exists():
        kept = kept_name(notebook)
        os.replace(notebook, kept)
    placeholder = json.loads(release.read_text(encoding="utf-8"))
    placeholder["metadata"].setdefault("kit", {})["placeholder"] = {
        "problems": list(verdict.problems),
        "flag": verdict.flag,
        "original": kept.name if kept != notebook else None,
    }
    notebook.write_text(json.dumps(placeholder, indent=1) + "\n", encoding="utf-8")
    return kept


def replace_unreadable(notebook: Path, release: Path = GIVEN_NOTEBOOK) -> NotebookVerdict:
    """The verdict on ``notebook``; when it cannot be read (or is missing), the placeholder in its place."""
    verdict = inspect_notebook(notebook, read_expected(release))
    if not verdict.readable:
        substitute_placeholder(notebook, verdict, release)
    return verdict


def pre_convert_hook(assignment: str, student: str, notebooks: list[str], **_: Any) -> None:
    """nbgrader Autograde's ``pre_convert_hook``: each unreadable notebook replaced before nbgrader reads it."""
    del assignment, student
    for name in notebooks:
        replace_unreadable(Path(name))


def flag_text(problems: list[str], flag: str, placeholder: dict[str, Any] | None = None) -> str:
    """The notebook's first cell: what is wrong and what to do, for the TA (and, in the feedback, the
    student); ``placeholder``: the released notebook stands in for the submitted one."""
    paragraphs = [
        f"**Notebook check: {flag}.** The autograded points come from the package and do not depend on this."
    ]
    if placeholder is not None:
        kept = placeholder.get("original")
        where = f"is kept as `{kept}` beside this one" if kept else "was not in the submission"
        paragraphs.append(
            f"The submitted notebook {where}; this is the released notebook in its place, so that the "
            "package is autograded. Its written answers are the release's and score 0 until a readable "
            "notebook is submitted and autograded again (`nbgrader autograde diffusion --student <id> --force`)."
        )
    paragraphs.append("\n".join(f"- {problem}" for problem in problems))
    return "\n\n".join(paragraphs)


class FlagNotebook(NbGraderPreprocessor):
    """The verdict on the submitted notebook as its first cell, in nbgrader's log and as formgrader's flag."""

    release = Unicode(str(GIVEN_NOTEBOOK), help="the released notebook (what a submission should hold)").tag(
        config=True
    )

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        placeholder = nb.metadata.get("kit", {}).get("placeholder")
        if placeholder:
            problems, flag = list(placeholder["problems"]), placeholder["flag"]
        else:
            verdict = verdict_of(nb, read_expected(Path(self.release)))
            problems, flag = list(verdict.problems), verdict.flag
        if not problems:
            return nb, resources
        nb.cells = [cell for cell in nb.cells if cell.get("id") != FLAG_CELL_ID]  # never two
        cell = new_markdown_cell(flag_text(problems, flag, placeholder or None))
        cell["id"] = FLAG_CELL_ID
        nb.cells.insert(0, cell)
        info = resources.get("nbgrader", {})
        student = info.get("student", "?")
        for problem in problems:
            self.log.warning("Notebook of %s (%s): %s", student, flag, problem)
        self._flag_in_gradebook(info)
        return nb, resources

    def _flag_in_gradebook(self, info: dict[str, Any]) -> None:
        if not info.get("db_url"):
            return
        with Gradebook(info["db_url"]) as gradebook:
            try:
                row = gradebook.find_submission_notebook(
                    info["notebook"], info["assignment"], info["student"]
                )
            except MissingEntry:
                return
            row.flagged = True
            gradebook.db.commit()
