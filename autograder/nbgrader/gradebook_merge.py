"""One student's autograde, done on a copy of the gradebook, written into the course's gradebook.

SQLite takes one writer at a time, and nbgrader's Gradebook was never written for two processes
autograding at once (jupyter/nbgrader#174; its documented workaround is one gradebook per grader, merged
by hand). :mod:`autograder.nbgrader.parallel` therefore never lets a worker touch ``gradebook.db``:

1. :func:`snapshot`: before a student is autograded, the driver copies the gradebook (SQLite's backup
   API: a consistent copy even while formgrader writes it) and notes :func:`student_rows` and
   :func:`other_rows` of the copy.
2. The worker runs ``nbgrader autograde --student X`` against the copy only.
3. :func:`merge`, in the driver (the only process that writes ``gradebook.db``), in one ``BEGIN
   IMMEDIATE`` transaction: the copy's rows of student X replace the gradebook's. Refused (nothing
   written) when the copy changed anything but X's rows (an nbgrader that writes elsewhere: its merge
   would be a guess) or when the gradebook's rows of X changed since the copy was taken (a TA grading X
   in formgrader meanwhile: autograde X again).

Student X's rows, for one assignment, are nbgrader's ``student`` row of X, X's ``submitted_assignment``,
its ``submitted_notebook`` rows and their ``grade`` and ``comment`` rows: every row autograde writes.
Other students' autogrades touch disjoint rows, so the gradebook ends with the rows a serial run
writes, but the uuids nbgrader gives new rows.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 600  # how long a merge waits for another writer (formgrader) to finish


class MergeRefused(Exception):
    """The copy's rows cannot be written without losing or guessing something; nothing was written."""


@dataclass(frozen=True)
class Snapshot:
    path: Path  # the copy the worker autogrades against
    student_digest: str  # student_rows of the copy when it was taken
    other_digest: str  # other_rows of the copy when it was taken


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(f"no gradebook at {path}: run `make nbgrader-setup` first")
    return sqlite3.connect(path, timeout=TIMEOUT_S, isolation_level=None)


def _row_ids(
    db: sqlite3.Connection, schema: str, student: str, assignment: str
) -> tuple[list[str], list[str]]:
    """(X's submitted_assignment ids, their submitted_notebook ids) in ``schema`` (main or a copy)."""
    submissions = [
        row[0]
        for row in db.execute(
            f"SELECT s.id FROM {schema}.submitted_assignment s JOIN {schema}.assignment a "
            "ON s.assignment_id = a.id WHERE s.student_id = ? AND a.name = ?",
            (student, assignment),
        )
    ]
    marks = ",".join("?" * len(submissions))
    notebooks = [
        row[0]
        for row in db.execute(
            f"SELECT id FROM {schema}.submitted_notebook WHERE assignment_id IN ({marks})", submissions
        )
    ]
    return submissions, notebooks


def _selections(
    db: sqlite3.Connection, schema: str, student: str, assignment: str
) -> list[tuple[str, str, list[str]]]:
    """(table, WHERE clause, its values) that pick X's rows, parents first."""
    submissions, notebooks = _row_ids(db, schema, student, assignment)
    subs, nbs = ",".join("?" * len(submissions)), ",".join("?" * len(notebooks))
    return [
        ("student", "id = ?", [student]),
        ("submitted_assignment", f"id IN ({subs})", submissions),
        ("submitted_notebook", f"id IN ({nbs})", notebooks),
        ("grade", f"notebook_id IN ({nbs})", notebooks),
        ("comment", f"notebook_id IN ({nbs})", notebooks),
    ]


def _digest(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()


def student_rows(db: sqlite3.Connection, schema: str, student: str, assignment: str) -> str:
    """A digest of X's rows for ``assignment`` (module docstring) in ``schema``."""
    rows = []
    for table, where, values in _selections(db, schema, student, assignment):
        rows += [(table, *r) for r in db.execute(f"SELECT * FROM {schema}.{table} WHERE {where}", values)]
    return _digest(rows)


def other_rows(db: sqlite3.Connection, schema: str, student: str, assignment: str) -> str:
    """A digest of every row of ``schema`` but X's for ``assignment``."""
    picked = {table: (where, values) for table, where, values in _selections(db, schema, student, assignment)}
    rows = []
    tables = [r[0] for r in db.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")]
    for table in sorted(tables):
        where, values = picked.get(table, ("0", []))
        query = f"SELECT * FROM {schema}.{table} WHERE NOT ({where})"
        rows += [(table, *r) for r in db.execute(query, values)]
    return _digest(rows)


def snapshot(gradebook: Path, copy: Path, student: str, assignment: str) -> Snapshot:
    """Copy ``gradebook`` to ``copy`` (consistently) and note X's rows and the others'."""
    copy.unlink(missing_ok=True)
    source = _connect(gradebook)
    target = sqlite3.connect(copy, isolation_level=None)
    try:
        source.backup(target)
        digests = (
            student_rows(target, "main", student, assignment),
            other_rows(target, "main", student, assignment),
        )
    finally:
        target.close()
        source.close()
    return Snapshot(copy, *digests)


def merge(gradebook: Path, taken: Snapshot, student: str, assignment: str) -> None:
    """Write the copy's rows of X into ``gradebook`` in one transaction; :class:`MergeRefused` (nothing
    written) when that would lose or guess something (module docstring)."""
    db = _connect(gradebook)
    try:
        db.execute("ATTACH DATABASE ? AS copy", (str(taken.path),))
        db.execute("BEGIN IMMEDIATE")  # the write lock first: nothing changes between check and write
        try:
            _check(db, taken, student, assignment)
            _replace(db, student, assignment)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def _check(db: sqlite3.Connection, taken: Snapshot, student: str, assignment: str) -> None:
    if other_rows(db, "copy", student, assignment) != taken.other_digest:
        raise MergeRefused(
            f"autograding {student} changed gradebook rows that are not {student}'s own; "
            "run `nbgrader autograde` serially (WORKERS=1) and report it"
        )
    if student_rows(db, "main", student, assignment) != taken.student_digest:
        raise MergeRefused(
            f"{student}'s rows in gradebook.db changed while {student} was autograded (formgrader?); "
            f"autograde {student} again"
        )


def _replace(db: sqlite3.Connection, student: str, assignment: str) -> None:
    """X's rows of main (children first) deleted, the copy's inserted (parents first); X's student row
    is kept where main has it, as nbgrader's update_or_create_student keeps it."""
    for table, where, values in reversed(_selections(db, "main", student, assignment)):
        if table != "student":
            db.execute(f"DELETE FROM main.{table} WHERE {where}", values)
    for table, where, values in _selections(db, "copy", student, assignment):
        verb = "INSERT OR IGNORE" if table == "student" else "INSERT"
        db.execute(f"{verb} INTO main.{table} SELECT * FROM copy.{table} WHERE {where}", values)
