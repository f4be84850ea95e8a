"""`make gradescope`'s zip, and its run_autograder run against a fake /autograder tree."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from gradescope_root import graders_that_ran, ran_the_bundles_grader, run_autograder, unpack_bundle

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
    unpack_bundle(autograder_zip, root)
    shutil.copytree(package, root / "submission" / "diffusion_models")
    (root / "submission" / "diffusion.ipynb").write_text("{}")
    return root


@pytest.mark.parametrize(
    ("package", "full_marks"),
    [(REFERENCE_DIR / "diffusion_models", True), (RELEASE_DIR / "diffusion_models", False)],
    ids=["reference", "stub"],
)
@pytest.mark.slow
def test_run_autograder_grades_the_submission_into_results_json(
    package, full_marks, autograder_zip, tmp_path
):
    root = _fake_autograder_root(tmp_path / "autograder", autograder_zip, package)
    done = run_autograder(root, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ran_the_bundles_grader(root), (  # the zip's grader, not the kit's
        f"run_autograder did not grade with {root / 'source' / 'autograder'}: {graders_that_ran(root)}"
    )
    results = json.loads((root / "results" / "results.json").read_text())
    possible = sum(test["max_score"] for test in results["tests"])
    assert possible > 0 and results["score"] == (possible if full_marks else 0), results["output"]
    if not full_marks:
        assert all("not implemented" in t["output"] or "not run" in t["output"] for t in results["tests"])
