"""collect_submission.sh: exactly the graded files, a clear error for a missing one, never a half-written
zip, and a zip that the Gradescope bundle grades."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from assignment_folders import ZIP_NAME, collect, student_folder
from gradescope_root import graders_that_ran, ran_the_bundles_grader, run_autograder, unpack_bundle
from student_notebooks import corrupt, filled, write

from kit import REPO_ROOT
from kit.release import graded_files

SCRIPT = REPO_ROOT / "collect_submission.sh"


def _script_list() -> list[str]:
    block = re.search(r"^FILES=\(\n(.*?)^\)", SCRIPT.read_text(encoding="utf-8"), re.M | re.S)
    assert block, "collect_submission.sh must define its graded files as FILES=( ... ), one per line"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_script_lists_the_notebook_and_every_file_with_solution_markers():
    assert _script_list() == graded_files(), (
        "collect_submission.sh's FILES must be the notebook and the package files with solution markers "
        f"in solutions/: {graded_files()}"
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(ZIP_NAME))


def test_the_zip_holds_exactly_the_graded_files(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    result = collect(folder)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(folder / ZIP_NAME) as archive:
        assert sorted(archive.namelist()) == sorted(graded_files())
        for name in archive.namelist():
            assert archive.read(name) == (folder / name).read_bytes(), name
    assert _leftovers(folder) == [ZIP_NAME]  # no temporary file left beside it


@pytest.mark.parametrize(("umask", "mode"), [("022", 0o644), ("002", 0o664), ("077", 0o600)])
def test_the_zip_gets_the_mode_of_any_new_file_not_mktemps_0600(tmp_path, umask, mode):
    folder = student_folder(tmp_path / "student", solved=False)
    result = subprocess.run(
        ["bash", "-c", f"umask {umask} && bash collect_submission.sh"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((folder / ZIP_NAME).stat().st_mode) == mode


def test_a_missing_or_renamed_file_stops_it_with_the_list_of_what_is_missing(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    (folder / "diffusion_models" / "robotics" / "rollout.py").unlink()
    (folder / "diffusion_models" / "noise_scheduler.py").rename(folder / "diffusion_models" / "scheduler.py")
    result = collect(folder)
    assert result.returncode != 0
    assert "2 graded file(s) missing" in result.stderr
    assert "diffusion_models/robotics/rollout.py" in result.stderr
    assert "diffusion_models/noise_scheduler.py" in result.stderr
    assert _leftovers(folder) == []


def test_a_failure_while_writing_leaves_no_half_written_zip_and_keeps_the_previous_one(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    (folder / ZIP_NAME).write_bytes(b"the previous zip")
    # A python that dies half-way: it writes part of the zip, then fails.
    crashing = tmp_path / "crashing-python"
    crashing.write_text('#!/bin/sh\nprintf "PK half" > "$2"\nexit 3\n')
    crashing.chmod(0o755)
    result = collect(folder, env={**os.environ, "PYTHON": str(crashing)})
    assert result.returncode != 0
    assert (folder / ZIP_NAME).read_bytes() == b"the previous zip"
    assert _leftovers(folder) == [ZIP_NAME]


def test_an_unreadable_notebook_is_refused(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    (folder / "diffusion.ipynb").write_text('{"cells": [')  # a half-saved notebook
    result = collect(folder)
    assert result.returncode != 0
    assert "diffusion.ipynb is not a readable notebook" in result.stderr
    assert _leftovers(folder) == []


def test_unanswered_questions_and_missing_figures_are_warned_about_but_zipped(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)  # the release: nothing answered, never run
    result = collect(folder)
    assert result.returncode == 0 and (folder / ZIP_NAME).is_file()
    assert "warning: 5 written answer(s) not answered" in result.stderr
    assert "warning: the notebook was saved without outputs" in result.stderr
    write(filled(figures=False), folder / "diffusion.ipynb")
    result = collect(folder)
    assert result.returncode == 0 and "not answered" not in result.stderr
    assert "figure(s) missing from the cells that should show them: the forward process" in result.stderr
    write(filled(), folder / "diffusion.ipynb")
    result = collect(folder)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_a_cut_off_notebook_is_refused_with_the_way_to_recover(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    corrupt(write(filled(), folder / "diffusion.ipynb"))
    result = collect(folder)
    assert result.returncode != 0 and _leftovers(folder) == []
    assert "invalid JSON at line" in result.stderr and "Revert Notebook to Checkpoint" in result.stderr


@pytest.mark.slow
def test_the_gradescope_bundle_grades_the_zip_of_a_solved_folder_in_full(tmp_path):
    folder = student_folder(tmp_path / "student", solved=True)
    assert collect(folder).returncode == 0
    built = subprocess.run(
        [sys.executable, "-m", "autograder.gradescope", "--out", str(tmp_path / "bundle")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    # Gradescope's layout: the bundle in /autograder/source, the unpacked upload in /autograder/submission.
    root = unpack_bundle(tmp_path / "bundle" / "autograder.zip", tmp_path / "autograder")
    with zipfile.ZipFile(folder / ZIP_NAME) as upload:
        upload.extractall(root / "submission")
    run = run_autograder(root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ran_the_bundles_grader(root), f"not the bundle's grader: {graders_that_ran(root)}"
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["tests"], results["output"]
    assert results["score"] == sum(test["max_score"] for test in results["tests"]), results["output"]
