"""The task registry (autograder/public/tasks.py) against what it describes: every file:symbol exists in
solutions/ and holds the task's solution markers, every marker lies in a symbol of its task, and the
autograder's groups and checks grade exactly the registry's tasks for the registry's points."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.checks import Group, all_groups
from autograder.public import PUBLIC_CHECKS
from autograder.public import sampling as public_sampling
from autograder.public.tasks import BY_ID, PARTS, TASKS, Task, markdown_table
from kit import SOLUTIONS_DIR
from kit.markers import find_regions


def _symbol_lines(path: Path, qualified: str) -> tuple[int, int]:
    """First and last line of the function or method ``qualified`` (``Class.method``) in ``path``: its
    def and its last statement (a region's END marker may follow that, its BEGIN marker may not)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    node = None
    for name in qualified.split("."):
        node = next(
            (n for n in body if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name), None
        )
        assert node is not None, f"{path.name} has no {qualified} (no {name!r} there)"
        body = node.body
    return node.lineno, node.end_lineno


def _regions(solutions: Path = SOLUTIONS_DIR) -> list[tuple[str, str, int, int]]:
    """(task, file relative to solutions/, begin, end) of every solution region."""
    found = []
    for path in sorted((solutions / "diffusion_models").rglob("*.py")):
        for region in find_regions(path.read_text(encoding="utf-8"), path):
            found.append((region.task, path.relative_to(solutions).as_posix(), region.begin, region.end))
    return found


def registry_disagreements(tasks: tuple[Task, ...], solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """What differs between ``tasks``' file:symbols and the solution markers under ``solutions``."""
    problems = []
    regions = _regions(solutions)
    spans: dict[str, list[tuple[str, int, int]]] = {}
    for task in tasks:
        for symbol in task.symbols:
            file, qualified = symbol.split(":", 1)
            path = solutions / file
            if not path.is_file():
                problems.append(f"task {task.id}: {file} is not in solutions/")
                continue
            first, last = _symbol_lines(path, qualified)
            spans.setdefault(task.id, []).append((file, first, last))
            if not any(t == task.id and f == file and first <= b <= last for t, f, b, _ in regions):
                problems.append(f"task {task.id}: {symbol} holds no solution marker of the task")
    for task_id, file, begin, _end in regions:
        if not any(f == file and first <= begin <= last for f, first, last in spans.get(task_id, [])):
            problems.append(
                f"{file}:{begin}: a solution region of task {task_id} outside the registry's symbols of it"
            )
    return problems


def test_every_registry_symbol_holds_its_markers_and_every_marker_a_registry_symbol():
    assert registry_disagreements(TASKS) == []


def test_a_symbol_without_the_tasks_markers_is_caught():
    moved = tuple(
        Task(t.id, t.title, ("diffusion_models/noise_scheduler.py:NoiseScheduler.add_noise",), t.group, 10, 7)
        if t.id == "2.1.2"
        else t
        for t in TASKS
    )
    problems = registry_disagreements(moved)
    assert any(
        "task 2.1.2: diffusion_models/noise_scheduler.py:NoiseScheduler.add_noise" in p for p in problems
    )
    assert any("a solution region of task 2.1.2 outside" in p for p in problems)


def test_a_missing_symbol_is_named():
    with pytest.raises(AssertionError, match="no NoiseScheduler.no_such_method"):
        registry_disagreements(
            (
                Task(
                    "2.1.2",
                    "t",
                    ("diffusion_models/noise_scheduler.py:NoiseScheduler.no_such_method",),
                    "g",
                    1,
                    0,
                ),
            )
        )


def test_the_groups_grade_exactly_the_registry_tasks_for_the_registry_points():
    graded = [task for group in all_groups() for task in group.tasks]
    assert sorted(graded) == sorted(BY_ID), "a task is graded by no group, or by two"
    for group in all_groups():
        assert {c.task for c in group.checks} == set(group.tasks), (
            f"group {group.name} has a task without checks"
        )
        for task in group.tasks:
            assert BY_ID[task].group == group.name
            mine = [c for c in group.checks if c.task == task]
            assert sum(c.points for c in mine) == BY_ID[task].points
            assert sum(c.points for c in mine if c.public) == BY_ID[task].public_points
    assert {c.task for c in PUBLIC_CHECKS} == {t.id for t in TASKS if t.public_points}


def test_a_group_whose_checks_miss_the_registry_points_refuses_to_load():
    with pytest.raises(ValueError, match=r"task 2\.2\.3: its checks give 9 points, 9 of them public"):
        Group("sampling", public_sampling.CHECKS)  # the hidden check left out


def test_a_group_with_checks_of_another_groups_task_refuses_to_load():
    sampling = next(g for g in all_groups() if g.name == "sampling")
    image = next(g for g in all_groups() if g.name == "image")
    with pytest.raises(ValueError, match=r"holds checks of tasks \['2\.3\.1'\]"):
        Group("sampling", sampling.checks + image.checks)


def test_ids_are_unique_and_every_part_is_named():
    assert len(BY_ID) == len(TASKS)
    assert [t.part for t in TASKS] == sorted(t.part for t in TASKS)  # the notebook's order
    assert {t.part for t in TASKS} == set(PARTS)
    assert all(0 <= t.public_points <= t.points for t in TASKS)


def test_the_markdown_table_has_a_row_per_task():
    rows = markdown_table().splitlines()[2:]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == [t.id for t in TASKS]
