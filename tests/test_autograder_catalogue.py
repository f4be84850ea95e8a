"""The catalogue of realistic student bugs and correct rewrites (tests/catalogue/mutants.py).

Every bug loses points on the task it breaks, with feedback naming its misconception; every correct
rewrite scores full marks. Each mutant is graded on the task groups it touches only.
"""

from __future__ import annotations

import pytest
from catalogue.grading import mutated, shared_grader
from catalogue.mutants import BUGS, REWRITES, Edit, Mutant, StaleMutant

from autograder.checks import all_groups, group_of_task
from kit import REFERENCE_DIR

ALL_TASKS = {task for group in all_groups() for task in group.tasks}


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


@pytest.mark.parametrize("bug", BUGS, ids=lambda m: m.name)
def test_bug_loses_points_with_feedback_naming_it(bug, tmp_path):
    report = shared_grader().grade(mutated(tmp_path, bug), _groups(bug))
    assert not report.grader_errors, [o.feedback for o in report.grader_errors]
    (task,) = bug.tasks
    earned, possible = report.by_task()[task]
    assert earned < possible, f"{bug.name} kept all {possible:g} points of task {task}"
    failed = [o.feedback.lower() for o in report.outcomes if o.check.task == task and not o.passed]
    assert any(all(word in feedback for word in bug.words) for feedback in failed), (
        f"no feedback of task {task} names {bug.words}:\n\n" + "\n\n".join(failed)
    )


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda m: m.name)
def test_correct_rewrite_scores_full_marks(rewrite, tmp_path):
    report = shared_grader().grade(mutated(tmp_path, rewrite), _groups(rewrite))
    lost = [f"{o.check.key}: {o.feedback}" for o in report.outcomes if not o.passed]
    assert not lost, "\n\n".join(lost)


def test_mutants_edit_a_copy_not_the_reference(tmp_path):
    reference = REFERENCE_DIR / "diffusion_models" / BUGS[0].edits[0].file
    before = reference.read_text()
    copy = mutated(tmp_path, BUGS[0]) / "diffusion_models" / BUGS[0].edits[0].file
    assert reference.read_text() == before
    assert copy.read_text() != before and BUGS[0].edits[0].new in copy.read_text()
