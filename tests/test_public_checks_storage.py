"""Running the public checks, with pytest in the assignment folder or with check() in the notebook,
leaves no ``.hypothesis/`` there (autograder/public/hypothesis_home.py), nor anything in the temporary
folder once it is done."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from assignment_folders import student_folder

# Checks whose hypothesis properties run to the end on a solved package (a stub stops them early).
SOME_CHECKS = ("2.1.1b", "2.2.2")
RUNS = {
    "pytest": [sys.executable, "-m", "pytest", "-k", " or ".join(SOME_CHECKS)],
    "check()": [sys.executable, "-c", f"from public_checks import check; check{SOME_CHECKS!r}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("how", RUNS)
def test_the_public_checks_leave_no_hypothesis_folder_behind(tmp_path, how):
    folder = student_folder(tmp_path / "student", solved=True)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPOTHESIS")}
    env.update(TMPDIR=str(scratch), CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(RUNS[how], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout or "[PASS]" in result.stdout
    assert not (folder / ".hypothesis").exists(), sorted(p.name for p in (folder / ".hypothesis").rglob("*"))
    assert not [p.name for p in scratch.iterdir() if p.name.startswith("public-checks-hypothesis-")]
