"""Instructor tooling: the release build and the demos. Students never see this package."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO_ROOT / "source" / "diffusion"
RELEASE_DIR = REPO_ROOT / "release" / "diffusion"
REFERENCE_DIR = REPO_ROOT / "reference"
PACKAGE = "diffusion_models"
