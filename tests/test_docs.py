"""The task tables of the docs against the task registry (autograder/public/tasks.py): README.md's is
the registry's own table, and docs/assignment.md's (the assignment contract, which the README links)
names exactly the registry's tasks, each with its files and points, which the autograder's checks give."""

from __future__ import annotations

import difflib
import re

from autograder.checks import all_groups
from autograder.public.tasks import BY_ID, markdown_table
from kit import REPO_ROOT

CONTRACT = REPO_ROOT / "docs" / "assignment.md"
TABLE_HEADING = "## Tasks at a glance"
TASK_ID = re.compile(r"\d+\.\d+\.\d+[a-z]?")


def task_table(text: str) -> dict[str, list[str]]:
    """The rows of the table under TABLE_HEADING: first cell (the task id, backticks stripped) -> its cells."""
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
        table[task] = cells
    return table


def test_contract_task_table_matches_the_autograder():
    table = {task: cells[-1] for task, cells in task_table(CONTRACT.read_text(encoding="utf-8")).items()}
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


def test_contract_task_table_names_the_registry_files():
    for task, cells in task_table(CONTRACT.read_text(encoding="utf-8")).items():
        named = re.findall(r"`([^`]+\.py)`", cells[1])
        assert tuple(named) == BY_ID[task].files, (
            f"docs/assignment.md names {named} for task {task}; the task registry "
            f"(autograder/public/tasks.py) says {list(BY_ID[task].files)}"
        )


README_TASKS_HEADING = "## The tasks"


def readme_task_table(text: str) -> str:
    """The Markdown table (its lines starting with '|') under README_TASKS_HEADING."""
    assert README_TASKS_HEADING in text, f"README.md has no {README_TASKS_HEADING!r} section"
    section = text.split(README_TASKS_HEADING, 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_readme_task_table_is_the_registry():
    readme = readme_task_table((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    registry = markdown_table()
    diff = "\n".join(
        difflib.unified_diff(readme.splitlines(), registry.splitlines(), "README.md", "registry", lineterm="")
    )
    assert readme == registry, (
        "README.md's task table disagrees with the task registry (autograder/public/tasks.py): paste "
        f"`python -m autograder list --markdown` under {README_TASKS_HEADING!r}\n{diff}"
    )
