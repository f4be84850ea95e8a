"""Shared helpers of the autograder's tests: one grader (one zygote) for the whole test session."""

from __future__ import annotations

import atexit
import shutil
from pathlib import Path

from autograder.grader import Grader
from kit import REFERENCE_DIR

from .mutants import Mutant, apply

_GRADER: Grader | None = None


def shared_grader() -> Grader:
    """A CPU grader whose zygote is started once and closed when the tests end."""
    global _GRADER
    if _GRADER is None:
        _GRADER = Grader(device="cpu")
        atexit.register(_GRADER.close)
    return _GRADER


def reference_copy(root: Path) -> Path:
    """A folder holding a fresh copy of reference/diffusion_models; returns the folder."""
    shutil.copytree(
        REFERENCE_DIR / "diffusion_models",
        root / "diffusion_models",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return root


def mutated(root: Path, *mutants: Mutant) -> Path:
    """A folder holding the reference with the mutants' edits applied."""
    reference_copy(root)
    for mutant in mutants:
        apply(mutant, root / "diffusion_models")
    return root
