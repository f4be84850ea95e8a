"""The public checks: single-sourced with the autograder's, shipped to students, runnable with pytest."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import public
from autograder.checks import all_groups
from kit import REFERENCE_DIR, RELEASE_DIR, REPO_ROOT
from kit.release import build

PUBLIC_DIR = REPO_ROOT / "autograder" / "public"
ALLOWED_IMPORTS = {"numpy", "torch", "hypothesis"} | set(sys.stdlib_module_names)
# The student's PDF of the written answers draws with matplotlib (and reads images with its pillow): both in
# the student's requirements.txt; the grader never imports it.
ALSO_ALLOWED = {"written_pdf.py": {"matplotlib", "PIL"}}


def test_the_public_checks_are_the_registrys_public_checks():
    registered = [c for group in all_groups() for c in group.checks if c.public]
    assert sorted(c.key for c in registered) == sorted(c.key for c in public.PUBLIC_CHECKS)
    by_key = {c.key: c for c in public.PUBLIC_CHECKS}
    assert all(c is by_key[c.key] for c in registered)  # the very same objects, not copies


def test_the_release_ships_the_public_checks_unchanged():
    shipped = RELEASE_DIR / "public_checks"
    for source in PUBLIC_DIR.glob("*.py"):
        assert (shipped / source.name).read_text() == source.read_text(), f"run `make release`: {source.name}"
    assert sorted(p.name for p in shipped.glob("*.py")) == sorted(p.name for p in PUBLIC_DIR.glob("*.py"))


@pytest.mark.parametrize("path", sorted(PUBLIC_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_shipped_package_needs_nothing_but_itself_numpy_torch_hypothesis(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            allowed = ALLOWED_IMPORTS | ALSO_ALLOWED.get(path.name, set())
            assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_check_runs_a_tasks_public_checks_in_process(capsys):
    outcomes = public.check("2.1.1a", "2.2.2", device="cpu")
    assert outcomes and all(o.passed for o in outcomes), [o.feedback for o in outcomes]
    assert "public checks passed" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no public checks"):
        public.check("9.9.9")


def _pytest_in(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_pytest_in_the_release_passes_on_the_reference_and_fails_on_the_stubs(tmp_path):
    release, _ = build(tmp_path)
    stubs = _pytest_in(release)
    assert stubs.returncode == 1 and f"{len(public.PUBLIC_CHECKS)} failed" in stubs.stdout, stubs.stdout[
        -3000:
    ]
    assert "not implemented" in stubs.stdout
    shutil.rmtree(release / "diffusion_models")
    shutil.copytree(REFERENCE_DIR / "diffusion_models", release / "diffusion_models")
    solved = _pytest_in(release)
    assert solved.returncode == 0 and f"{len(public.PUBLIC_CHECKS)} passed" in solved.stdout, solved.stdout[
        -3000:
    ]
