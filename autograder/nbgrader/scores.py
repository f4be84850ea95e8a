"""``nbgrader autograde``'s points for the autograded cells, computed in nbgrader's own process.

The notebook's kernel imports the student's package, so anything it returns, prints or patches (the
kit's grading helpers included) is the student's to choose, and nbgrader takes a code cell's score from
its outputs (``nbgrader.utils.determine_grade``: an error or stderr scores 0, else the first
``execute_result`` that is a number, else full points). Two preprocessors of nbgrader's Autograde
converter (``nbgrader_config.py``) take that choice away:

1. :class:`GradeSubmittedPackage`, before nbgrader's ``Execute``: grades the autograded folder's
   ``diffusion_models/`` (the submitted TODO files laid over the given package, as nbgrader copied them)
   with the sandboxed :class:`~autograder.grader.Grader` of ``python -m autograder grade``, once per
   notebook, every task group, before any student code runs in the kernel.
2. :class:`WriteAutograderScores`, after ``Execute``, ``IgnorePattern`` and ``LimitOutput`` and before
   ``SaveAutoGrades``: in each autograded cell (``check_<task>``, :func:`kit.notebook_source.check_grade_id`)
   it keeps what the kernel showed as text (stderr and errors become plain output, the kernel's values
   are dropped) and appends the grader's verdicts on the task and its points as the cell's only value,
   which is what ``SaveAutoGrades`` records. In every cell it replaces the server's absolute paths (the
   course folder, the student's folder, Python's prefix, the temporary folder, the home folder) by
   short names, so that neither formgrader's view nor the feedback HTML shows them.

The student's own notebook cells cannot change this: nbgrader restores the locked cells' source from
the gradebook, and a cell added by a student is no grade cell. The kernel itself runs fenced
(:mod:`autograder.nbgrader.kernel`). :func:`task_verdict` is the text of each autograded cell.
"""

from __future__ import annotations

import atexit
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, List, Unicode

from autograder.grader import DEVICES, Grader
from autograder.provenance import provenance_line
from autograder.report import Report
from kit.notebook_source import check_grade_id

KIT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding autograder/: the course, usually

REPORT = "autograder_report"  # the key of the grading in nbconvert's resources, from 1. to 2.
_GRADERS: dict[tuple[str, tuple[str, ...]], Grader] = {}  # one zygote per nbgrader process


def _grader(device: str, protected: tuple[str, ...]) -> Grader:
    key = (device, protected)
    if key not in _GRADERS:
        _GRADERS[key] = Grader(device=device, protected=tuple(Path(p) for p in protected))
        atexit.register(_GRADERS[key].close)
    return _GRADERS[key]


