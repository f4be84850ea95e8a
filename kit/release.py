"""Build nbgrader's ``source/diffusion/``, the students' ``release/diffusion/`` and the instructor's
``reference/diffusion_models/`` from the hand-edited ``solutions/``.

    python -m kit.release            # rewrite the three folders in place (make release)
    python -m kit.release --out DIR  # write them under DIR instead (the drift test does this)

The pipeline, one step per folder:

1. ``solutions/`` (by hand) -> ``source/diffusion/``, nbgrader's source assignment: the source
   notebook built from the text notebook ``solutions/diffusion.md`` and the task registry
   (:mod:`kit.notebook_source`; its solution cells and hidden tests are nbgrader's to strip), the
   package with each solution region replaced by its stub (:mod:`kit.markers`), the other given files
   of ``solutions/`` as they are, the autograder's public checks (``autograder/public/``) as
   ``public_checks/`` and ``collect_submission.sh``. Everything in it may reach students.
2. ``source/diffusion/`` -> ``release/diffusion/``: nbgrader's own generate_assignment converter, what
   ``nbgrader generate_assignment diffusion`` and formgrader's "Generate" button run (here without a
   database): it writes the student notebook and copies every other file verbatim.
3. ``solutions/diffusion_models/`` -> ``reference/diffusion_models/``: the markers dropped.
4. ``solutions/diffusion.md`` and the task registry -> ``reference/written/``: the TAs' rubric and the
   Gradescope outline (:mod:`kit.rubric`). Instructors only, like all of ``reference/``.

``solutions/`` lies outside nbgrader's ``source/`` directory, so that no nbgrader command can list,
copy or release it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import PACKAGE, REPO_ROOT, SOLUTIONS_DIR, rubric
from .markers import MarkerError, find_regions, to_reference, to_stub
from .notebook_source import (
    NOTEBOOK_TEXT,
    build_notebook,
    read_text_notebook,
    read_written_questions,
    render,
    task_files,
)

ASSIGNMENT = "diffusion"
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}
PUBLIC_CHECKS = REPO_ROOT / "autograder" / "public"  # single-sourced: the autograder runs the same checks
NBGRADER_CONFIG = REPO_ROOT / "nbgrader_config.py"
COLLECT_SCRIPT = REPO_ROOT / "collect_submission.sh"
NOTEBOOK = "diffusion.ipynb"
WRITTEN = Path("reference") / "written"  # the rubric and the Gradescope outline (kit/rubric.py)


def _hand_edited_files(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """The files under ``root`` but caches and the relative paths ``skip``."""
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_NAMES for part in relative.parts) or path.suffix == ".pyc":
            continue
        if relative.as_posix() in skip:
            continue
        if path.is_file():
            files.append(path)
    return files


def _write_tree(source_root: Path, target: Path, transform, skip: tuple[str, ...] = ()) -> None:
    """``source_root``'s files but ``skip`` under ``target``: .py files through ``transform``, the rest
    copied."""
    if target.exists():
        shutil.rmtree(target)
    for path in _hand_edited_files(source_root, skip):
        if path.suffix == ".ipynb":
            raise MarkerError(
                path, 1, f"a notebook here would ship as is: the notebook is built from {NOTEBOOK_TEXT}"
            )
        destination = target / path.relative_to(source_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            destination.write_text(transform(path.read_text(encoding="utf-8"), path), encoding="utf-8")
        else:
            shutil.copy2(path, destination)


def generate_assignment(course: Path, config_file: Path = NBGRADER_CONFIG) -> Path:
    """``course/release/diffusion`` from ``course/source/diffusion``, as ``nbgrader generate_assignment
    diffusion --force`` writes it.

    Runs nbgrader's own GenerateAssignment converter (what the command runs) with the course's
    nbgrader_config.py and without a database (``--no-db``): solution cells replaced, hidden tests
    removed, outputs cleared, graded cells locked and checksummed, every other file copied verbatim.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.assignment_id = ASSIGNMENT
    config.GenerateAssignment.no_database = True  # what --no-db sets
    config.GenerateAssignment.force = True
    config.SaveCells.enabled = False
    release = course / "release" / ASSIGNMENT
    if release.exists():
        shutil.rmtree(release)
    GenerateAssignment(coursedir=CourseDirectory(config=config), config=config).start()
    return release


def graded_files(solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """What a submission holds, relative to the assignment folder: the notebook, then every package file
    with a solution region (the student's TODOs). ``collect_submission.sh`` zips exactly these, and
    nbgrader's autograde never overwrites them (nbgrader_config.py)."""
    if not (solutions_dir / PACKAGE).is_dir():  # else autograding would put the stubs over every answer
        raise FileNotFoundError(f"{solutions_dir / PACKAGE} is missing: the graded files are read from it")
    package_files = [
        path.relative_to(solutions_dir).as_posix()
        for path in _hand_edited_files(solutions_dir / PACKAGE)
        if path.suffix == ".py" and find_regions(path.read_text(encoding="utf-8"), path)
    ]
    return [NOTEBOOK, *package_files]


def build_source(out_root: Path = REPO_ROOT, solutions_dir: Path = SOLUTIONS_DIR) -> Path:
    """Write nbgrader's source assignment ``out_root/source/diffusion`` (step 1); return its path."""
    source = out_root / "source" / ASSIGNMENT
    files = task_files(solutions_dir)  # fails on bad markers before any write
    notebook = render(build_notebook(files, solutions_dir=solutions_dir))
    _write_tree(solutions_dir, source, to_stub, skip=(NOTEBOOK_TEXT,))  # the text notebook: built, not copied
    _write_tree(PUBLIC_CHECKS, source / "public_checks", to_stub)  # no markers there: copied unchanged
    shutil.copy2(COLLECT_SCRIPT, source / COLLECT_SCRIPT.name)
    # CI in the students' repository: .github/workflows/classroom.yml and requirements.txt (ci/README.md)
    shutil.copytree(REPO_ROOT / "ci" / "student", source, dirs_exist_ok=True)
    (source / NOTEBOOK).write_text(notebook, encoding="utf-8")
    return source


def build(out_root: Path = REPO_ROOT, solutions_dir: Path = SOLUTIONS_DIR) -> tuple[Path, Path]:
    """Write source/diffusion, release/diffusion, reference/diffusion_models and reference/written under
    ``out_root``; return the release and the reference package."""
    build_source(out_root, solutions_dir)
    release = generate_assignment(out_root)
    reference = out_root / "reference" / PACKAGE
    _write_tree(solutions_dir / PACKAGE, reference, to_reference)
    rubric.write(out_root / WRITTEN, read_written_questions(read_text_notebook(solutions_dir)))
    return release, reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT, help="folder to write source/, release/ and reference/ under"
    )
    args = parser.parse_args(argv)
    try:
        release, reference = build(args.out)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out / 'source' / ASSIGNMENT}, {release}, {reference} and {args.out / WRITTEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
