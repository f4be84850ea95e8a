"""Inside the kit's tests, ``import diffusion_models`` is the generated reference solution."""

from __future__ import annotations

import sys

import pytest
import torch

from kit import REFERENCE_DIR, RELEASE_DIR, REPO_ROOT

sys.path.insert(0, str(REFERENCE_DIR))
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture
def release_dir():
    return RELEASE_DIR


@pytest.fixture
def reference_dir():
    return REFERENCE_DIR
