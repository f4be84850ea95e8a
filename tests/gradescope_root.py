"""A fake ``/autograder`` tree laid out as Gradescope lays it out (by :mod:`autograder.gradescope.local`,
which ``make gradescope-test`` runs), whose grader says which copy of it ran.

Gradescope unpacks the autograder zip into ``/autograder/source`` and runs ``run_autograder``, which must
grade with that copy. The kit's own checkout is importable too (``pip install -e``), and grades exactly
alike, so results alone cannot tell the two apart: the bundle's copy gets a marker planted at the end of
its ``autograder/__init__.py`` that appends the path it was imported from to ``ROOT/graders-that-ran``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from autograder.gradescope import local
from autograder.gradescope.local import unpack_bundle as unpack_unmarked

MARKER = "graders-that-ran"


def unpack_bundle(autograder_zip: Path, root: Path) -> Path:
    """``root/source``: the bundle unpacked, its grader marked; returns ``root``."""
    unpack_unmarked(autograder_zip, root)
    init = root / "source" / "autograder" / "__init__.py"
    planted = (
        "\n\n# planted by the kit's tests (tests/gradescope_root.py): which copy of the grader ran\n"
        "def _mark():\n"
        "    import os\n\n"
        f"    with open({str(root / MARKER)!r}, 'a') as marker:\n"
        "        marker.write(os.path.abspath(__file__) + '\\n')\n\n\n"
        "_mark()\n"
        "del _mark\n"
    )
    init.write_text(init.read_text(encoding="utf-8") + planted, encoding="utf-8")
    return root


def run_autograder(root: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``root/run_autograder`` on ``root/submission`` with this Python (no setup.sh run needed)."""
    return local.run_autograder(root, timeout=timeout, PYTHON=sys.executable)


def graders_that_ran(root: Path) -> list[str]:
    """The ``autograder/__init__.py`` of every bundle grader that ran (nothing for the kit's own)."""
    marker = root / MARKER
    return marker.read_text(encoding="utf-8").splitlines() if marker.exists() else []


def ran_the_bundles_grader(root: Path) -> bool:
    expected = str((root / "source" / "autograder" / "__init__.py").resolve())
    ran = graders_that_ran(root)
    return bool(ran) and all(str(Path(path).resolve()) == expected for path in ran)
