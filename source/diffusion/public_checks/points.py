"""Each task's points in the autograder, so the public checks can say how many more the hidden ones grade.

``tests/test_autograder_public.py`` keeps this table equal to the autograder's own checks.
"""

from __future__ import annotations

TASK_POINTS: dict[str, float] = {
    "2.1.1a": 10,
    "2.1.1b": 10,
    "2.1.2": 10,
    "2.2.1": 10,
    "2.2.2": 10,
    "2.2.3": 10,
    "2.3.1": 10,
    "2.3.2": 10,
    "2.4.1": 10,
    "2.4.2": 10,
}
