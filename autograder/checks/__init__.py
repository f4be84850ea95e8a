"""The check registry: one module per task group, each holding that group's hidden checks and its GROUP.

A task group is graded in one child process with one time limit, so a crash, hang or memory blow-up
costs only the tasks of that group. Adding a task group (see image.py and robotics.py for recent ones):

1. ``autograder/public/<name>.py``: the group's probes (``@probe``, calling the student's code) and
   its public checks (``@check(..., public=True)``), listed in that module's ``CHECKS``; add the module
   to ``GROUPS`` in ``autograder/public/__init__.py`` so it ships to students.
2. ``autograder/checks/<name>.py``: its hidden checks and ``GROUP = Group(...)``.
3. Add ``"<name>"`` to :data:`GROUP_MODULES` below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..public.core import Check

GROUP_MODULES = ("scheduler", "denoise", "training", "sampling", "image", "robotics")


@dataclass(frozen=True)
class Group:
    """Tasks graded together in one child process, under one time limit."""

    name: str
    tasks: tuple[str, ...]
    checks: tuple[Check, ...]
    time_limit_s: float = 90.0  # wall time for the whole group, child start-up included
    cpu_limit_s: float = 120.0  # RLIMIT_CPU of each child process of the group
    memory_limit_mb: int = 4096  # RLIMIT_AS headroom of each child on the CPU (not applied with CUDA)

    def __post_init__(self) -> None:
        strays = sorted({c.task for c in self.checks} - set(self.tasks))
        if strays:
            raise ValueError(
                f"group {self.name!r} holds checks of tasks {strays} outside its tasks {self.tasks}"
            )
        keys = [c.key for c in self.checks]
        if len(keys) != len(set(keys)):
            raise ValueError(f"group {self.name!r} has two checks with one key")

    @property
    def points(self) -> float:
        return sum(c.points for c in self.checks)


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
