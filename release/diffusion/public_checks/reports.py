"""One grading's verdicts in the forms CI reads: JUnit XML, a Markdown summary, GitHub Classroom's result.

Both command lines write these from a list of :class:`~.core.Outcome`: ``python -m autograder grade``
(every check, in the sandbox) and ``python -m public_checks`` (the public checks, in a student's own
repository, where this module ships). They read only what an outcome and its check say (task, key,
title, points, whether it passed, its feedback, whether the grader itself failed), so the same
verdicts give the same files either way, and nothing here knows an answer.

- JUnit XML (:func:`junit_xml`): one ``<testsuite>`` per task, one ``<testcase>`` per check with
  ``classname`` the task id and ``name`` the check's title; a failed check holds ``<failure>`` with its
  feedback (``<error>`` where the grader itself failed); the points sit in ``<properties>``
  (``points``, ``max_points``) of each case and each task. GitLab's ``artifacts:reports:junit``,
  Jenkins and GitHub's test reporters read it.
- Markdown (:func:`markdown_summary`): a table of points per task, then the feedback of each failed
  check; appended to ``$GITHUB_STEP_SUMMARY`` it shows on the run's page.
- GitHub Classroom (:func:`classroom_result`, :func:`classroom_output`): the result a grading step
  hands to ``classroom-resources/autograding-grading-reporter`` through a step output.
- :func:`exit_status`: the exit statuses both command lines share.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import Outcome

# Exit statuses of both command lines (``python -m autograder grade`` and ``python -m public_checks``).
GRADED = 0  # graded, and the score is at or above --fail-under (or no --fail-under was given)
BELOW = 1  # graded, and the score is below --fail-under
USAGE = 2  # a bad command line (argparse's own status)
GRADER_ERROR = 3  # the grader itself failed: it could not run, or a check hit an error of its own

# "not implemented: task X still raises NotImplementedError(...)" and "not run: ... task Y, which is
# not implemented yet": how a check reports a stub (autograder/public/core.py, explain_problem).
NOT_IMPLEMENTED = re.compile(r"^not implemented\b|\bwhich is not implemented yet\b")
# XML 1.0 cannot hold these, escaped or not; a student's program may print them into feedback.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class TaskResult:
    """The checks of one task and what they earned."""

    task: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(o.score for o in self.outcomes)

    @property
    def max_score(self) -> float:
        return sum(o.check.points for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def verdict(self) -> str:
        """passed, not implemented, grader error or failed."""
        if not self.failed:
            return "passed"
        if any(o.grader_error for o in self.failed):
            return "grader error"
        if len(self.failed) == len(self.outcomes) and all(
            NOT_IMPLEMENTED.search(o.feedback) for o in self.failed
        ):
            return "not implemented"
        return "failed"


def by_task(outcomes: Sequence[Outcome]) -> list[TaskResult]:
    """The outcomes grouped by task, tasks in the order they were graded."""
    tasks: dict[str, TaskResult] = {}
    for outcome in outcomes:
        tasks.setdefault(outcome.check.task, TaskResult(outcome.check.task)).outcomes.append(outcome)
    return list(tasks.values())


def exit_status(outcomes: Sequence[Outcome], fail_under: float | None = None) -> int:
    """GRADER_ERROR when a check hit an error of the grader's own (whatever the score), else BELOW when
    the score is below ``fail_under``, else GRADED."""
    if any(o.grader_error for o in outcomes):
        return GRADER_ERROR
    if fail_under is not None and sum(o.score for o in outcomes) < fail_under:
        return BELOW
    return GRADED


def _points(value: float) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------------------------------- JUnit XML
def _xml_text(text: str) -> str:
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _properties(parent: ET.Element, **values: str) -> None:
    properties = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)


def junit_xml(
    outcomes: Sequence[Outcome],
    name: str = "autograder",
    seconds: float = 0.0,
    properties: dict[str, str] | None = None,
) -> str:
    """JUnit XML: a ``<testsuite>`` per task (classname = task id), a ``<testcase>`` per check (name = its
    title), ``<failure>`` carrying the feedback (``<error>`` for the grader's own), points in properties;
    ``properties`` (what graded it: the kit's version, the grader's fingerprint) go to every suite's."""
    tasks = by_task(outcomes)
    errors = sum(o.grader_error for o in outcomes)
    failures = sum(not o.passed for o in outcomes) - errors
    root = ET.Element(
        "testsuites",
        name=name,
        tests=str(len(outcomes)),
        failures=str(failures),
        errors=str(errors),
        time=f"{seconds:.3f}",
    )
    for task in tasks:
        task_errors = sum(o.grader_error for o in task.outcomes)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"task {task.task}",
            tests=str(len(task.outcomes)),
            failures=str(len(task.failed) - task_errors),
            errors=str(task_errors),
            skipped="0",
        )
        _properties(
            suite, points=_points(task.score), max_points=_points(task.max_score), **(properties or {})
        )
        for outcome in task.outcomes:
            check = outcome.check
            case = ET.SubElement(suite, "testcase", classname=check.task, name=_xml_text(check.title))
            _properties(case, points=_points(outcome.score), max_points=_points(check.points), key=check.key)
            if not outcome.passed:
                feedback = _xml_text(outcome.feedback)
                kind = "error" if outcome.grader_error else "failure"
                element = ET.SubElement(
                    case,
                    kind,
                    message=feedback.splitlines()[0] if feedback else kind,
                    type="grader error" if outcome.grader_error else "check failed",
                )
                element.text = feedback
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------- Markdown
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fenced(text: str) -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


