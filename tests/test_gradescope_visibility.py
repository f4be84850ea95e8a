"""results.json under each Gradescope visibility policy: before the due date, a student sees nothing a
hidden check decided (the default), and no policy changes a point."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from autograder import policy
from autograder.checks import all_groups
from autograder.public.core import Check, Outcome, gated
from autograder.report import Report

CHECKS = [check for group in all_groups() for check in group.checks]
BUGGY_TASK = "2.2.3"
HIDDEN_BUG = next(c for c in CHECKS if c.task == BUGGY_TASK and not c.public and not c.vacuous)
# a task whose public side has a vacuous check (points only once another check of the task passes)
GATED_TASK = next(c.task for c in CHECKS if c.public and c.vacuous)


def graded(passes: Callable[[Check], bool], seconds: float = 12.0) -> Report:
    """The report the grader makes when exactly the checks ``passes`` accepts hold (gating included)."""
    outcomes = [
        Outcome(c, True, "passed") if passes(c) else Outcome(c, False, f"{c.key}: saw 0.31 where 0.5 was due")
        for c in CHECKS
    ]
    return Report(gated(outcomes), "cpu", seconds)


def seen_before_due(results: dict[str, Any]) -> dict[str, Any]:
    """What Gradescope shows a student before the due date (its spec): the top-level output, the
    tests whose visibility is ``visible``, the total only when no test is hidden, stdout if made visible,
    and (to be safe) the execution time."""
    default = results.get("visibility", "visible")
    tests = [t for t in results["tests"] if t.get("visibility", default) == "visible"]
    seen = {"output": results.get("output"), "tests": tests, "time": results.get("execution_time")}
    if len(tests) == len(results["tests"]):
        seen["score"] = results["score"]
    if results.get("stdout_visibility") == "visible":
        seen["stdout"] = "the grading table, hidden checks included"
    return seen


def by_task(results: dict[str, Any]) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for test in results["tests"]:
        task = test["number"].rsplit(".", 1)[0]
        totals[task][0] += test["score"]
        totals[task][1] += test["max_score"]
    return {task: (earned, possible) for task, (earned, possible) in totals.items()}


CORRECT = graded(lambda c: True)
# the hidden check fails (and, say, runs into its time limit), every public check passes
HIDDEN_FAILS = graded(lambda c: c is not HIDDEN_BUG, seconds=42.0)
# task GATED_TASK: its public checks that are not vacuous fail, its vacuous public check holds; whether
# the vacuous one's points count depends on the hidden checks of the task
GATED_HIDDEN_PASS = graded(lambda c: c.task != GATED_TASK or c.vacuous or not c.public)
GATED_HIDDEN_FAIL = graded(lambda c: c.task != GATED_TASK or (c.public and c.vacuous))


@pytest.mark.parametrize("visibility", ["public-only-before-due", "nothing-before-published"])
def test_nothing_seen_before_the_due_date_depends_on_a_hidden_check(visibility):
    assert policy.GRADESCOPE_VISIBILITY == "public-only-before-due"  # the course's default leaks nothing
    assert HIDDEN_FAILS.score < CORRECT.score and GATED_HIDDEN_PASS.score > GATED_HIDDEN_FAIL.score
    assert seen_before_due(HIDDEN_FAILS.results_json(visibility)) == seen_before_due(
        CORRECT.results_json(visibility)
    )
    assert seen_before_due(GATED_HIDDEN_PASS.results_json(visibility)) == seen_before_due(
        GATED_HIDDEN_FAIL.results_json(visibility)
    )


def test_the_default_shows_the_public_checks_points_at_once():
    results = HIDDEN_FAILS.results_json()
    public = [c for c in CHECKS if c.public]
    assert (
        f"Public checks: {sum(c.points for c in public):g}/{sum(c.points for c in public):g}"
        in results["output"]
    )
    shown = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert len(shown) == len(public) and all(t["status"] == "passed" for t in shown)
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["visibility"] == "after_due_date", failed


def test_the_permissive_policy_shows_the_hidden_failure_at_once():
    results = HIDDEN_FAILS.results_json("all-visible")
    seen = seen_before_due(results)
    assert seen != seen_before_due(CORRECT.results_json("all-visible"))
    earned, possible = HIDDEN_FAILS.by_task()[BUGGY_TASK]
    assert earned < possible and f"{BUGGY_TASK} {earned:g}/{possible:g}" in seen["output"]
    assert any(t["status"] == "failed" and t["name"].endswith(HIDDEN_BUG.title) for t in seen["tests"])


@pytest.mark.parametrize("visibility", policy.VISIBILITY_POLICIES)
@pytest.mark.parametrize(
    "report",
    [CORRECT, HIDDEN_FAILS, GATED_HIDDEN_PASS, GATED_HIDDEN_FAIL],
    ids=["correct", "hidden", "gp", "gf"],
)
def test_no_policy_changes_a_point(report, visibility):
    results = report.results_json(visibility)
    assert results["score"] == report.score == sum(t["score"] for t in results["tests"])
    assert by_task(results) == report.by_task()
    assert len({t["number"] for t in results["tests"]}) == len(results["tests"])


def test_an_unknown_policy_names_the_choices():
    with pytest.raises(ValueError, match="public-only-before-due"):
        CORRECT.results_json("secret")