class GradeSubmittedPackage(NbGraderPreprocessor):
    """Grade the package beside the notebook being autograded, before its kernel starts."""

    device = Enum(
        DEVICES, default_value="auto", help="where the student's tensors live (auto: CUDA when available)"
    ).tag(config=True)
    protected = List(
        Unicode(),
        default_value=[],
        help="folders no grading child may read, besides the kit's own (e.g. the course folder)",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        folder = Path(resources["metadata"]["path"]).resolve()
        started = time.monotonic()
        report = _grader(self.device, tuple(self.protected)).grade(folder)
        resources[REPORT] = report
        self.log.info(
            "Autograder (outside the kernel), %s in %.1f s: %s [%s]",
            resources.get("nbgrader", {}).get("student", folder),
            time.monotonic() - started,
            report.summary().replace("\n", " "),
            provenance_line(report.provenance or {}),
        )
        if report.grader_errors:
            self.log.error("%d checks hit an error of the grader itself", len(report.grader_errors))
        return nb, resources


def server_paths(folder: Path) -> list[tuple[re.Pattern[str], str]]:
    """(absolute path as a pattern, what the feedback shows instead), the longest path first: the
    student's folder, the course folder above it (and the kit's, where it lies elsewhere), Python's
    prefixes, the temporary and home folders."""
    folder = folder.resolve()
    course = folder.parents[2] if len(folder.parents) > 2 else folder  # autograded/<student>/<assignment>
    names = {
        str(folder): ".",
        str(course): "<course>",
        sys.prefix: "<python>",
        sys.base_prefix: "<python>",
        tempfile.gettempdir(): "<tmp>",
        str(Path.home()): "~",
    }
    names.setdefault(str(KIT_ROOT), "<course>")  # the kit the kernel imports, when installed elsewhere
    for path in list(names):
        resolved = str(Path(path).resolve())
        names.setdefault(resolved, names[path])
    ordered = sorted((p for p in names if len(p) > 1), key=len, reverse=True)
    return [(re.compile(re.escape(p) + r"(?![\w.-])"), names[p]) for p in ordered]


def strip_paths(text: str, paths: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, name in paths:
        text = pattern.sub(name, text)
    return text


def _strip_output(output: NotebookNode, paths: list[tuple[re.Pattern[str], str]]) -> None:
    if "text" in output:
        output.text = strip_paths(output.text, paths)
    if "traceback" in output:
        output.traceback = [strip_paths(line, paths) for line in output.traceback]
    if "evalue" in output:
        output.evalue = strip_paths(output.evalue, paths)
    for kind, value in output.get("data", {}).items():
        if kind.startswith("text/") and isinstance(value, str):
            output.data[kind] = strip_paths(value, paths)


def _as_text(output: NotebookNode) -> NotebookNode | None:
    """A kernel output as nbgrader cannot read a score from it: stderr and errors as plain output, values
    (the placeholder, or anything the student's code made the kernel return) dropped."""
    if output.output_type == "execute_result":
        return None
    if output.output_type == "error":
        return new_output("stream", name="stdout", text="\n".join(output.traceback) + "\n")
    if output.output_type == "stream" and output.name == "stderr":
        return new_output("stream", name="stdout", text=output.text)
    return output


def task_verdict(report: Report, task: str) -> tuple[float, str]:
    """The points of ``task`` in ``report`` and the verdicts as the notebook shows them: a summary line,
    the grading's notice if any, then one line per check (with its feedback when it failed)."""
    outcomes = [o for o in report.outcomes if o.check.task == task]
    earned = sum(o.score for o in outcomes)
    possible = sum(o.check.points for o in outcomes)
    public = (
        sum(o.score for o in outcomes if o.check.public),
        sum(o.check.points for o in outcomes if o.check.public),
    )
    lines = [
        f"Autograder, task {task}: {earned:g}/{possible:g} points (graded on {report.device}): public checks "
        f"{public[0]:g}/{public[1]:g}, hidden checks {earned - public[0]:g}/{possible - public[1]:g}"
    ]
    if report.notice:
        lines.append(report.notice)
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        where = "public" if outcome.check.public else "hidden"
        lines.append(f"[{mark}] {outcome.score:g}/{outcome.check.points:g}  {where}  {outcome.check.title}")
        if not outcome.passed:
            lines.append("       " + outcome.feedback.replace("\n", "\n       "))
    return round(float(earned), 6), "\n".join(lines)


class WriteAutograderScores(NbGraderPreprocessor):
    """Write each autograded cell's verdicts and points from :class:`GradeSubmittedPackage`'s grading."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        report = resources.get(REPORT)
        if not isinstance(report, Report):
            raise RuntimeError(
                "WriteAutograderScores needs GradeSubmittedPackage to run before nbgrader's Execute "
                "(nbgrader_config.py: Autograde.autograde_preprocessors)"
            )
        self._tasks = {check_grade_id(task): task for task in report.by_task()}
        self._paths = server_paths(Path(resources["metadata"]["path"]))
        return super().preprocess(nb, resources)

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code":
            return cell, resources
        if utils.is_grade(cell) and not utils.is_solution(cell):
            self._score(cell, resources[REPORT])
        for output in cell.outputs:
            _strip_output(output, self._paths)
        return cell, resources

    def _score(self, cell: NotebookNode, report: Report) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"]["points"])
        task = self._tasks.get(grade_id)
        if task is None:
            earned, text = 0.0, f"Autograder: {grade_id} is no task of the autograder; 0 points."
            self.log.error("autograded cell %s matches no task of the autograder: scored 0", grade_id)
        else:
            earned, text = task_verdict(report, task)
            if earned > points:
                self.log.error("task %s: %g points earned, but its cell is worth %g", task, earned, points)
                earned = points
        kept = [shown for shown in map(_as_text, cell.outputs) if shown is not None]
        cell.outputs = [
            *kept,
            new_output("stream", name="stdout", text=text + "\n"),
            new_output(
                "execute_result",
                data={"text/plain": f"{earned:g}"},
                execution_count=cell.get("execution_count"),
            ),
        ]


def autograde_preprocessors(defaults: list[Any]) -> list[Any]:
    """nbgrader's Autograde preprocessors with the two of this module in place: grading before
    ``Execute``, scores written just before ``SaveAutoGrades``."""
    names = [p if isinstance(p, str) else p.__name__ for p in defaults]
    names = [name.rsplit(".", 1)[-1] for name in names]
    if "Execute" not in names or "SaveAutoGrades" not in names:
        raise ValueError(f"nbgrader's Autograde preprocessors changed: {names}")
    chosen = list(defaults)
    chosen.insert(names.index("SaveAutoGrades"), WriteAutograderScores)
    chosen.insert(names.index("Execute"), GradeSubmittedPackage)
    return chosen
