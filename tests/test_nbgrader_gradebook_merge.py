"""autograder/nbgrader/gradebook_merge.py on small gradebooks made with nbgrader's own API: a student's
rows autograded on a copy land in the gradebook, nothing else changes, and a merge that would lose a
TA's edit or guess at another student's rows is refused with nothing written. (The real `nbgrader
autograde` of a class with WORKERS=2 is in tests/test_nbgrader.py.)"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.nbgrader.gradebook_merge import MergeRefused, merge, snapshot

ASSIGNMENT = "ps1"


@pytest.fixture(autouse=True)
def _alembic_on_path(monkeypatch):
    """nbgrader's Gradebook creates its tables with `alembic`, from PATH: the venv's."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _gradebook(path: Path) -> Path:
    """One assignment, one notebook with a grade cell and a solution cell; alice submitted, bob too."""
    with Gradebook(f"sqlite:///{path}") as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_notebook("nb", ASSIGNMENT)
        gradebook.add_grade_cell("check", "nb", ASSIGNMENT, max_score=10, cell_type="code")
        gradebook.add_solution_cell("answer", "nb", ASSIGNMENT)
        for student in ("alice", "bob"):
            gradebook.add_student(student)
            gradebook.add_submission(ASSIGNMENT, student)
    return path


def _score(path: Path, student: str, score: float | None = None, manual: bool = False) -> float | None:
    """``student``'s auto (or manual) score of the grade cell; set to ``score`` when given."""
    column = "manual_score" if manual else "auto_score"
    with Gradebook(f"sqlite:///{path}") as gradebook:
        grade = gradebook.find_grade("check", "nb", ASSIGNMENT, student)
        if score is not None:
            setattr(grade, column, score)
            gradebook.db.commit()
        return getattr(grade, column)


def _dump(path: Path) -> list[str]:
    """Every row of the gradebook as SQL, sorted (a merged row may move in SQLite's own order)."""
    db = sqlite3.connect(path)
    try:
        return sorted(db.iterdump())
    finally:
        db.close()


def test_the_students_rows_from_the_copy_land_and_nothing_else_changes(tmp_path):
    book = _gradebook(tmp_path / "gradebook.db")
    taken = snapshot(book, tmp_path / "copy.db", "alice", ASSIGNMENT)
    _score(taken.path, "alice", 7.5)  # what autograde wrote on the copy
    merge(book, taken, "alice", ASSIGNMENT)
    assert _score(book, "alice") == 7.5
    assert _dump(book) == _dump(taken.path)  # every row as on the copy, ids included


def test_a_new_student_is_added_with_its_submission(tmp_path):
    book = _gradebook(tmp_path / "gradebook.db")
    taken = snapshot(book, tmp_path / "copy.db", "carol", ASSIGNMENT)
    with Gradebook(f"sqlite:///{taken.path}") as gradebook:  # autograde creates both
        gradebook.update_or_create_student("carol")
        gradebook.add_submission(ASSIGNMENT, "carol")
    _score(taken.path, "carol", 3.0)
    merge(book, taken, "carol", ASSIGNMENT)
    assert _score(book, "carol") == 3.0 and _dump(book) == _dump(taken.path)


def test_a_merge_that_would_lose_a_tas_edit_of_the_student_is_refused(tmp_path):
    book = _gradebook(tmp_path / "gradebook.db")
    taken = snapshot(book, tmp_path / "copy.db", "alice", ASSIGNMENT)
    _score(taken.path, "alice", 7.5)
    _score(book, "alice", 9.0, manual=True)  # formgrader, while alice was autograded
    before = _dump(book)
    with pytest.raises(MergeRefused, match="alice's rows in gradebook.db changed"):
        merge(book, taken, "alice", ASSIGNMENT)
    assert _dump(book) == before


def test_a_copy_that_changed_another_students_rows_is_refused(tmp_path):
    book = _gradebook(tmp_path / "gradebook.db")
    taken = snapshot(book, tmp_path / "copy.db", "alice", ASSIGNMENT)
    _score(taken.path, "alice", 7.5)
    _score(taken.path, "bob", 1.0)  # not alice's to write
    before = _dump(book)
    with pytest.raises(MergeRefused, match="not alice's own"):
        merge(book, taken, "alice", ASSIGNMENT)
    assert _dump(book) == before


def test_a_missing_gradebook_is_named_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="make nbgrader-setup"):
        snapshot(tmp_path / "gradebook.db", tmp_path / "copy.db", "alice", ASSIGNMENT)
