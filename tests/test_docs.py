"""docs/assignment.md, the assignment contract: its task table names exactly the autograder's tasks,
each with the autograder's points, and the README links to it."""

from __future__ import annotations

import re

from autograder.checks import all_groups
from kit import REPO_ROOT

CONTRACT = REPO_ROOT / "docs" / "assignment.md"
TABLE_HEADING = "## Tasks at a glance"
TASK_ID = re.compile(r"\d+\.\d+\.\d+[a-z]?")


def task_table(text: str) -> dict[str, str]:
    """The rows of the table under TABLE_HEADING: first cell (the task id, backticks stripped) -> points cell."""
    assert TABLE_HEADING in text, f"docs/assignment.md has no {TABLE_HEADING!r} section"
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, f"no table under {TABLE_HEADING!r} in docs/assignment.md"
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[0] == "task" and header[-1] == "points", f"unexpected table header {header}"
    table: dict[str, str] = {}
    for row in rows[2:]:  # after the header and the --- line
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        task = cells[0].strip("`")
        assert TASK_ID.fullmatch(task), f"row {row!r}: {task!r} is not a task id"
        assert task not in table, f"task {task} has two rows in docs/assignment.md"
        table[task] = cells[-1]
    return table


def test_contract_task_table_matches_the_autograder():
    table = task_table(CONTRACT.read_text(encoding="utf-8"))
    points: dict[str, float] = {}
    for group in all_groups():
        for task in group.tasks:
            points[task] = sum(c.points for c in group.checks if c.task == task)
    missing = sorted(set(points) - set(table))
    extra = sorted(set(table) - set(points))
    assert not missing, f"docs/assignment.md's task table lacks task(s) {missing} that the autograder grades"
    assert not extra, (
        f"docs/assignment.md's task table lists task(s) {extra} that the autograder does not grade"
    )
    wrong = {task: (table[task], points[task]) for task in points if float(table[task]) != points[task]}
    assert not wrong, f"docs/assignment.md's points (doc, autograder) disagree: {wrong}"


def test_readme_links_the_contract():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/assignment.md)" in readme, "README.md must link docs/assignment.md"
    assert "shared/spec/" not in readme, "README.md still points to the spec outside the repository"
