"""The instructor's grading policy, in one place: how much a failed check's feedback gives away.

    HINTS = "concept"   # edit this line for the whole course: grade, grade-all, Gradescope and nbgrader
                        # all read it (``Grader(hints=...)`` overrides it in code)

Hint levels:

- ``none``: the diagnosis alone (what the check saw, on which inputs).
- ``concept`` (the default): the diagnosis, then the check's concept hint, which names the misconception,
  the equation and the variable to revisit in words, never code. Public checks, which students run
  themselves, always use this level.
- ``code``: for hidden checks only, the concept hint followed by the task's code-level hint
  (:mod:`autograder.hints`), which is most of the solution. Hidden checks are shown on Gradescope after
  the due date (their visibility), so turn this on for feedback after the deadline, never before.
"""

from __future__ import annotations

HINT_LEVELS = ("none", "concept", "code")
HINTS = "concept"


def hint_level(level: str | None = None) -> str:
    """``level``, or the course's :data:`HINTS` when None; a ValueError naming the choices otherwise."""
    chosen = HINTS if level is None else level
    if chosen not in HINT_LEVELS:
        raise ValueError(
            f"hint level must be one of {HINT_LEVELS}, got {chosen!r} (see autograder/policy.py)"
        )
    return chosen
