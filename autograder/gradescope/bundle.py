"""Build the Gradescope autograder zip: ``make gradescope`` (``python -m autograder.gradescope --out DIR``).

The zip holds, at its top, ``setup.sh`` (Gradescope runs it once to install Python and the packages),
``run_autograder`` (run for every submission: grades /autograder/submission into
/autograder/results/results.json), both copied from this folder, ``requirements.txt`` (the kit's runtime dependencies from
pyproject.toml, without the notebook tooling, plus hypothesis), the ``autograder`` package itself, and
``release/diffusion/diffusion_models`` (the given package that submissions are laid over) and
``release/diffusion/diffusion.ipynb`` (the released notebook: what a submitted notebook is checked
against, :mod:`autograder.public.notebook`).
"""

from __future__ import annotations

import argparse
import re
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

FILES = Path(__file__).resolve().parent  # setup.sh and run_autograder sit beside this file
AUTOGRADER_DIR = FILES.parent
REPO_ROOT = AUTOGRADER_DIR.parent
GIVEN_PACKAGE = REPO_ROOT / "release" / "diffusion" / "diffusion_models"
GIVEN_NOTEBOOK = GIVEN_PACKAGE.parent / "diffusion.ipynb"
NOT_NEEDED = {"nbgrader", "jupyter", "nbclient", "nbformat"}  # the notebook tooling never runs in grading
ALSO_NEEDED = ["hypothesis"]


def requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The runtime dependencies the grader and the student's package need, pinned as pyproject pins them."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    keep = [d for d in dependencies if re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() not in NOT_NEEDED]
    return keep + [d for d in ALSO_NEEDED if d not in keep]


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
