"""Finding the student's ``diffusion_models/`` in a submission and making the grader's own copy of it.

A submission is the zip that ``collect_submission.sh`` makes (top level: ``diffusion_models/`` and
``diffusion.ipynb``), such a zip or folder whose single top-level folder holds them, or a folder
holding ``diffusion_models/`` (``reference/``, ``release/diffusion``). Zips are unpacked with limits:
no absolute paths or ``..``, no links, bounded size and count. The grader's copy is the package as
students were given it (``release/diffusion/diffusion_models``) with the submission's regular .py files
laid over it, so a zip that holds only the files with TODOs is complete; no link is followed out of it.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

PACKAGE = "diffusion_models"
MAX_FILES = 2000
MAX_BYTES = 100 * 2**20
SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".git"}


class SubmissionError(Exception):
    """The submission cannot be graded as it is; the message tells the student why and what to do."""


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, None for a folder or link; SubmissionError for one that escapes."""
    path = PurePosixPath(info.filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"the zip holds {info.filename!r}, a path outside the zip's own folder")
    if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
        return None
    return path


def unpack(archive: Path, target: Path) -> Path:
    """Unpack a zip into ``target`` within the limits; return ``target``."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if len(members) > MAX_FILES * 5:
                raise SubmissionError(f"the zip holds {len(members)} entries; a submission needs a few dozen")
            total = 0
            for info in members:
                relative = _safe_member(info)
                if relative is None or any(part in SKIPPED for part in relative.parts):
                    continue
                total += info.file_size
                if total > MAX_BYTES:
                    raise SubmissionError(f"the zip unpacks to more than {MAX_BYTES // 2**20} MiB")
                destination = target.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, open(destination, "wb") as sink:
                    written = 0
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > info.file_size:  # a header that lies about the size
                            raise SubmissionError(f"{info.filename!r} unpacks larger than the zip says")
                        sink.write(chunk)
    except zipfile.BadZipFile as err:
        raise SubmissionError(f"{archive.name} is not a zip file: {err}") from err
    return target


# The package as students were given it: what a submission's files are laid over. collect_submission.sh
# zips only the files with TODOs, so the rest (__init__.py, networks/, ...) comes from here.
GIVEN_PACKAGE = Path(__file__).resolve().parent.parent / "release" / "diffusion" / PACKAGE


def _is_package(folder: Path) -> bool:
    """A real folder holding .py files (its __init__.py may come from the given package)."""
    return folder.is_dir() and not folder.is_symlink() and any(folder.rglob("*.py"))


def find_package(root: Path) -> Path:
    """The ``diffusion_models`` folder at ``root``, in its single subfolder, or ``root`` itself."""
    if root.name == PACKAGE and _is_package(root):
        return root
    if _is_package(root / PACKAGE):
        return root / PACKAGE
    folders = [
        p for p in root.iterdir() if p.is_dir() and p.name not in SKIPPED and not p.name.startswith(".")
    ]
    if len(folders) == 1 and _is_package(folders[0] / PACKAGE):
        return folders[0] / PACKAGE
    listing = ", ".join(sorted(p.name for p in root.iterdir())[:12]) or "nothing"
    raise SubmissionError(
        f"no {PACKAGE}/ folder (with your .py files) found at the top of the submission, which holds: "
        f"{listing}. Make the zip with collect_submission.sh, which puts {PACKAGE}/ and diffusion.ipynb at its top."
    )


def copy_package(package: Path, target: Path, given: Path = GIVEN_PACKAGE) -> Path:
    """``target/diffusion_models``: the given package's files, then the submission's .py files over them.

    Only regular .py files of the submission are copied (no links, no caches), each to its own path
    inside the package; a file reached through a link that leaves the package is refused.
    """
    destination = target / PACKAGE
    if given.is_dir():
        shutil.copytree(given, destination, ignore=shutil.ignore_patterns(*SKIPPED, "*.pyc"))
    count = size = 0
    root = package.resolve()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if any(part in SKIPPED for part in relative.parts) or path.is_symlink() or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            raise SubmissionError(f"{PACKAGE}/{relative.as_posix()} leads outside {PACKAGE}/ (a link?)")
        count, size = count + 1, size + path.stat().st_size
        if count > MAX_FILES or size > MAX_BYTES:
            raise SubmissionError(f"{PACKAGE}/ holds more than {MAX_FILES} files or {MAX_BYTES // 2**20} MiB")
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination / relative)
    if not (destination / "__init__.py").is_file():
        raise SubmissionError(f"{PACKAGE}/__init__.py is missing or is a link")
    return destination


def prepare(submission: Path, workdir: Path) -> Path:
    """The grader's private copy of the submission's package, under ``workdir``."""
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"{submission} does not exist")
    if submission.is_file():
        root = unpack(submission, workdir / "unpacked")
    else:
        root = submission
    return copy_package(find_package(root), workdir / "package")
