"""``nbgrader export``'s grades.csv with the autograded and the written points apart.

nbgrader's own CSV exporter writes one ``score`` per student and assignment; checking it against
``grade-all`` (which grades the package only) meant subtracting the written points by hand. This
exporter, nbgrader's documented way (``ExportApp.plugin_class`` in ``nbgrader_config.py``), writes
nbgrader's columns and then:

    autograded_score, autograded_max   the code cells: one autograded cell per task (100 points)
    written_score, written_max         the markdown answer cells, graded by hand (13 points)
    needs_manual_grade                 some answer is still ungraded (its written_score is not final)
    flagged                            formgrader's flag: the notebook's verdict found a problem
                                       (autograder/nbgrader/notebook_flag.py) or a TA flagged it

A student without a submission gets empty scores, not zeros, so that "did not submit" stays visible.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "autograded_score",
    "autograded_max",
    "written_score",
    "written_max",
    "needs_manual_grade",
    "flagged",
)


def _number(value: Any) -> str:
    return "" if value is None else f"{float(value):g}"


def submission_row(gradebook: Gradebook, assignment: Any, student: Any) -> dict[str, str]:
    """One row: the student's submission of ``assignment`` (empty scores when there is none)."""
    row = {
        "assignment": assignment.name,
        "duedate": str(assignment.duedate or ""),
        "student_id": student.id,
        "last_name": student.last_name or "",
        "first_name": student.first_name or "",
        "email": student.email or "",
        "max_score": _number(assignment.max_score),
        "autograded_max": _number(assignment.max_code_score),
        "written_max": _number(assignment.max_written_score),
    }
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        return row | dict.fromkeys(
            ("timestamp", "raw_score", "score", "autograded_score", "written_score"), ""
        )
    penalty = submission.late_submission_penalty or 0.0
    return row | {
        "timestamp": str(submission.timestamp or ""),
        "raw_score": _number(submission.score),
        "late_submission_penalty": _number(penalty),
        "score": _number(max(0.0, submission.score - penalty)),
        "autograded_score": _number(submission.code_score),
        "written_score": _number(submission.written_score),
        "needs_manual_grade": str(bool(submission.needs_manual_grade)).lower(),
        "flagged": str(any(notebook.flagged for notebook in submission.notebooks)).lower(),
    }


class SplitPointsExporter(ExportPlugin):
    """grades.csv (``--to`` another file) with autograded and written points as separate columns."""

    def export(self, gradebook: Gradebook) -> None:
        target = Path(self.to or "grades.csv")
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        self.log.info("Exporting grades (autograded and written points apart) to %s", target)
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if not students or student.id in students:
                        writer.writerow(submission_row(gradebook, assignment, student))
