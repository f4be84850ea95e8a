"""`make gradescope`'s zip, and its run_autograder run against a fake /autograder tree."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.gradescope import build, requirements
from kit import REFERENCE_DIR, RELEASE_DIR


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("gradescope"))


def test_the_zip_holds_setup_run_autograder_requirements_and_the_package(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        names = set(zipped.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt", "autograder/__main__.py"} <= names
        assert "autograder/public/judge.py" in names and not any("__pycache__" in n for n in names)
        mode = zipped.getinfo("run_autograder").external_attr >> 16
        assert mode & stat.S_IXUSR
        listed = zipped.read("requirements.txt").decode().split()
    assert (
        listed == requirements() and any(r.startswith("torch==") for r in listed) and "hypothesis" in listed
    )
    assert not any(r.startswith(("nbgrader", "jupyter")) for r in listed)


def test_building_twice_gives_the_same_zip(autograder_zip, tmp_path):
    assert build(tmp_path).read_bytes() == autograder_zip.read_bytes()


def _fake_autograder_root(root: Path, autograder_zip: Path, package: Path) -> Path:
    with zipfile.ZipFile(autograder_zip) as zipped:
        zipped.extractall(root / "source")
    shutil.copytree(package, root / "submission" / "diffusion_models")
    (root / "submission" / "diffusion.ipynb").write_text("{}")
    return root


@pytest.mark.parametrize(
    ("package", "full_marks"),
    [(REFERENCE_DIR / "diffusion_models", True), (RELEASE_DIR / "diffusion_models", False)],
    ids=["reference", "stub"],
)
def test_run_autograder_grades_the_submission_into_results_json(
    package, full_marks, autograder_zip, tmp_path
):
    root = _fake_autograder_root(tmp_path / "autograder", autograder_zip, package)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), PYTHON=sys.executable, GRADER_DEVICE="cpu")
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    which = subprocess.run(
        [sys.executable, "-c", "import autograder; print(autograder.__file__)"],
        cwd=root / "source",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert which.stdout.strip().startswith(str(root / "source"))  # the zip's grader, not the kit's
    results = json.loads((root / "results" / "results.json").read_text())
    possible = sum(test["max_score"] for test in results["tests"])
    assert possible > 0 and results["score"] == (possible if full_marks else 0), results["output"]
    if not full_marks:
        assert all("not implemented" in t["output"] or "not run" in t["output"] for t in results["tests"])
