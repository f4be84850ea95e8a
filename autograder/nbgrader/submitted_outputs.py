"""The student's own figures reach the TA: ``nbgrader autograde`` keeps what the submitted notebook's
cells show instead of running them again.

nbgrader clears every output (``ClearOutput``, its first sanitizing step) and runs the whole notebook
again; here that meant its SMALL settings, so formgrader and the feedback showed a 2-class noise grid in
place of the samples the written answers of part 2.3 are about. Nothing needs that run: every
autograded cell's points come from the sandboxed grader (:mod:`autograder.nbgrader.scores`), not from
the kernel. So:

- :class:`KeepSubmittedOutputs` takes ``ClearOutput``'s place: it clears the outputs of the autograded
  cells (they run again, fenced, and get the grader's verdicts) and keeps the submitted outputs of
  every other code cell, each reduced to what is safe to show a TA in a browser: text, streams,
  errors, and PNG/JPEG images whose data is base64 and of bounded size. HTML, JavaScript, SVG, widgets
  and anything else a notebook can hold are dropped (formgrader renders outputs in the TA's Jupyter
  session, where a script would act with the TA's rights), and so is their metadata.
- ``FencedExecute`` (:mod:`autograder.nbgrader.kernel`) then runs only the autograded cells, in the
  fenced kernel: the student's own cells never run at autograde time.

What the TA sees is therefore what the student's notebook showed when it was saved: the student's
figures, or none (the notebook's verdict then says which are missing).
"""

from __future__ import annotations

import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

IMAGES = ("image/png", "image/jpeg")
TEXT = ("text/plain",)
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def is_autograded(cell: NotebookNode) -> bool:
    """An autograded code cell (nbgrader's grade cell that is no solution: a task's check cell)."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def safe_output(output: NotebookNode, max_image_chars: int) -> NotebookNode | None:
    """``output`` with only what is safe to render: None when nothing is left."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return new_output("stream", name=name, text=str(output.get("text", "")))
    if kind == "error":
        traceback = [str(line) for line in output.get("traceback", [])]
        return new_output(
            "error",
            ename=str(output.get("ename", "")),
            evalue=str(output.get("evalue", "")),
            traceback=traceback,
        )
    if kind not in ("display_data", "execute_result"):
        return None
    data = {}
    for mime, value in dict(output.get("data", {})).items():
        text = "".join(value) if isinstance(value, list) else value
        if not isinstance(text, str):
            continue
        if mime in IMAGES and len(text) <= max_image_chars and BASE64.fullmatch(text):
            data[mime] = text
        elif mime in TEXT:
            data[mime] = text
    if not data:
        return None
    if kind == "execute_result":
        count = output.get("execution_count")
        return new_output(kind, data=data, execution_count=count if isinstance(count, int) else None)
    return new_output(kind, data=data)


class KeepSubmittedOutputs(NbGraderPreprocessor):
    """``ClearOutput`` for the autograded cells only; every other code cell keeps its safe outputs."""

    max_image_bytes = Integer(
        8 * 2**20, help="an image larger than this (as stored, base64) is dropped from the kept outputs"
    ).tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code":
            return cell, resources
        if is_autograded(cell):
            cell.outputs, cell.execution_count = [], None
        else:
            kept = (safe_output(output, self.max_image_bytes) for output in cell.get("outputs", []))
            cell.outputs = [output for output in kept if output is not None]
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        return cell, resources


def sanitize_preprocessors(defaults: list) -> list:
    """nbgrader's sanitizing preprocessors with :class:`KeepSubmittedOutputs` in ``ClearOutput``'s place."""
    names = [(p if isinstance(p, str) else p.__name__).rsplit(".", 1)[-1] for p in defaults]
    if names.count("ClearOutput") != 1:
        raise ValueError(f"nbgrader's sanitizing preprocessors changed: {names}")
    chosen = list(defaults)
    chosen[names.index("ClearOutput")] = KeepSubmittedOutputs
    return chosen
