"""``make gradescope-test SUBMISSION=path``: the Gradescope zip run on this machine, as Gradescope runs it.

    python -m autograder.gradescope.local SUBMISSION [--root out/gradescope-test] [--out out/gradescope]

1. builds the zip (``out/gradescope/autograder.zip``, what you upload);
2. lays out ROOT the way Gradescope lays out ``/autograder``: the zip unpacked in ``ROOT/source``,
   ``ROOT/run_autograder`` copied from it, the submission in ``ROOT/submission`` (a zip is unpacked
   there, as Gradescope unpacks an uploaded zip; a folder is copied);
3. runs ``source/setup.sh`` with ``AUTOGRADER_ROOT=ROOT`` and ``PREINSTALLED_PYTHON`` set to this Python
   (whose venv already holds the pinned packages), so nothing is installed: no apt, no pip;
4. runs ``ROOT/run_autograder`` from ROOT, which writes ``ROOT/results/results.json``, and prints where
   it is, with its score.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from ..submission import SKIPPED, unpack
from .bundle import REPO_ROOT, build

STAMP = ".gradescope-test-root"  # marks a folder this module made, so rerunning may replace it


def fresh_root(root: Path) -> Path:
    """An empty ``root``, replacing one this module made before; a ValueError for any other folder."""
    if root.exists():
        if any(root.iterdir()) and not (root / STAMP).exists():
            raise ValueError(
                f"--root {root} exists and was not made by make gradescope-test; name an empty or new folder"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / STAMP).write_text("made by python -m autograder.gradescope.local; replaced on each run\n")
    return root


def unpack_bundle(autograder_zip: Path, root: Path) -> Path:
    """Unpack the zip into ``root/source`` and copy its run_autograder to ``root``; returns ``root``."""
    with zipfile.ZipFile(autograder_zip) as zipped:
        zipped.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        (root / "source" / name).chmod(0o755)  # extractall drops the modes the zip records
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def place_submission(submission: Path, root: Path) -> Path:
    """``root/submission``: a zip unpacked into it (within the grader's limits), a folder copied."""
    target = root / "submission"
    if submission.is_file():
        target.mkdir(parents=True)
        unpack(submission, target)
    elif submission.is_dir():
        shutil.copytree(submission, target, ignore=shutil.ignore_patterns(*SKIPPED))
    else:
        raise ValueError(f"SUBMISSION {submission} is neither a zip nor a folder; name one that exists")
    return target


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the bundle's grader, not the kit's
    env.update(AUTOGRADER_ROOT=str(root), **extra)
    return env


def setup(root: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    """``bash root/source/setup.sh`` with ``python`` as the preinstalled Python (nothing is installed)."""
    return subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        cwd=root / "source",
        env=_env(root, PREINSTALLED_PYTHON=python),
        capture_output=True,
        text=True,
        check=False,
    )


def run_autograder(root: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """``root/run_autograder`` from ``root`` (Gradescope's working directory), CPU only; ``env`` adds
    variables (``PYTHON=...`` skips setup.sh's venv)."""
    return subprocess.run(
        [str(root / "run_autograder")],
        cwd=root,
        env=_env(root, GRADER_DEVICE="cpu", **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "submission", type=Path, help="a submission zip, or a folder holding diffusion_models/"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO_ROOT / "out" / "gradescope-test",
        help="the stand-in for /autograder",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "out" / "gradescope", help="folder for autograder.zip"
    )
    args = parser.parse_args(argv)
    root = fresh_root(args.root.resolve())
    unpack_bundle(build(args.out), root)
    place_submission(args.submission.resolve(), root)
    for step, done in (("setup.sh", setup(root)), ("run_autograder", run_autograder(root))):
        (root / f"{step}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            print(f"{step} failed (exit status {done.returncode}); its output: {root / f'{step}.log'}")
            print((done.stdout + done.stderr)[-3000:], file=sys.stderr)
            return 1
    results = root / "results" / "results.json"
    graded = json.loads(results.read_text(encoding="utf-8"))
    possible = sum(float(test.get("max_score", 0)) for test in graded["tests"])
    print(f"{results}: score {graded['score']:g}/{possible:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
