"""Hint levels (autograder/policy.py): none, concept (the default), code (hidden checks only)."""

from __future__ import annotations

import pytest

from autograder import policy
from autograder.checks import all_groups
from autograder.grader import Grader
from autograder.hints import CODE_HINTS, at_level
from autograder.public.core import Outcome, gated


def _check(public: bool):
    return next(c for g in all_groups() for c in g.checks if c.public == public and c.task == "2.2.2")


def _failed(public: bool) -> Outcome:
    check = _check(public)
    return Outcome(check, False, "drop_condition dropped 3 of 8 samples", hint=check.hint)


def test_every_task_has_a_code_hint_and_every_check_a_concept_hint():
    tasks = {c.task for g in all_groups() for c in g.checks}
    assert set(CODE_HINTS) == tasks
    assert all(c.hint and c.hint not in CODE_HINTS.values() for g in all_groups() for c in g.checks)


def test_the_course_default_is_concept():
    assert policy.HINTS == "concept" and policy.hint_level() == "concept"


@pytest.mark.parametrize("public", [True, False])
def test_none_shows_the_diagnosis_alone(public):
    outcome = at_level(_failed(public), "none")
    assert outcome.feedback == "drop_condition dropped 3 of 8 samples"


@pytest.mark.parametrize("public", [True, False])
def test_concept_adds_the_checks_own_hint_and_no_code(public):
    outcome = at_level(_failed(public), "concept")
    assert (
        outcome.feedback == f"drop_condition dropped 3 of 8 samples\nHint (task 2.2.2): {_check(public).hint}"
    )
    assert CODE_HINTS["2.2.2"] not in outcome.feedback


def test_code_adds_the_code_hint_to_hidden_checks_only():
    hidden, public = at_level(_failed(False), "code"), at_level(_failed(True), "code")
    assert CODE_HINTS["2.2.2"] in hidden.feedback and _check(False).hint in hidden.feedback
    assert CODE_HINTS["2.2.2"] not in public.feedback


def test_a_failure_no_hint_applies_to_gets_none_at_any_level():
    outcome = Outcome(_check(False), False, "not implemented: task 2.2.2 still raises NotImplementedError")
    assert all(at_level(outcome, level).feedback == outcome.diagnosis for level in policy.HINT_LEVELS)


def test_an_unknown_level_names_the_choices():
    with pytest.raises(ValueError, match="none.*concept.*code"):
        Grader(device="cpu", hints="all")


def test_a_vacuous_pass_counts_only_beside_a_real_one():
    vacuous = next(c for g in all_groups() for c in g.checks if c.vacuous and c.task == "2.2.2")
    real = next(c for g in all_groups() for c in g.checks if not c.vacuous and c.task == "2.2.2")
    alone = gated([Outcome(vacuous, True, "passed"), Outcome(real, False, "wrong")])
    assert [o.score for o in alone] == [0.0, 0.0] and "constant output" in alone[0].diagnosis
    together = gated([Outcome(vacuous, True, "passed"), Outcome(real, True, "passed")])
    assert [o.score for o in together] == [vacuous.points, real.points]
