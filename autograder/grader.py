"""Grading one submission: its package copied, each task group run in its own child, every check judged here.

    with Grader(device="cpu") as grader:
        report = grader.grade(Path("submission.zip"))

A :class:`Grader` keeps one zygote for all the submissions it grades (the tests' mutant catalogue,
``grade-all``'s workers), so each task group costs a fork, not a fresh torch import; a zygote that
died is replaced. It copies the package students were given once, when it starts, so a file changed
on disk later cannot change what the submissions it grades are laid over. A submission whose import
fails, crashes or hangs is not imported again for each task group: the first group's verdict holds.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hints import at_level
from .policy import hint_level
from .provenance import provenance
from .public.core import Check, Outcome, gated, run_check
from .public.notebook import Expected, inspect_notebook, read_expected
from .report import Report
from .sandbox import ChildSession, Limits, ZygoteHandle
from .submission import GIVEN_NOTEBOOK, SubmissionError, copy_given, prepare_submission

if TYPE_CHECKING:
    from .checks import Group

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class PublicGroup:
    """A task group's public checks alone: what ``grade --public-only`` runs, built from
    autograder/public/ without importing the hidden checks (autograder.checks). Its limits are a
    :class:`~autograder.checks.Group`'s defaults (tests/test_ci_grading.py keeps them equal)."""

    name: str
    tasks: tuple[str, ...]
    checks: tuple[Check, ...]
    time_limit_s: float = 90.0
    cpu_limit_s: float = 120.0
    memory_limit_mb: int = 4096


def public_groups(names: tuple[str, ...] | None = None) -> tuple[PublicGroup, ...]:
    """The public checks of each task group (of ``names``, else all), from autograder/public/ alone."""
    from .public import GROUPS

    modules = {module.__name__.rsplit(".", 1)[-1]: module for module in GROUPS}
    chosen = tuple(modules) if names is None else tuple(names)
    unknown = sorted(set(chosen) - set(modules))
    if unknown:
        raise ValueError(f"unknown task group(s) {unknown}; the groups are {list(modules)}")
    groups = []
    for name in chosen:
        tasks = tuple(dict.fromkeys(c.task for c in modules[name].CHECKS))
        checks = tuple(
            sorted(modules[name].CHECKS, key=lambda c: tasks.index(c.task))
        )  # as Group orders them
        groups.append(PublicGroup(name, tasks, checks))
    return tuple(groups)


def task_groups(
    names: tuple[str, ...] | None = None, public_only: bool = False
) -> tuple[Group | PublicGroup, ...]:
    """The groups to grade: every check (the hidden ones imported here, and only here), or the public ones."""
    if public_only:
        return public_groups(names)
    from .checks import all_groups

    return all_groups(names)


class Grader:
    """Grades submissions on one device, with a zygote started on first use."""

    def __init__(
        self,
        device: str = "auto",
        threads: int = 1,
        python: str | None = None,
        time_scale: float = 1.0,
        protected: tuple[Path, ...] = (),
        tmp_root: Path | None = None,
        memory_mb: int | None = None,
        hints: str | None = None,
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.device, self.threads, self.python = device, threads, python
        self.hints = hint_level(hints)  # the course's policy (autograder/policy.py) unless given
        self.time_scale = time_scale  # stretches every time limit (a slow machine); tests shrink them
        self.protected = tuple(Path(p) for p in protected)  # besides the repository: no child reads these
        self.tmp_root = tmp_root
        self.memory_mb = memory_mb  # replaces every group's memory limit (a small CI machine, a big GPU box)
        self._zygote: ZygoteHandle | None = None
        self.sandbox: dict[str, Any] = {}  # the fences the last child was held by (grade-all records them)
        self._given = Path(tempfile.mkdtemp(prefix="given-", dir=tmp_root))
        self.given = copy_given(self._given)

    @property
    def zygote(self) -> ZygoteHandle:
        if self._zygote is not None and not self._zygote.alive:
            self._zygote.close()
            self._zygote = None
        if self._zygote is None:
            self._zygote = ZygoteHandle(
                python=self.python,
                threads=self.threads,
                protected=self.protected,
                device=self.device,
                tmp_root=self.tmp_root,
            )
        return self._zygote

    def limits(self, group: Group | PublicGroup) -> Limits:
        return Limits(
            time_s=group.time_limit_s * self.time_scale,
            cpu_s=group.cpu_limit_s * self.time_scale,
            memory_mb=self.memory_mb or group.memory_limit_mb,
            start_timeout_s=Limits.start_timeout_s * self.time_scale,
        )

    def grade(
        self,
        submission: Path,
        groups: tuple[str, ...] | None = None,
        call_timeout_s: float | None = None,
        public_only: bool = False,
    ) -> Report:
        """Every check of ``groups`` (all groups when None) on ``submission``, or only the public ones;
        never raises for the student's faults."""
        started = time.monotonic()
        chosen = task_groups(groups, public_only)
        outcomes: list[Outcome] = []
        device = self.device
        with tempfile.TemporaryDirectory(prefix="submission-", dir=self.tmp_root) as workdir:
            try:
                prepared = prepare_submission(Path(submission), Path(workdir), given=self.given)
            except SubmissionError as err:
                message = f"the submission could not be graded: {err}"
                outcomes = [Outcome(c, False, message) for group in chosen for c in group.checks]
                report = Report(outcomes, device, time.monotonic() - started, notice=message)
                report.provenance = provenance(device)
                return report
            fatal = None  # an import that failed, crashed or hung fails every group the same way
            for group in chosen:
                session = ChildSession(
                    self.zygote, group.name, prepared.package, self.device, self.limits(group), fatal=fatal
                )
                try:
                    for check_ in group.checks:
                        session.call_timeout_s = call_timeout_s or check_.call_timeout_s * self.time_scale
                        outcomes.append(at_level(run_check(check_, session), self.hints))
                finally:
                    session.close()
                fatal = fatal or session.fatal
                device = session.device
                self.sandbox = session.sandbox or self.sandbox
            notebook = inspect_notebook(prepared.notebook, self.expected) if prepared.notebook else None
        report = Report(
            gated(outcomes), device, time.monotonic() - started, notice=prepared.notice, notebook=notebook
        )
        report.provenance = provenance(device)
        return report

    @property
    def expected(self) -> Expected | None:
        """What a submitted notebook should hold: the released notebook's expectations (None without
        one: each notebook is then checked against its own)."""
        if not hasattr(self, "_expected"):
            self._expected = read_expected(GIVEN_NOTEBOOK) if GIVEN_NOTEBOOK.is_file() else None
        return self._expected

    def restart(self) -> None:
        """Close the zygote (the next grading starts a fresh one); keep everything else."""
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def close(self) -> None:
        self.restart()
        shutil.rmtree(self._given, ignore_errors=True)

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
