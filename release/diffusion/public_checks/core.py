"""What a check is, how one runs, and how a problem in the student's code becomes feedback.

A check is data: its task, title, points, visibility, whether it ships to students, a concept hint
(the misconception, the equation and the variable to revisit, in words: never code), and a property.
The property is a hypothesis test (derandomized, few examples, no shrinking) whose first argument is
a session: ``session.call(probe, **inputs)`` runs one probe on the student's code and returns plain
arrays. The property judges them with numpy alone and
raises :class:`~.judge.Failure` with feedback when they are wrong. Where the probe runs (a child
process in the autograder, the student's own process for the public checks) is the session's
business, never the check's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, Verbosity, settings

from .judge import Failure

VISIBLE = "visible"  # Gradescope shows it at once (the public checks)
AFTER_DUE_DATE = "after_due_date"  # Gradescope shows it after the deadline (the hidden checks)
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

TASK_IN_MESSAGE = re.compile(r"\btask (\d+(?:\.\d+)*[a-z]?)\b")
# what an error usually means, for every check (a check's own error_hints come first)
COMMON_ERROR_HINTS = (
    (
        r"^IndexError: (?:(?:t|timesteps)(?: holds|=)|index \d+ is out of bounds)",
        "Timesteps are zero-indexed: t runs over 0 ... T-1, so an index of T means you are counting from 1.",
    ),
    (
        r"must match the size of tensor|shapes cannot be multiplied|not broadcastable",
        "A per-sample value of shape (B,) needs one singleton dimension per trailing dimension of the sample to broadcast over it.",
    ),
)


# ---------------------------------------------------------------------------------------- sessions
class ProbeProblem(Exception):
    """A probe gave no outputs: the student's code raised, hung, crashed, or could not be imported."""


class StudentError(ProbeProblem):
    """The student's code raised ``kind: message``; ``where`` lists the submission's own frames."""

    def __init__(self, kind: str, message: str, where: Iterable[str] = ()) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, tuple(where)


class PackageImportError(ProbeProblem):
    """``import diffusion_models`` itself failed, so no probe can run."""

    def __init__(self, kind: str, message: str, where: Iterable[str] = ()) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, tuple(where)


class ProbeTimeout(ProbeProblem):
    """The probe ran past its time limit and the process running it was stopped."""

    def __init__(self, seconds: float, output_tail: str = "") -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds, self.output_tail = seconds, output_tail