VERDICT_MARKS = {"passed": "✅", "failed": "❌", "not implemented": "⬜", "grader error": "⚠️"}


def markdown_summary(outcomes: Sequence[Outcome], title: str, notice: str = "") -> str:
    """A heading with the score, a table of points per task, then the feedback of each failed check."""
    tasks = by_task(outcomes)
    score, max_score = sum(t.score for t in tasks), sum(t.max_score for t in tasks)
    passed = sum(o.passed for o in outcomes)
    lines = [f"## {title}: {_points(score)}/{_points(max_score)} points", ""]
    if notice:
        lines += [notice, ""]
    lines += ["| task | points | checks passed | verdict |", "| :--- | ---: | ---: | :--- |"]
    for task in tasks:
        lines.append(
            f"| {task.task} | {_points(task.score)}/{_points(task.max_score)} "
            f"| {len(task.outcomes) - len(task.failed)}/{len(task.outcomes)} "
            f"| {VERDICT_MARKS[task.verdict]} {task.verdict} |"
        )
    lines.append(f"| **total** | **{_points(score)}/{_points(max_score)}** | {passed}/{len(outcomes)} | |")
    failed = [o for o in outcomes if not o.passed]
    if failed:
        lines += ["", "### What failed"]
        for outcome in failed:
            check = outcome.check
            lines += [
                "",
                f"**task {check.task}: {_cell(check.title)}** ({_points(outcome.score)}/{_points(check.points)} points)",
                "",
                _fenced(outcome.feedback),
            ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- Classroom
# The result a grading step hands to GitHub Classroom's reporter, as its graders make it: the JSON
# below, base64-encoded, as the step output ``result`` (classroom-resources/autograding-command-grader,
# src/main.js: generateResult() and core.setOutput('result', btoa(JSON.stringify(result)))). The
# reporter (classroom-resources/autograding-grading-reporter v1, src/main.js) reads it from the env
# variable <RUNNER ID IN CAPITALS>_RESULTS of its step, base64-decodes and JSON-parses it; it prints each
# test (status "pass" or not, its message), sends Classroom "Points <sum of tests[].score>/<max_score>"
# (src/notify-classroom.js) and fails its step when status is "fail" or "error". One test per task,
# so the points reach Classroom task by task.
CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "not implemented": "fail", "grader error": "error"}
MESSAGE_LIMIT = 4000  # characters of feedback per task: the whole result travels in one step output


def _task_message(task: TaskResult) -> str:
    passed = len(task.outcomes) - len(task.failed)
    head = (
        f"{passed}/{len(task.outcomes)} checks passed, {_points(task.score)}/{_points(task.max_score)} points"
    )
    parts = [head] + [f"{o.check.title}: {o.feedback}" for o in task.failed]
    message = "\n\n".join(parts)
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


def classroom_result(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """``{"version": 1, "status", "max_score", "tests": [one per task: name, status, score, max_score,
    message, test_code, filename, line_no, duration]}`` as Classroom's graders write it."""
    tasks = by_task(outcomes)
    tests = [
        {
            "name": f"task {task.task}",
            "status": CLASSROOM_STATUS[task.verdict],
            "score": task.score,
            "max_score": task.max_score,
            "message": _task_message(task),
            "test_code": "",
            "filename": "",
            "line_no": 0,  # the reporter prints " - line <line_no>" unless it is 0
            "duration": 0,
        }
        for task in tasks
    ]
    statuses = {test["status"] for test in tests}
    status = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
    return {"version": 1, "status": status, "max_score": sum(t.max_score for t in tasks), "tests": tests}


def classroom_output(outcomes: Sequence[Outcome]) -> str:
    """The encoded result: base64 of the compact JSON, one line."""
    return base64.b64encode(json.dumps(classroom_result(outcomes)).encode("utf-8")).decode("ascii")


def decode_classroom_output(encoded: str) -> dict[str, Any]:
    """What the reporter does with the output: base64-decode, then parse the JSON."""
    return json.loads(base64.b64decode(encoded).decode("utf-8"))


# ---------------------------------------------------------------------------------------- files
def append_text(path: Path | str, text: str) -> None:
    """Append ``text`` (a step summary is appended to, as GitHub expects of $GITHUB_STEP_SUMMARY)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def set_step_output(name: str, value: str, github_output: Path | str) -> None:
    """Append ``name=value`` to the $GITHUB_OUTPUT file: the step's output ``name``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) or "\n" in value:
        raise ValueError(f"a step output needs a plain name and a one-line value, got {name!r}")
    append_text(github_output, f"{name}={value}\n")
