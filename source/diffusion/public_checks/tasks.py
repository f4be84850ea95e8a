"""The task registry: every graded task once, with its title, where it lives, its group and its points.

Everything that lists the tasks reads this table: the autograder's task groups (``autograder/checks``:
which tasks a group grades, and a group whose checks do not add up to these points refuses to load),
the public checks' points summary, the notebook builder (``kit/notebook_source.py``: each check cell's
title and points, the points table), ``python -m autograder list`` and the README's task table
(``tests/test_docs.py`` fails when it disagrees). It ships to students as ``public_checks/tasks.py``:
titles, places and points, no answer.

Adding a task: the checklist under "Adding a task" in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """One graded task.

    ``symbols`` are ``file:qualified.name``, the file relative to the assignment folder: the functions or
    methods whose solution markers name the task (``tests/test_task_registry.py`` holds them equal).
    ``points`` is what the autograder grades the task on, ``public_points`` the part of it that the
    public checks (shipped to students) carry; hidden checks grade the rest after submission.
    """

    id: str
    title: str  # the check cell's first line in the notebook, and `list`
    symbols: tuple[str, ...]
    group: str  # the autograder task group (autograder/checks/<group>.py, autograder/public/<group>.py)
    points: float
    public_points: float

    @property
    def part(self) -> str:
        """The notebook part: ``"2.1"`` for task ``2.1.1a``."""
        return self.id.rsplit(".", 1)[0]

    @property
    def files(self) -> tuple[str, ...]:
        """The files of :attr:`symbols`, in order, each once."""
        return tuple(dict.fromkeys(symbol.split(":", 1)[0] for symbol in self.symbols))

    @property
    def hidden_points(self) -> float:
        return self.points - self.public_points


_SCHEDULER = "diffusion_models/noise_scheduler.py"
_MODEL = "diffusion_models/diffusion_model.py"

TASKS: tuple[Task, ...] = (
    Task(
        "2.1.1a",
        "NoiseScheduler.__init__: betas, alphas, alpha_bars",
        (f"{_SCHEDULER}:NoiseScheduler.__init__",),
        "scheduler",
        10,
        6,
    ),
    Task(
        "2.1.1b",
        "NoiseScheduler.add_noise: q(x_t | x_0), eq. 4",
        (f"{_SCHEDULER}:NoiseScheduler.add_noise",),
        "scheduler",
        10,
        4,
    ),
    Task(
        "2.1.2",
        "NoiseScheduler.denoise_step: one reverse step, Algorithm 2",
        (f"{_SCHEDULER}:NoiseScheduler.denoise_step",),
        "denoise",
        10,
        7,
    ),
    Task(
        "2.2.1",
        "DiffusionModel.compute_loss_on_batch: the training loss, Algorithm 1",
        (f"{_MODEL}:DiffusionModel.compute_loss_on_batch",),
        "training",
        10,
        9,
    ),
    Task(
        "2.2.2",
        "DiffusionModel.drop_condition: classifier-free guidance training",
        (f"{_MODEL}:DiffusionModel.drop_condition",),
        "training",
        10,
        8,
    ),
    Task(
        "2.2.3",
        "DiffusionModel.generate_sample: sampling with guidance, CFG eq. 6",
        (f"{_MODEL}:DiffusionModel.generate_sample",),
        "sampling",
        10,
        9,
    ),
    Task(
        "2.3.1",
        "ImageGenerator.__init__: input_shape, condition_dim and the model",
        ("diffusion_models/computer_vision/image_gen.py:ImageGenerator.__init__",),
        "image",
        10,
        8,
    ),
    Task(
        "2.3.2",
        "NoiseScheduler.denoise_step(threshold=True): eq. 15 and eq. 7",
        (f"{_SCHEDULER}:NoiseScheduler.denoise_step",),
        "denoise",
        10,
        6,
    ),
    Task(
        "2.4.1",
        "make_windows and Normalizer: training windows, [-1, 1] scaling",
        (
            "diffusion_models/robotics/windows.py:make_windows",
            "diffusion_models/robotics/normalizer.py:Normalizer.normalize",
            "diffusion_models/robotics/normalizer.py:Normalizer.unnormalize",
        ),
        "robotics",
        10,
        6,
    ),
    Task(
        "2.4.2",
        "rollout: receding-horizon control",
        ("diffusion_models/robotics/rollout.py:rollout",),
        "robotics",
        10,
        8,
    ),
)

# The notebook's parts, in order: a task's part is its id without the last number.
PARTS: dict[str, str] = {
    "2.1": "Noise scheduler",
    "2.2": "The diffusion model",
    "2.3": "Image generation",
    "2.4": "Robotics: a diffusion policy",
}

BY_ID: dict[str, Task] = {task.id: task for task in TASKS}
TASK_POINTS: dict[str, float] = {task.id: task.points for task in TASKS}
GROUP_NAMES: tuple[str, ...] = tuple(dict.fromkeys(task.group for task in TASKS))


def task(task_id: str) -> Task:
    """The registry's entry of ``task_id``; ValueError naming the known ids when there is none."""
    if task_id not in BY_ID:
        raise ValueError(
            f"unknown task {task_id!r}: add it to TASKS in autograder/public/tasks.py; "
            f"the tasks are {', '.join(BY_ID)}"
        )
    return BY_ID[task_id]


def tasks_of_group(group: str) -> tuple[str, ...]:
    """The ids of the tasks that ``group`` grades, in registry order."""
    ids = tuple(t.id for t in TASKS if t.group == group)
    if not ids:
        raise ValueError(
            f"no task of the registry (autograder/public/tasks.py) is graded by group {group!r}; "
            f"the groups are {', '.join(GROUP_NAMES)}"
        )
    return ids


def tasks_of_part(part: str) -> tuple[str, ...]:
    return tuple(t.id for t in TASKS if t.part == part)


def _points(value: float) -> str:
    return f"{value:g}"


def markdown_table() -> str:
    """The README's task table (``tests/test_docs.py`` holds the README to it)."""
    rows = ["| task | what | where | points (public) |", "| --- | --- | --- | --- |"]
    for t in TASKS:
        where = "<br>".join(f"`{symbol}`" for symbol in t.symbols)
        title = t.title.replace("|", "\\|").replace("__", "\\_\\_")  # no bold in __init__
        rows.append(f"| {t.id} | {title} | {where} | {_points(t.points)} ({_points(t.public_points)}) |")
    return "\n".join(rows)


def text_table() -> str:
    """The registry as plain text, one line per file:symbol (``python -m autograder list``)."""
    header = ("task", "points", "public", "title", "file:symbol")
    rows = [header]
    for t in TASKS:
        for number, symbol in enumerate(t.symbols):
            first = number == 0
            rows.append(
                (
                    t.id if first else "",
                    _points(t.points) if first else "",
                    _points(t.public_points) if first else "",
                    t.title if first else "",
                    symbol,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    total, public = sum(t.points for t in TASKS), sum(t.public_points for t in TASKS)
    lines.append(f"{len(TASKS)} tasks, {_points(total)} points, {_points(public)} of them public")
    return "\n".join(line.rstrip() for line in lines)
