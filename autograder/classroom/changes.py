"""Whose grade moved between two gradings, and why: ``changes.csv`` and ``changes.md``.

grade-all writes them when it regrades submissions that another grader graded (a fixed check, new
points, another hint policy); ``python -m autograder changes OLD NEW`` compares any two folders of
results: grade-all's ``out`` folder (``results/<student>/results.json``), a Gradescope export or any
folder holding one ``<student>/results.json`` per student. Per student and task: the old and new points
and the checks whose score moved them (a check is known by its number and name in results.json).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..provenance import short
from ..report import write_atomically

FIELDS = ["student", "task", "old_points", "new_points", "difference", "checks"]


@dataclass(frozen=True)
class Change:
    """One student's task whose points differ (``None``: the task was not graded on that side)."""

    student: str
    task: str
    old: float | None
    new: float | None
    checks: tuple[str, ...]  # "2.1.2.3 task 2.1.2: ... 0 -> 4"

    @property
    def difference(self) -> float:
        return (self.new or 0.0) - (self.old or 0.0)


# ---------------------------------------------------------------------------------------- reading
def task_of(test: dict[str, Any]) -> str:
    """The task of a results.json test: its number is ``<task>.<n>`` (``2.1.1a.3``)."""
    return str(test.get("number", "")).rsplit(".", 1)[0]


def task_points(results: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """task -> (points earned, points possible) of one results.json."""
    totals: dict[str, tuple[float, float]] = {}
    for test in results.get("tests", []):
        earned, possible = totals.get(task_of(test), (0.0, 0.0))
        totals[task_of(test)] = (
            earned + float(test.get("score", 0)),
            possible + float(test.get("max_score", 0)),
        )
    return totals


def load_folder(folder: Path) -> dict[str, dict[str, Any]]:
    """student -> results.json of a folder of results (module docstring); ValueError when it has none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    root = folder / "results" if (folder / "results").is_dir() else folder
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("results.json")):
        student = path.parent.relative_to(root).as_posix() if path.parent != root else path.parent.name
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(results, dict) and isinstance(results.get("tests"), list):
            found[student] = results
    if not found:
        raise ValueError(f"no results.json under {folder} (expected <student>/results.json)")
    return found


# ---------------------------------------------------------------------------------------- comparing
def _checks(results: dict[str, Any], task: str) -> dict[str, float]:
    return {
        f"{test.get('number')} {test.get('name')}": float(test.get("score", 0))
        for test in results.get("tests", [])
        if task_of(test) == task
    }


def student_changes(student: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
    """The tasks of one student whose points differ between two results.json (either may be missing)."""
    old_points, new_points = task_points(old or {}), task_points(new or {})
    changes = []
    for task in dict.fromkeys([*old_points, *new_points]):
        before, after = old_points.get(task, (None,))[0], new_points.get(task, (None,))[0]
        if before == after:
            continue
        old_checks, new_checks = _checks(old or {}, task), _checks(new or {}, task)
        moved = tuple(
            f"{check}: {old_checks.get(check, '-')} -> {new_checks.get(check, '-')}"
            for check in dict.fromkeys([*old_checks, *new_checks])
            if old_checks.get(check) != new_checks.get(check)
        )
        changes.append(Change(student, task, before, after, moved))
    return changes


def compare(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Change]:
    """Every change between two gradings of a class, by student (sorted), then task."""
    return [
        c
        for student in sorted(old.keys() | new.keys())
        for c in student_changes(student, old.get(student), new.get(student))
    ]


# ---------------------------------------------------------------------------------------- the report
def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def csv_text(changes: list[Change]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FIELDS)
    for c in changes:
        writer.writerow(
            [c.student, c.task, _points(c.old), _points(c.new), f"{c.difference:+g}", "; ".join(c.checks)]
        )
    return text.getvalue()


def markdown_text(changes: list[Change], compared: int, old_label: str, new_label: str) -> str:
    students = sorted({c.student for c in changes})
    lines = [
        f"# Grade changes: {old_label} -> {new_label}",
        "",
        f"{compared} students compared; {len(students)} with different points"
        + (f": {', '.join(students)}." if students else "."),
    ]
    if changes:
        lines += [
            "",
            "| student | task | old | new | change | checks that moved |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in changes:
            checks = "<br>".join(check.replace("|", "\\|") for check in c.checks)
            lines.append(
                f"| {c.student} | {c.task} | {_points(c.old)} | {_points(c.new)} | {c.difference:+g} | {checks} |"
            )
    return "\n".join(lines) + "\n"


def regrade_labels(grader: str) -> tuple[str, str]:
    """The report's old and new labels when grade-all regrades with ``grader`` (its fingerprint)."""
    return "the previous grader", f"grader {short(grader)}"


def write_report(changes: list[Change], out: Path, compared: int, old_label: str, new_label: str) -> None:
    """``out/changes.csv`` and ``out/changes.md`` (atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "changes.csv", csv_text(changes))
    write_atomically(out / "changes.md", markdown_text(changes, compared, old_label, new_label))


CHECK_START = re.compile(r"; (?=\S+ task \S+: )")  # "; " then the next check's "<number> task <id>: "
COMPARED = re.compile(r"^(\d+) students compared; ", re.M)


def read_report(out: Path) -> tuple[list[Change], int] | None:
    """The changes and the number of students compared of a report :func:`write_report` wrote in
    ``out``; None when there is none (grade-all merge joins its shards' reports)."""
    try:
        text = (out / "changes.csv").read_text(encoding="utf-8")
        compared = COMPARED.search((out / "changes.md").read_text(encoding="utf-8"))
    except OSError:
        return None
    if compared is None:
        return None
    changes = [
        Change(
            row["student"],
            row["task"],
            float(row["old_points"]) if row["old_points"] else None,
            float(row["new_points"]) if row["new_points"] else None,
            tuple(CHECK_START.split(row["checks"])) if row["checks"] else (),
        )
        for row in csv.DictReader(io.StringIO(text))
    ]
    return changes, int(compared.group(1))


def compare_folders(old: Path, new: Path, out: Path | None) -> int:
    """``python -m autograder changes OLD NEW [--out DIR]``: 0 when no grade moved, 1 when some did."""
    before, after = load_folder(old), load_folder(new)
    changes = compare(before, after)
    compared = len(before.keys() | after.keys())
    if out is None:
        print(markdown_text(changes, compared, str(old), str(new)), end="")
    else:
        write_report(changes, out, compared, str(old), str(new))
        print(f"wrote {out / 'changes.csv'} and {out / 'changes.md'}: {len(changes)} changed task grades")
    return 1 if changes else 0
