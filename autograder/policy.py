"""The instructor's grading policy, in one place: how much a failed check's feedback gives away, and
what Gradescope shows students before the due date.

    HINTS = "concept"   # edit this line for the whole course: grade, grade-all, Gradescope and nbgrader
                        # all read it (``Grader(hints=...)`` overrides it in code)
    GRADESCOPE_VISIBILITY = "public-only-before-due"   # results.json (Gradescope, grade, grade-all);
                        # ``Report.results_json(visibility=...)`` overrides it in code

Hint levels:

- ``none``: the diagnosis alone (what the check saw, on which inputs).
- ``concept`` (the default): the diagnosis, then the check's concept hint, which names the misconception,
  the equation and the variable to revisit in words, never code. Public checks, which students run
  themselves, always use this level.
- ``code``: for hidden checks only, the concept hint followed by the task's code-level hint
  (:mod:`autograder.hints`), which is most of the solution. Hidden checks are shown on Gradescope after
  the due date (their visibility), so turn this on for feedback after the deadline, never before.

Gradescope visibility (what results.json lets a student see, and when; instructors see everything;
:mod:`autograder.gradescope.visibility` applies it):

- ``public-only-before-due`` (the default): nothing a student sees before the due date depends on a
  hidden check. Public checks are visible tests; hidden checks are ``after_due_date`` tests, and while
  any test is hidden Gradescope does not show students their total score. The always-visible top-level
  output lists the public checks' points only. A public check whose points count only because a hidden
  check of its task passed (a vacuous check, :func:`autograder.public.core.gated`) shows as it would
  without the hidden checks, as ``public_checks`` shows it locally; its points move to an
  ``after_due_date`` test, so the total is unchanged.
- ``nothing-before-published``: every test and the total wait until the grades are published on
  Gradescope (``after_published``); the top-level output only says the submission was graded.
- ``all-visible``: every check, hidden ones included, is shown at once with the full per-task summary.
  It gives the hidden checks away: for practice assignments only.

Gradescope's stdout (the grading table, hidden checks included) is kept for instructors under all
three (``stdout_visibility: hidden``). One channel is left: the checks of a task group share the
group's time and its fresh processes, and each task's public checks run before its hidden ones, so a
hidden check that hangs or crashes again and again can leave a later task's public check failing with
"no fresh process is left" or "the time limit ... is spent".
"""

from __future__ import annotations

HINT_LEVELS = ("none", "concept", "code")
HINTS = "concept"

VISIBILITY_POLICIES = ("public-only-before-due", "nothing-before-published", "all-visible")
GRADESCOPE_VISIBILITY = "public-only-before-due"


def hint_level(level: str | None = None) -> str:
    """``level``, or the course's :data:`HINTS` when None; a ValueError naming the choices otherwise."""
    chosen = HINTS if level is None else level
    if chosen not in HINT_LEVELS:
        raise ValueError(
            f"hint level must be one of {HINT_LEVELS}, got {chosen!r} (see autograder/policy.py)"
        )
    return chosen


def visibility_policy(policy: str | None = None) -> str:
    """``policy``, or the course's :data:`GRADESCOPE_VISIBILITY` when None; a ValueError naming the
    choices otherwise."""
    chosen = GRADESCOPE_VISIBILITY if policy is None else policy
    if chosen not in VISIBILITY_POLICIES:
        raise ValueError(
            f"Gradescope visibility must be one of {VISIBILITY_POLICIES}, got {chosen!r} "
            "(see autograder/policy.py)"
        )
    return chosen
