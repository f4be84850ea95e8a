"""The hidden checks: one module per task group, each holding that group's hidden checks and its GROUP.

A task group is graded in one child process with one time limit, so a crash, hang or memory blow-up
costs only the tasks of that group. Which tasks a group grades, and their points, are the task
registry's (``autograder/public/tasks.py``): a group whose checks grade another task, or do not add up
to the registry's points and public points, refuses to load, naming the task. Adding a task group (see
image.py and robotics.py for recent ones):

1. Its tasks in ``TASKS`` of ``autograder/public/tasks.py``, with ``group="<name>"``.
2. ``autograder/public/<name>.py``: the group's probes (``@probe``, calling the student's code) and
   its public checks (``@check(..., public=True)``), listed in that module's ``CHECKS``.
3. ``autograder/checks/<name>.py``: its hidden checks and ``GROUP = Group("<name>", checks)``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from ..public.core import Check
from ..public.tasks import GROUP_NAMES, task, tasks_of_group

GROUP_MODULES = GROUP_NAMES  # the registry's groups, in the order of their first task


@dataclass(frozen=True)
class Group:
    """Tasks graded together in one child process, under one time limit. Its tasks are the registry's
    tasks of ``name``; its checks come ordered by task, the public ones of each task first."""

    name: str
    checks: tuple[Check, ...]
    time_limit_s: float = 90.0  # wall time for the whole group, child start-up included
    cpu_limit_s: float = 120.0  # RLIMIT_CPU of each child process of the group
    memory_limit_mb: int = 4096  # RLIMIT_AS headroom of each child on the CPU (not applied with CUDA)
    tasks: tuple[str, ...] = field(init=False)  # the registry's tasks of the group

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tasks_of_group(self.name))
        strays = sorted({c.task for c in self.checks} - set(self.tasks))
        if strays:
            raise ValueError(
                f"group {self.name!r} holds checks of tasks {strays} outside its tasks {self.tasks} "
                "(the task registry, autograder/public/tasks.py)"
            )
        keys = [c.key for c in self.checks]
        if len(keys) != len(set(keys)):
            raise ValueError(f"group {self.name!r} has two checks with one key")
        object.__setattr__(self, "checks", ordered(self.tasks, self.checks))
        for task_id in self.tasks:
            _check_points(task_id, [c for c in self.checks if c.task == task_id])

    @property
    def points(self) -> float:
        return sum(c.points for c in self.checks)


def _check_points(task_id: str, checks: list[Check]) -> None:
    """ValueError when ``checks`` (all of one task) do not add up to the registry's points of the task."""
    entry = task(task_id)
    points = sum(c.points for c in checks)
    public = sum(c.points for c in checks if c.public)
    if (points, public) != (entry.points, entry.public_points):
        raise ValueError(
            f"task {task_id}: its checks give {points:g} points, {public:g} of them public, but the task "
            f"registry (autograder/public/tasks.py) says {entry.points:g} and {entry.public_points:g}: "
            "change the checks' points or the registry's"
        )


def ordered(tasks: tuple[str, ...], checks: tuple[Check, ...]) -> tuple[Check, ...]:
    """Checks by task, the public ones of each task first, otherwise in the order written."""
    return tuple(sorted(checks, key=lambda c: (tasks.index(c.task), not c.public)))


def all_groups(names: tuple[str, ...] | None = None) -> tuple[Group, ...]:
    """The groups of GROUP_MODULES (or of ``names``), in order."""
    chosen = GROUP_MODULES if names is None else tuple(names)
    unknown = sorted(set(chosen) - set(GROUP_MODULES))
    if unknown:
        raise ValueError(f"unknown task group(s) {unknown}; the groups are {list(GROUP_MODULES)}")
    return tuple(importlib.import_module(f"{__name__}.{name}").GROUP for name in chosen)


def group_of_task(task: str) -> str:
    for group in all_groups():
        if task in group.tasks:
            return group.name
    raise ValueError(f"no task group grades task {task!r}")
