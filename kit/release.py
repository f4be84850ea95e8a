"""Build ``release/diffusion/`` (student stubs) and ``reference/diffusion_models/`` from ``source/``.

    python -m kit.release            # rewrite both folders in place (make release)
    python -m kit.release --out DIR  # write them under DIR instead (the drift test does this)

Python files are resolved by :mod:`kit.markers`; every other file is copied as is. The autograder's
public checks (``autograder/public/``) ship beside the package as ``release/diffusion/public_checks/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import PACKAGE, REPO_ROOT, SOURCE_DIR
from .markers import MarkerError, to_reference, to_stub

SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}
PUBLIC_CHECKS = REPO_ROOT / "autograder" / "public"  # single-sourced: the autograder runs the same checks


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
        else:
            shutil.copy2(path, destination)


def build(out_root: Path = REPO_ROOT, source_dir: Path = SOURCE_DIR) -> tuple[Path, Path]:
    """Write release/diffusion and reference/diffusion_models under ``out_root``; return both paths."""
    release = out_root / "release" / "diffusion"
    reference = out_root / "reference" / PACKAGE
    _write_tree(source_dir, release, to_stub)
    _write_tree(PUBLIC_CHECKS, release / "public_checks", to_stub)  # no markers there: copied unchanged
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
        release, reference = build(args.out)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {release} and {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
