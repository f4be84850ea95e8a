"""Build ``release/diffusion/`` (student stubs) and ``reference/diffusion_models/`` from ``source/``.

    python -m kit.release            # rewrite both folders in place (make release)
    python -m kit.release --out DIR  # write them under DIR instead (the drift test does this)

Python files are resolved by :mod:`kit.markers`; notebooks go through nbgrader's generate_assignment
(:func:`student_notebook`: solutions and hidden tests removed); every other file is copied as is. The
autograder's public checks (``autograder/public/``) ship beside the package as
``release/diffusion/public_checks/``, and ``collect_submission.sh`` beside the notebook.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import PACKAGE, REPO_ROOT, SOURCE_DIR
from .markers import MarkerError, find_regions, to_reference, to_stub
from .notebook_source import write as write_source_notebook

SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}
PUBLIC_CHECKS = REPO_ROOT / "autograder" / "public"  # single-sourced: the autograder runs the same checks
NBGRADER_CONFIG = REPO_ROOT / "nbgrader_config.py"
COLLECT_SCRIPT = REPO_ROOT / "collect_submission.sh"
NOTEBOOK = "diffusion.ipynb"


def _source_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_NAMES for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            files.append(path)
    return files


def _write_tree(source_root: Path, target: Path, transform) -> None:
    if target.exists():
        shutil.rmtree(target)
    for path in _source_files(source_root):
        destination = target / path.relative_to(source_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            destination.write_text(transform(path.read_text(encoding="utf-8"), path), encoding="utf-8")
        elif path.suffix == ".ipynb":  # an nbgrader source notebook holds solutions: never copied as is
            destination.write_text(student_notebook(path), encoding="utf-8")
        else:
            shutil.copy2(path, destination)


def student_notebook(source_notebook: Path, config_file: Path = NBGRADER_CONFIG) -> str:
    """The students' version of an nbgrader source notebook, as ``nbgrader generate_assignment`` writes it.

    Runs nbgrader's own GenerateAssignment converter (what the command runs), with the course's
    nbgrader_config.py and without a database (``--no-db``), on a scratch course directory that holds
    only this notebook: solution cells replaced, hidden tests removed, outputs cleared, graded cells
    locked and checksummed. The files beside the notebook are not nbgrader's business here.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    assignment = source_notebook.parent.name
    config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as scratch:
        course = Path(scratch)
        (course / "source" / assignment).mkdir(parents=True)
        shutil.copyfile(source_notebook, course / "source" / assignment / source_notebook.name)
        config.CourseDirectory.root = str(course)
        config.CourseDirectory.assignment_id = assignment
        config.GenerateAssignment.no_database = True  # what --no-db sets
        config.SaveCells.enabled = False
        GenerateAssignment(coursedir=CourseDirectory(config=config), config=config).start()
        return (course / "release" / assignment / source_notebook.name).read_text(encoding="utf-8")


def graded_files(source_dir: Path = SOURCE_DIR) -> list[str]:
    """What a submission holds, relative to the assignment folder: the notebook, then every package file
    with a solution region (the student's TODOs). ``collect_submission.sh`` zips exactly these."""
    package_files = [
        path.relative_to(source_dir).as_posix()
        for path in _source_files(source_dir / PACKAGE)
        if path.suffix == ".py" and find_regions(path.read_text(encoding="utf-8"), path)
    ]
    return [NOTEBOOK, *package_files]


def build(out_root: Path = REPO_ROOT, source_dir: Path = SOURCE_DIR) -> tuple[Path, Path]:
    """Write release/diffusion and reference/diffusion_models under ``out_root``; return both paths."""
    release = out_root / "release" / "diffusion"
    reference = out_root / "reference" / PACKAGE
    _write_tree(source_dir, release, to_stub)
    _write_tree(PUBLIC_CHECKS, release / "public_checks", to_stub)  # no markers there: copied unchanged
    shutil.copy2(COLLECT_SCRIPT, release / COLLECT_SCRIPT.name)
    # CI in the students' repository: .github/workflows/classroom.yml and requirements.txt (ci/README.md)
    shutil.copytree(REPO_ROOT / "ci" / "student", release, dirs_exist_ok=True)
    _write_tree(source_dir / PACKAGE, reference, to_reference)
    return release, reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT, help="folder to write release/ and reference/ under"
    )
    args = parser.parse_args(argv)
    try:
        print(f"wrote {write_source_notebook()}")  # the source notebook follows the autograder's points
        release, reference = build(args.out)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {release} and {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
