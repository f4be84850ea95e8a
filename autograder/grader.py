"""Grading one submission: its package copied, each task group run in its own child, every check judged here.

    with Grader(device="cpu") as grader:
        report = grader.grade(Path("submission.zip"))

A :class:`Grader` keeps one zygote for all the submissions it grades (the tests' mutant catalogue,
later a batch command), so each task group costs a fork, not a fresh torch import.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .checks import Group, all_groups
from .public.core import Outcome, run_check
from .report import Report
from .sandbox import ChildSession, Limits, Zygote
from .submission import SubmissionError, prepare

DEVICES = ("auto", "cpu", "cuda")


class Grader:
    """Grades submissions on one device, with a zygote started on first use."""

    def __init__(
        self, device: str = "auto", threads: int = 1, python: str | None = None, time_scale: float = 1.0
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        self.device, self.threads, self.python = device, threads, python
        self.time_scale = time_scale  # stretches every time limit (a slow machine); tests shrink them
        self._zygote: Zygote | None = None

    @property
    def zygote(self) -> Zygote:
        if self._zygote is None:
            self._zygote = Zygote(python=self.python, threads=self.threads)
        return self._zygote

    def limits(self, group: Group) -> Limits:
        return Limits(
            time_s=group.time_limit_s * self.time_scale,
            cpu_s=group.cpu_limit_s * self.time_scale,
            memory_mb=group.memory_limit_mb,
        )

    def grade(
        self, submission: Path, groups: tuple[str, ...] | None = None, call_timeout_s: float | None = None
    ) -> Report:
        """Every check of ``groups`` (all groups when None) on ``submission``; never raises for the student's faults."""
        started = time.monotonic()
        chosen = all_groups(groups)
        outcomes: list[Outcome] = []
        device = self.device
        with tempfile.TemporaryDirectory(prefix="submission-") as workdir:
            try:
                package = prepare(Path(submission), Path(workdir))
            except SubmissionError as err:
                message = f"the submission could not be graded: {err}"
                outcomes = [Outcome(c, False, message) for group in chosen for c in group.checks]
                return Report(outcomes, device, time.monotonic() - started, notice=message)
            for group in chosen:
                session = ChildSession(self.zygote, group.name, package, self.device, self.limits(group))
                try:
                    for check_ in group.checks:
                        session.call_timeout_s = call_timeout_s or check_.call_timeout_s * self.time_scale
                        outcomes.append(run_check(check_, session))
                finally:
                    session.close()
                device = session.device
        return Report(outcomes, device, time.monotonic() - started)

    def close(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
