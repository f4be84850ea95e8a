"""Finding and copying the student's package: layouts, links and zips that try to escape."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest
from catalogue.grading import reference_copy

from autograder.submission import SubmissionError, prepare


def test_links_are_not_copied(tmp_path):
    folder = reference_copy(tmp_path / "submission")
    secret = tmp_path / "secret.txt"
    secret.write_text("the hidden checks")
    os.symlink(secret, folder / "diffusion_models" / "notes.txt")
    package = prepare(folder, tmp_path / "work")
    assert (package / "noise_scheduler.py").is_file() and not (package / "notes.txt").exists()


def test_a_linked_package_is_not_a_package(tmp_path):
    real = reference_copy(tmp_path / "elsewhere")
    (tmp_path / "submission").mkdir()
    os.symlink(real / "diffusion_models", tmp_path / "submission" / "diffusion_models")
    with pytest.raises(SubmissionError, match="no diffusion_models/ folder"):
        prepare(tmp_path / "submission", tmp_path / "work")


def test_zip_links_are_skipped_and_absolute_paths_refused(tmp_path):
    target = tmp_path / "links.zip"
    with zipfile.ZipFile(target, "w") as zipped:
        zipped.writestr("diffusion_models/__init__.py", "")
        link = zipfile.ZipInfo("diffusion_models/leak.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "/etc/passwd")
    package = prepare(target, tmp_path / "work")
    assert not (package / "leak.py").exists()
    absolute = tmp_path / "absolute.zip"
    with zipfile.ZipFile(absolute, "w") as zipped:
        zipped.writestr("/tmp/diffusion_models/__init__.py", "")
    with pytest.raises(SubmissionError, match="outside the zip"):
        prepare(absolute, tmp_path / "work2")


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.submission.MAX_BYTES", 1000)
    target = tmp_path / "bomb.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("diffusion_models/__init__.py", "0" * 5000)
    with pytest.raises(SubmissionError, match="more than"):
        prepare(target, tmp_path / "work")


def test_not_a_zip_says_so(tmp_path):
    target = tmp_path / "submission.zip"
    target.write_text("not a zip")
    with pytest.raises(SubmissionError, match="not a zip file"):
        prepare(target, tmp_path / "work")
