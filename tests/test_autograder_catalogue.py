"""The catalogue of realistic student bugs and correct rewrites (tests/catalogue/mutants.py).

Every bug loses points on the task it breaks, with a diagnosis (the feedback without its hint) naming
its misconception, and fails a public check of its task, so students see it before they submit; every
correct rewrite scores full marks; constant garbage scores nothing. Each mutant is graded on the task
groups it touches only, once per test session.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from catalogue.garbage import BROKEN_TASKS, garbage
from catalogue.grading import mutated, shared_grader
from catalogue.mutants import BUGS, REWRITES, Edit, Mutant, StaleMutant

from autograder.checks import all_groups, group_of_task
from autograder.report import Report
from kit import REFERENCE_DIR

ALL_TASKS = {task for group in all_groups() for task in group.tasks}
PUBLIC_SHARE = 0.9  # of the bugs, at least this share must fail a public check of their own task
_REPORTS: dict[str, Report] = {}
# pairs of bugs that give the same numbers on some inputs, so one may be diagnosed as the other there
AMBIGUOUS = {
    (
        "mean-no-sqrt",
        "mean-eps-coef-sqrt-beta",
    ): "at t = 0, where beta_0 = 1 - alpha_bar_0, both give one weight",
}


def _groups(mutant: Mutant) -> tuple[str, ...]:
    return tuple(dict.fromkeys(group_of_task(task) for task in mutant.tasks))


def test_the_catalogue_is_big_enough_and_covers_every_task():
    assert len(BUGS) >= 25 and len(REWRITES) >= 4
    assert {task for bug in BUGS for task in bug.tasks} == ALL_TASKS
    assert len({m.name for m in BUGS + REWRITES}) == len(BUGS + REWRITES)
    assert all(bug.words for bug in BUGS)


def test_a_snippet_that_no_longer_matches_fails_loudly(tmp_path):
    stale = Mutant(
        "stale", ("2.1.1a",), (Edit("noise_scheduler.py", "this text is not in the reference", "x"),)
    )
    with pytest.raises(StaleMutant, match="update tests/catalogue/mutants.py"):
        mutated(tmp_path, stale)


def _report(bug: Mutant) -> Report:
    """The bug's report, graded once per test session."""
    if bug.name not in _REPORTS:
        with tempfile.TemporaryDirectory() as folder:
            _REPORTS[bug.name] = shared_grader().grade(mutated(Path(folder), bug), _groups(bug))
    return _REPORTS[bug.name]


@pytest.mark.parametrize("bug", BUGS, ids=lambda m: m.name)
def test_bug_loses_points_with_a_diagnosis_naming_it(bug):
    report = _report(bug)
    assert not report.grader_errors, [o.feedback for o in report.grader_errors]
    (task,) = bug.tasks
    earned, possible = report.by_task()[task]
    assert earned < possible, f"{bug.name} kept all {possible:g} points of task {task}"
    diagnoses = [o.diagnosis.lower() for o in report.outcomes if o.check.task == task and not o.passed]
    assert any(all(word in diagnosis for word in bug.words) for diagnosis in diagnoses), (
        f"no diagnosis of task {task} (the feedback without its hint) names {bug.words}:\n\n"
        + "\n\n".join(diagnoses)
    )


def _diagnoses(bug: Mutant) -> list[str]:
    return [o.diagnosis.lower() for o in _report(bug).outcomes if o.check.task in bug.tasks and not o.passed]


@pytest.mark.parametrize("bug", BUGS, ids=lambda m: m.name)
def test_bug_words_are_specific_to_it(bug):
    """No other bug of the task, a different misconception, is diagnosed with these words too: the words name
    this misconception, not the task's checks in general."""
    others = [
        b
        for b in BUGS
        if b.tasks == bug.tasks
        and b.name != bug.name
        and set(b.words) != set(bug.words)
        and (bug.name, b.name) not in AMBIGUOUS
    ]
    also = [
        b.name
        for b in others
        if any(all(word in diagnosis for word in bug.words) for diagnosis in _diagnoses(b))
    ]
    assert not also, f"{bug.name}'s words {bug.words} also name the diagnoses of {also}: make them specific"


def test_public_checks_catch_most_bugs_of_their_own_task():
    caught = [
        bug.name
        for bug in BUGS
        if any(o.check.public and not o.passed for o in _report(bug).outcomes if o.check.task == bug.tasks[0])
    ]
    missed = sorted({bug.name for bug in BUGS} - set(caught))
    share = len(caught) / len(BUGS)
    print(
        f"public checks catch {len(caught)}/{len(BUGS)} = {share:.0%} of the catalogue's bugs; missed: {missed}"
    )
    assert share >= PUBLIC_SHARE, f"public checks catch only {share:.0%} of the bugs; they miss {missed}"


def test_constant_garbage_scores_nothing_on_the_tasks_it_breaks(tmp_path):
    report = shared_grader().grade(garbage(tmp_path))
    by_task = report.by_task()
    assert {task: by_task[task][0] for task in BROKEN_TASKS} == dict.fromkeys(BROKEN_TASKS, 0.0), [
        o.check.key for o in report.outcomes if o.passed and o.check.task in BROKEN_TASKS
    ]


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda m: m.name)
def test_correct_rewrite_scores_full_marks(rewrite):
    report = _report(rewrite)
    lost = [f"{o.check.key}: {o.feedback}" for o in report.outcomes if not o.passed]
    assert not lost, "\n\n".join(lost)


def test_mutants_edit_a_copy_not_the_reference(tmp_path):
    reference = REFERENCE_DIR / "diffusion_models" / BUGS[0].edits[0].file
    before = reference.read_text()
    copy = mutated(tmp_path, BUGS[0]) / "diffusion_models" / BUGS[0].edits[0].file
    assert reference.read_text() == before
    assert copy.read_text() != before and BUGS[0].edits[0].new in copy.read_text()
