"""`make gradescope`'s zip, its run_autograder run against a fake /autograder tree, and
`make gradescope-test` (setup.sh and run_autograder in a local stand-in for /autograder)."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import gradescope_root
import pytest
from gradescope_root import graders_that_ran, ran_the_bundles_grader, run_autograder, unpack_bundle

from autograder.gradescope import build, local, requirements
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
        assert "requirements/runtime.txt" in names  # where the grader's provenance reads the locked versions
    assert listed == requirements() and all("==" in r for r in listed)
    assert any(r.startswith("torch==") for r in listed) and any(r.startswith("hypothesis==") for r in listed)
    assert not any(r.startswith(("nbgrader", "jupyter")) for r in listed)


def test_building_twice_gives_the_same_zip(autograder_zip, tmp_path):
    assert build(tmp_path).read_bytes() == autograder_zip.read_bytes()


def _fake_autograder_root(root: Path, autograder_zip: Path, package: Path) -> Path:
    unpack_bundle(autograder_zip, root)
    shutil.copytree(package, root / "submission" / "diffusion_models")
    (root / "submission" / "diffusion.ipynb").write_text("{}")
    return root


@pytest.mark.slow
def test_run_autograder_grades_the_stubs_zero(autograder_zip, tmp_path):
    root = _fake_autograder_root(tmp_path / "autograder", autograder_zip, RELEASE_DIR / "diffusion_models")
    done = run_autograder(root, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ran_the_bundles_grader(root), (  # the zip's grader, not the kit's
        f"run_autograder did not grade with {root / 'source' / 'autograder'}: {graders_that_ran(root)}"
    )
    results = json.loads((root / "results" / "results.json").read_text())
    possible = sum(test["max_score"] for test in results["tests"])
    assert possible > 0 and results["score"] == 0, results["output"]
    assert all("not implemented" in t["output"] or "not run" in t["output"] for t in results["tests"])


@pytest.mark.slow
def test_make_gradescope_test_grades_the_reference_in_full(tmp_path, monkeypatch, capsys):
    """`make gradescope-test SUBMISSION=reference`: the zip built, setup.sh run (installing nothing),
    run_autograder run with setup.sh's venv, and the results.json it names scores 100."""
    monkeypatch.setattr(local, "unpack_bundle", gradescope_root.unpack_bundle)  # marks the bundle's grader
    root = tmp_path / "autograder"
    assert local.main([str(REFERENCE_DIR), "--root", str(root), "--out", str(tmp_path / "zip")]) == 0
    printed = capsys.readouterr().out
    results_path = root / "results" / "results.json"
    assert f"{results_path}: score 100/100" in printed, printed
    results = json.loads(results_path.read_text())
    assert results["score"] == 100 == sum(test["max_score"] for test in results["tests"])
    assert (root / "venv" / "bin" / "python").exists() and "nothing installed" in (
        root / "setup.sh.log"
    ).read_text()
    assert ran_the_bundles_grader(root), graders_that_ran(root)  # through setup.sh's venv, not the kit's


def test_setup_sh_refuses_a_preinstalled_python_older_than_3_11(autograder_zip, tmp_path):
    root = local.unpack_bundle(autograder_zip, tmp_path / "autograder")
    done = local.setup(root, python="/bin/false")
    assert done.returncode == 1 and "not a Python >= 3.11" in done.stderr, done.stderr
    assert not (root / "venv").exists()


def test_gradescope_test_replaces_only_a_root_it_made(tmp_path):
    mine = local.fresh_root(tmp_path / "root")
    (mine / "results").mkdir()
    assert local.fresh_root(mine) == mine and not (mine / "results").exists()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not made by make gradescope-test"):
        local.fresh_root(theirs)
    assert (theirs / "notes.txt").read_text() == "keep"
