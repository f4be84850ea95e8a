"""Keep hypothesis's storage out of the folder the checks run in.

Hypothesis writes a storage directory, ``.hypothesis/`` in the current folder unless told otherwise:
its example database (the checks already run with ``database=None``) and a cache of the constants it
reads from the code under test (``.hypothesis/constants/``, which no setting switches off). Running the
public checks in the notebook or with ``pytest`` would leave it in the student's assignment folder;
``public_checks`` calls :func:`use_a_temporary_storage_directory` when it is imported.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir


def use_a_temporary_storage_directory() -> None:
    """Point hypothesis at a new temporary folder, removed when the process exits, unless
    ``HYPOTHESIS_STORAGE_DIRECTORY`` already names one."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return  # the user's choice
    try:
        home = tempfile.mkdtemp(prefix="public-checks-hypothesis-")
    except OSError:  # no writable temporary folder: hypothesis keeps its default
        return
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    set_hypothesis_home_dir(home)
