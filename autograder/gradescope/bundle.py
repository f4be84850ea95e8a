"""Build the Gradescope autograder zip: ``make gradescope`` (``python -m autograder.gradescope --out DIR``).

The zip holds, at its top, ``setup.sh`` (Gradescope runs it once to install Python and the packages),
``run_autograder`` (run for every submission: grades /autograder/submission into
/autograder/results/results.json), both copied from this folder, ``requirements.txt`` (the kit's
``requirements/runtime.txt``: the grader's and the student package's dependencies at the versions of
the kit's lock; also kept at its own path, where the grader's provenance reads it), the ``autograder``
package itself, ``release/diffusion/diffusion_models`` (the given package that submissions are
laid over) and ``release/diffusion/diffusion.ipynb`` (the released notebook: what a submitted notebook is
checked against, :mod:`autograder.public.notebook`).
"""

from __future__ import annotations

import argparse
import stat
import sys
import zipfile
from pathlib import Path

FILES = Path(__file__).resolve().parent  # setup.sh and run_autograder sit beside this file
AUTOGRADER_DIR = FILES.parent
REPO_ROOT = AUTOGRADER_DIR.parent
GIVEN_PACKAGE = REPO_ROOT / "release" / "diffusion" / "diffusion_models"
RUNTIME_PINS = REPO_ROOT / "requirements" / "runtime.txt"  # written by `make lock` (kit/lock.py)
GIVEN_NOTEBOOK = GIVEN_PACKAGE.parent / "diffusion.ipynb"


def requirements(runtime: Path = RUNTIME_PINS) -> list[str]:
    """The grader's and the student package's dependencies, ``name==version`` as the lock pins them."""
    lines = runtime.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _add(zipped: zipfile.ZipFile, path: Path, name: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same zip from the same files
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zipped.writestr(info, path.read_bytes())


def build(out_dir: Path) -> Path:
    """Write ``out_dir/autograder.zip`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "autograder.zip"
    with zipfile.ZipFile(target, "w") as zipped:
        _add(zipped, FILES / "setup.sh", "setup.sh", executable=True)
        _add(zipped, FILES / "run_autograder", "run_autograder", executable=True)
        info = zipfile.ZipInfo("requirements.txt", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o644 | stat.S_IFREG) << 16
        zipped.writestr(info, "\n".join(requirements()) + "\n")
        _add(zipped, RUNTIME_PINS, RUNTIME_PINS.relative_to(REPO_ROOT).as_posix())
        for path in sorted(AUTOGRADER_DIR.rglob("*")):
            relative = path.relative_to(AUTOGRADER_DIR)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                _add(
                    zipped,
                    path,
                    f"autograder/{relative.as_posix()}",
                    executable=path.name in ("run_autograder", "setup.sh"),
                )
        # The package as students were given it: submissions (only the files with TODOs) are laid
        # over it (autograder.submission.GIVEN_PACKAGE, the same path relative to autograder/).
        for path in sorted(GIVEN_PACKAGE.rglob("*")):
            relative = path.relative_to(REPO_ROOT)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                _add(zipped, path, relative.as_posix())
        _add(zipped, GIVEN_NOTEBOOK, GIVEN_NOTEBOOK.relative_to(REPO_ROOT).as_posix())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "out" / "gradescope", help="folder for autograder.zip"
    )
    target = build(parser.parse_args(argv).out)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
