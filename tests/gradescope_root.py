"""A fake ``/autograder`` tree laid out as Gradescope lays it out, whose grader says which copy of it ran.

Gradescope unpacks the autograder zip into ``/autograder/source`` and runs ``run_autograder``, which must
grade with that copy. The kit's own checkout is importable too (``pip install -e``), and grades exactly
alike, so results alone cannot tell the two apart: the bundle's copy gets a marker planted at the end of
its ``autograder/__init__.py`` that appends the path it was imported from to ``ROOT/graders-that-ran``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

MARKER = "graders-that-ran"


def unpack_bundle(autograder_zip: Path, root: Path) -> Path:
    """``root/source``: the bundle unpacked, its grader marked; returns ``root``."""
    with zipfile.ZipFile(autograder_zip) as zipped:
        zipped.extractall(root / "source")
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
    """``bash root/source/run_autograder`` on ``root/submission``, from a folder that is neither."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), PYTHON=sys.executable, GRADER_DEVICE="cpu")
    return subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def graders_that_ran(root: Path) -> list[str]:
    """The ``autograder/__init__.py`` of every bundle grader that ran (nothing for the kit's own)."""
    marker = root / MARKER
    return marker.read_text(encoding="utf-8").splitlines() if marker.exists() else []


def ran_the_bundles_grader(root: Path) -> bool:
    expected = str((root / "source" / "autograder" / "__init__.py").resolve())
    ran = graders_that_ran(root)
    return bool(ran) and all(str(Path(path).resolve()) == expected for path in ran)
