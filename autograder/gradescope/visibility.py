"""What Gradescope shows a student, and when: results.json under the course's visibility policy.

The policy is chosen in :mod:`autograder.policy` (``GRADESCOPE_VISIBILITY``; its docstring describes
the three). Gradescope's rules (https://gradescope-autograders.readthedocs.io/en/latest/specs/): each
test has a ``visibility`` (``visible``, ``hidden``, ``after_due_date``, ``after_published``; a top-level
``visibility`` is the default of the tests that set none); while any test is hidden from a student, the
student does not see the total ``score``; the top-level ``output`` carries no visibility of its own, so
it is treated here as always visible; stdout is shown to instructors unless ``stdout_visibility`` says
otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..policy import visibility_policy
from ..public.core import AFTER_DUE_DATE, VISIBLE, Outcome, gated
from ..report import Report, points_text, task_totals

AFTER_PUBLISHED = "after_published"


def results_json(report: Report, policy: str | None = None) -> dict[str, Any]:
    """Gradescope's results.json of ``report`` under ``policy`` (the course's when None).

    Every policy gives the same total ``score`` and the same per-check points: it decides only what a
    student sees before the due date (or before the grades are published)."""
    chosen = visibility_policy(policy)
    if chosen == "all-visible":
        tests = [dict(test, visibility=VISIBLE) for test in report.tests()]
        results = _results(report.score, report.summary(), tests, execution_time=report.seconds)
    elif chosen == "nothing-before-published":
        tests = [dict(test, visibility=AFTER_PUBLISHED) for test in report.tests()]
        output = "Your submission was graded; the results are shown when the course staff publish the grades."
        if report.notice:
            output += "\n" + report.notice
        results = dict(_results(report.score, output, tests), visibility=AFTER_PUBLISHED)
    else:
        results = _public_only_before_due(report)
    return _with_notebook(results, report)


def _with_notebook(results: dict[str, Any], report: Report) -> dict[str, Any]:
    """The notebook's verdict in the top-level output (shown under every policy: it decides no points,
    and the student can fix it) and, as data, in ``extra_data.notebook`` (grade-all's grades.csv reads it)."""
    if report.notebook is None:
        return results
    output = results["output"] + "\n" + report.notebook.summary()
    extra = dict(results.get("extra_data", {}), notebook=report.notebook.as_json())
    return results | {"output": output, "extra_data": extra}


def _results(
    score: float, output: str, tests: list[dict[str, Any]], execution_time: float | None = None
) -> dict[str, Any]:
    results: dict[str, Any] = {"score": score}
    if execution_time is not None:  # a hidden check that hit its time limit would show in it
        results["execution_time"] = int(round(execution_time))
    return results | {"output": output, "stdout_visibility": "hidden", "tests": tests}


def _public_only_before_due(report: Report) -> dict[str, Any]:
    """Public checks visible as ``public_checks`` judges them locally, everything else after the due date."""
    # 1. The public checks gated among themselves: a vacuous public check passes only where a public
    #    check of its task does, whatever the hidden checks did (gating over all checks can differ).
    shown_public = gated([o for o in report.outcomes if o.check.public])
    seen = iter(shown_public)
    tests = []
    moved: dict[str, float] = defaultdict(float)  # task -> points a public test shows as lost
    for outcome, test in zip(report.outcomes, report.tests(), strict=True):
        if not outcome.check.public:
            hidden_until = outcome.check.visibility if outcome.check.visibility != VISIBLE else AFTER_DUE_DATE
            tests.append(dict(test, visibility=hidden_until))
            continue
        shown = next(seen)
        if outcome.passed and not shown.passed:
            moved[outcome.check.task] += outcome.score
            test = dict(test, score=0.0, status="failed", output=shown.feedback)
        tests.append(dict(test, visibility=VISIBLE))
    # 2. Their points, which the hidden checks earned, in an after-the-due-date test of the task, so the
    #    tests still add up to the score.
    for task, points in moved.items():
        tests.append(
            {
                "name": f"task {task}: public checks whose points count because a hidden check of the task passed",
                "number": f"{task}.0",
                "score": points,
                "max_score": 0.0,
                "status": "passed",
                "output": (
                    "These public checks hold but cannot tell your code from constant output; a hidden check "
                    f"of task {task} passed, so their {points:g} points count."
                ),
                "visibility": AFTER_DUE_DATE,
            }
        )
    return _results(report.score, _public_summary(report, shown_public), tests)


def _public_summary(report: Report, public: list[Outcome]) -> str:
    """The top-level output: the public checks' points by task, and nothing a hidden check decided."""
    totals = task_totals(public)
    earned = sum(e for e, _ in totals.values())
    possible = sum(p for _, p in totals.values())
    lines = [
        f"Graded on {report.device}. Public checks: {earned:g}/{possible:g} points ({points_text(totals)}).",
        "The hidden checks, and your total, are shown after the due date.",
    ]
    if report.notice:
        lines.append(report.notice)
    errors = [o for o in public if o.grader_error]
    if errors:
        lines.append(
            f"{len(errors)} public checks hit an error of the grader itself; please tell the course staff."
        )
    return "\n".join(lines)