class ChildCrashed(ProbeProblem):
    """The process running the student's code ended in the middle of a probe."""

    def __init__(self, reason: str, output_tail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.output_tail = reason, output_tail


class GroupTimeLimit(ProbeProblem):
    """The task group's time limit was spent before this probe could run."""


class GraderError(RuntimeError):
    """The grader itself cannot run (no CUDA where it was asked for, its child server did not start)."""


class Session(Protocol):
    """Runs probes on one submission. ``device`` is where the student's tensors live."""

    device: str

    def call(self, probe: str, **inputs: Any) -> dict[str, Any]: ...


# ---------------------------------------------------------------------------------------- checks
def property_settings(examples: int) -> settings:
    """Derandomized (the same examples on every run), few examples, no shrinking, no database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )


@dataclass(frozen=True)
class Check:
    """One graded property of one task."""

    task: str
    key: str  # unique and stable: "<task>/<name>"
    title: str
    points: float
    visibility: str
    public: bool
    hint: str
    prop: Callable[[Session], None] = field(repr=False, compare=False)
    call_timeout_s: float = 30.0
    error_hints: tuple[tuple[str, str], ...] = ()  # (regex on "Kind: message", what it usually means)
    # a property that constant output of the right shape has too (a layout, inputs left unchanged): its points
    # count only when a check of the same task that is not vacuous passes as well (see gated)
    vacuous: bool = False

    def __post_init__(self) -> None:
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {self.visibility!r}")
        if self.points < 0:
            raise ValueError(f"points must be >= 0, got {self.points}")


def check(
    task: str,
    title: str,
    *,
    points: float,
    hint: str,
    public: bool,
    examples: int = 5,
    visibility: str | None = None,
    call_timeout_s: float = 30.0,
    error_hints: tuple[tuple[str, str], ...] = (),
    vacuous: bool = False,
) -> Callable[[Callable[..., None]], Check]:
    """Make a :class:`Check` of a hypothesis property ``prop(session, ...)``.

    Public checks are visible at once; hidden ones after the due date unless ``visibility`` says else.
    """

    def wrap(prop: Callable[..., None]) -> Check:
        return Check(
            task=task,
            key=f"{task}/{prop.__name__}",
            title=title,
            points=points,
            visibility=visibility or (VISIBLE if public else AFTER_DUE_DATE),
            public=public,
            hint=hint,
            prop=property_settings(examples)(prop),
            call_timeout_s=call_timeout_s,
            error_hints=error_hints,
            vacuous=vacuous,
        )

    return wrap


@dataclass(frozen=True)
class Outcome:
    """The verdict of one check: points earned, what went wrong, and the hint shown after it.

    ``diagnosis`` says what the check saw (``"passed"`` when it passed); ``hint`` is what to revisit, empty
    when no hint applies (not implemented, a time-out, a crash) or the instructor's hint level is ``none``.
    """

    check: Check
    passed: bool
    diagnosis: str
    grader_error: bool = False
    hint: str = ""

    @property
    def score(self) -> float:
        return self.check.points if self.passed else 0.0

    @property
    def feedback(self) -> str:
        """The diagnosis, then the hint on a line of its own."""
        if not self.hint:
            return self.diagnosis
        return f"{self.diagnosis}\nHint (task {self.check.task}): {self.hint}"


def run_check(check_: Check, session: Session) -> Outcome:
    """Run one check on a session and turn whatever happens into an :class:`Outcome` with the concept hint."""
    try:
        check_.prop(session)
    except Failure as failure:
        return Outcome(check_, False, failure.message, hint=check_.hint)
    except ProbeProblem as problem:
        diagnosis, hinted = explain_problem(problem, check_)
        return Outcome(check_, False, diagnosis, hint=check_.hint if hinted else "")
    except GraderError:
        raise
    except Exception as err:  # a bug of the grader's own: say so instead of blaming the student
        return Outcome(check_, False, f"grader error in {check_.key}: {type(err).__name__}: {err}", True)
    return Outcome(check_, True, "passed")


def gated(outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes with every passed vacuous check failed where no other check of its task passed.

    A layout or an untouched input is necessary, not evidence: constant output of the right shape has it.
    Such a check's points count once the task shows some real content."""
    real = {o.check.task for o in outcomes if o.passed and not o.check.vacuous}
    return [
        replace(
            o,
            passed=False,
            diagnosis=(
                f"this property holds, but constant output of the right shape has it too: its points count once "
                f"another check of task {o.check.task} passes."
            ),
        )
        if o.passed and o.check.vacuous and o.check.task not in real
        else o
        for o in outcomes
    ]


def _where(frames: tuple[str, ...]) -> str:
    return "".join(f"\n    at {frame}" for frame in frames[-3:])


def _tail(text: str) -> str:
    text = text.strip()
    return f"\n  The last thing your code printed:\n    {text[-600:]}" if text else ""


def explain_problem(problem: ProbeProblem, check_: Check) -> tuple[str, bool]:
    """Feedback for a probe that gave no outputs, naming the task whose code is at fault, and whether the
    check's hint applies (it does when the student's code ran and went wrong, not when it never ran)."""
    if isinstance(problem, PackageImportError):
        return (
            f"diffusion_models could not be imported, so no check can run: {problem.kind}: "
            f"{problem.message}{_where(problem.where)}",
            False,
        )
    if isinstance(problem, StudentError):
        named = TASK_IN_MESSAGE.search(problem.message)
        if problem.kind == "NotImplementedError" and named:
            if named.group(1) == check_.task:
                return (
                    f"not implemented: task {check_.task} still raises NotImplementedError({problem.message!r}).",
                    False,
                )
            return (
                f"not run: this check of task {check_.task} calls the code of task {named.group(1)}, which is "
                f"not implemented yet (NotImplementedError({problem.message!r})).",
                False,
            )
        if problem.kind == "WrongResult":
            return f"{problem.message}.", True
        text = f"{problem.kind}: {problem.message}"
        meaning = next(
            (m for pattern, m in check_.error_hints + COMMON_ERROR_HINTS if re.search(pattern, text)), ""
        )
        return f"your code raised {text}{_where(problem.where)}" + (f"\n  {meaning}" if meaning else ""), True
    if isinstance(problem, ProbeTimeout):
        return (
            f"your code did not finish within {problem.seconds:g} s (an infinite loop, or far too slow), so "
            f"it was stopped.{_tail(problem.output_tail)}",
            False,
        )
    if isinstance(problem, ChildCrashed):
        return f"the process running your code stopped: {problem.reason}.{_tail(problem.output_tail)}", False
    return f"not run: {problem}", False
