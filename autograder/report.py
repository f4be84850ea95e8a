"""The verdicts of one grading as a printed table and as Gradescope's results.json.

results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``score``, ``output``,
``stdout_visibility`` and ``tests``, one per check, each with ``name``, ``number``, ``score``,
``max_score``, ``status`` (passed/failed), ``output`` (the feedback) and ``visibility``; what a student
sees of it, and when, is the visibility policy's (:mod:`autograder.gradescope.visibility`). Feedback
holds no timings, so grading a submission twice gives the same tests. ``extra_data.provenance`` (stored
by Gradescope, never shown) says what produced the grade (:mod:`autograder.provenance`).
"""

from __future__ import annotations

import json
import os
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .public.core import Outcome
from .public.notebook import NotebookVerdict


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a hidden partial file and a rename: readers see the old file or
    the whole new one, never half of it, even if the writer is killed."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unreadable, or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def task_totals(outcomes: Sequence[Outcome]) -> dict[str, tuple[float, float]]:
    """task -> (points earned, points possible) over ``outcomes``, tasks in their first outcome's order."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for outcome in outcomes:
        totals[outcome.check.task][0] += outcome.score
        totals[outcome.check.task][1] += outcome.check.points
    return {task: (earned, possible) for task, (earned, possible) in totals.items()}


def points_text(totals: dict[str, tuple[float, float]]) -> str:
    """ "2.1.1a 10/10, 2.1.1b 4/10, ..." of :func:`task_totals`."""
    return ", ".join(f"{task} {earned:g}/{possible:g}" for task, (earned, possible) in totals.items())


@dataclass
class Report:
    outcomes: list[Outcome]
    device: str
    seconds: float
    notice: str = ""
    provenance: dict[str, Any] | None = None  # autograder.provenance.provenance(): what graded it
    notebook: NotebookVerdict | None = None  # the submitted notebook's verdict; its points are not here

    @property
    def score(self) -> float:
        return sum(o.score for o in self.outcomes)

    @property
    def max_score(self) -> float:
        return sum(o.check.points for o in self.outcomes)

    @property
    def grader_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.grader_error]

    def by_task(self) -> dict[str, tuple[float, float]]:
        return task_totals(self.outcomes)

    def summary(self) -> str:
        tasks = points_text(self.by_task())
        lines = [f"Graded on {self.device}: {self.score:g}/{self.max_score:g} points ({tasks})."]
        if self.notice:
            lines.append(self.notice)
        if self.grader_errors:
            lines.append(
                f"{len(self.grader_errors)} checks hit an error of the grader itself; please tell the course staff."
            )
        return "\n".join(lines)

    def tests(self) -> list[dict[str, Any]]:
        """One results.json test per check, in order, each with the check's own visibility."""
        tests = []
        numbers: dict[str, int] = defaultdict(int)
        for outcome in self.outcomes:
            check = outcome.check
            numbers[check.task] += 1
            tests.append(
                {
                    "name": f"task {check.task}: {check.title}",
                    "number": f"{check.task}.{numbers[check.task]}",
                    "score": outcome.score,
                    "max_score": check.points,
                    "status": "passed" if outcome.passed else "failed",
                    "output": outcome.feedback,
                    "visibility": check.visibility,
                }
            )
        return tests

    def results_json(self, visibility: str | None = None) -> dict[str, Any]:
        """Gradescope's results.json under the visibility policy (``autograder/policy.py`` when None)."""
        from .gradescope.visibility import results_json  # it reads this module's task totals

        results = results_json(self, visibility)
        if self.provenance is not None:
            results.setdefault("extra_data", {})["provenance"] = self.provenance
        return results

    def write(self, path: Path) -> None:
        """Write results.json atomically (a half-written file is never left behind)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(self.results_json(), indent=2) + "\n")

    def table(self, width: int = 110) -> str:
        """task | points | verdict | check, with the feedback of each failed check under it."""
        rows = [f"{'task':<7} {'points':>7}  {'verdict':<7}  check / feedback", "-" * width]
        indent = " " * 26
        for outcome in self.outcomes:
            check = outcome.check
            points = f"{outcome.score:g}/{check.points:g}"
            verdict = "passed" if outcome.passed else "FAILED"
            rows.append(
                f"{check.task:<7} {points:>7}  {verdict:<7}  {textwrap.shorten(check.title, width - 26)}"
            )
            if not outcome.passed:
                for line in outcome.feedback.splitlines():
                    rows.extend(
                        textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent + "  ")
                        or [""]
                    )
        rows.append("-" * width)
        for task, (earned, possible) in self.by_task().items():
            rows.append(f"{task:<7} {f'{earned:g}/{possible:g}':>7}  total")
        rows.append(self.summary())
        if self.notebook is not None:
            rows.append(self.notebook.summary())
        return "\n".join(rows)


def failure_results(message: str, seconds: float) -> dict[str, Any]:
    """results.json for a grading that could not complete: zero, and why."""
    return {"score": 0.0, "execution_time": int(round(seconds)), "output": message, "tests": []}
