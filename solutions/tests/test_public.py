"""The autograder's public checks, on your own diffusion_models: run ``pytest`` in this folder.

The same checks run in the notebook (``from public_checks import check; check("2.1.2")``) and, with
hidden checks beside them, in the autograder. A failure says what was expected, what came back, the
shapes, and which task to revisit. A task you have not done yet fails with "not implemented".
"""

from __future__ import annotations

import pytest
from public_checks import PUBLIC_CHECKS, run_check
from public_checks.local import LocalSession


@pytest.fixture(scope="session")
def session() -> LocalSession:
    return LocalSession()


@pytest.mark.parametrize("public_check", PUBLIC_CHECKS, ids=lambda c: c.key)
def test_public_check(public_check, session) -> None:
    outcome = run_check(public_check, session)
    assert outcome.passed, outcome.feedback
