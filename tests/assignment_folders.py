"""Student assignment folders for the notebook, nbgrader and collect_submission.sh tests.

A folder is a copy of ``release/diffusion/`` (what students download), optionally with the reference
solution dropped in as its ``diffusion_models/``: what a student who solved everything holds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kit import PACKAGE, REFERENCE_DIR, RELEASE_DIR

CACHES = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")
ZIP_NAME = "diffusion_submission.zip"


def student_folder(where: Path, solved: bool) -> Path:
    """A copy of the release at ``where``; with ``solved``, its package is the reference solution."""
    shutil.copytree(RELEASE_DIR, where, ignore=CACHES)
    if solved:
        shutil.rmtree(where / PACKAGE)
        shutil.copytree(REFERENCE_DIR / PACKAGE, where / PACKAGE, ignore=CACHES)
    return where


def collect(folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``bash collect_submission.sh`` in ``folder`` as a student would."""
    return subprocess.run(
        ["bash", "collect_submission.sh"], cwd=folder, capture_output=True, text=True, timeout=60, env=env
    )
