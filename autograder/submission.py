"""Finding the student's ``diffusion_models/`` in a submission and making the grader's own copy of it.

A submission is the zip that ``collect_submission.sh`` makes (top level: ``diffusion_models/`` and
``diffusion.ipynb``), such a zip or folder whose package sits a few folders down (``homework/``, a
macOS ``__MACOSX/`` beside it is ignored), a folder holding only such a zip, or a folder holding
``diffusion_models/`` (``reference/``, ``release/diffusion``). Zips are unpacked with limits: no
absolute paths or ``..``, no links, bounded size and count, names that decode; anything the zip
library cannot read is the submission's fault, reported as such. The grader's copy is the package as
students were given it (``release/diffusion/diffusion_models``) with the submission's regular .py files
laid over it, so a zip that holds only the files with TODOs is complete; no link is followed out of it.
When a file with TODOs is missing from the submission, the given stub is graded in its place, and the
report says so.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PACKAGE = "diffusion_models"
MAX_FILES = 2000
MAX_BYTES = 100 * 2**20
MAX_DEPTH = 4  # how many folders down the package may sit
SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".git", "__MACOSX"}
TELLTALES = ("noise_scheduler.py", "diffusion_model.py")  # files that say "this folder is the package"


class SubmissionError(Exception):
    """The submission cannot be graded as it is; the message tells the student why and what to do."""


@dataclass(frozen=True)
class Prepared:
    """The grader's copy of the package, what the student should know about how it was made, and where
    the submission's notebook is (or would be: beside its ``diffusion_models/``)."""

    package: Path
    notice: str = ""
    notebook: Path | None = None


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, None for a folder or link; SubmissionError for one that escapes."""
    path = PurePosixPath(info.filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"the zip holds {info.filename!r}, a path outside the zip's own folder")
    if "\x00" in info.filename:
        raise SubmissionError(f"the zip holds a file name with a NUL character: {info.filename!r}")
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
    except UnicodeDecodeError as err:
        raise SubmissionError(
            f"{archive.name} holds a file name that is not valid UTF-8 although the zip says it is ({err}); "
            "make the zip with collect_submission.sh"
        ) from err
    except (NotImplementedError, RuntimeError, EOFError, zlib.error, OSError, ValueError) as err:
        raise SubmissionError(
            f"{archive.name} could not be unpacked ({type(err).__name__}: {err}); make the zip with "
            "collect_submission.sh"
        ) from err
    return target


# The package as students were given it: what a submission's files are laid over. collect_submission.sh
# zips only the files with TODOs, so the rest (__init__.py, networks/, ...) comes from here.
GIVEN_PACKAGE = Path(__file__).resolve().parent.parent / "release" / "diffusion" / PACKAGE
NOTEBOOK = "diffusion.ipynb"
GIVEN_NOTEBOOK = GIVEN_PACKAGE.parent / NOTEBOOK  # the released notebook: what a submitted one should hold


def copy_given(target: Path, given: Path = GIVEN_PACKAGE) -> Path:
    """A private copy of the given package at ``target/diffusion_models`` (a grader's, made once)."""
    destination = target / PACKAGE
    if given.is_dir():
        shutil.copytree(given, destination, ignore=shutil.ignore_patterns(*SKIPPED, "*.pyc"), symlinks=False)
    return destination


def _is_package(folder: Path) -> bool:
    """A real folder holding .py files (its __init__.py may come from the given package)."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    return any(path.suffix == ".py" and not path.is_symlink() for path in folder.rglob("*.py"))


def _folders(root: Path) -> list[Path]:
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [
        p
        for p in entries
        if p.is_dir() and not p.is_symlink() and p.name not in SKIPPED and not p.name.startswith(".")
    ]


def find_package(root: Path) -> Path:
    """The shallowest ``diffusion_models`` folder at or under ``root`` (at most MAX_DEPTH down), or ``root``.

    Two candidates at the same depth are ambiguous and refused; a folder that holds the package's
    files under another name is named in the error.
    """
    if root.name == PACKAGE and _is_package(root):
        return root
    level, lookalikes = [root], []
    for _depth in range(MAX_DEPTH + 1):
        found = [folder / PACKAGE for folder in level if _is_package(folder / PACKAGE)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(root)) for p in found)
            raise SubmissionError(f"the submission holds several {PACKAGE}/ folders ({names}); keep one")
        lookalikes += [
            f for folder in level for f in _folders(folder) if any((f / t).is_file() for t in TELLTALES)
        ]
        level = [child for folder in level for child in _folders(folder)]
        if not level:
            break
    try:
        listing = ", ".join(sorted(p.name for p in root.iterdir())[:12]) or "nothing"
    except OSError:
        listing = "nothing readable"
    hint = ""
    if lookalikes:
        hint = (
            f" The folder {lookalikes[0].relative_to(root).as_posix()}/ holds {PACKAGE}'s files: it must be "
            f"named {PACKAGE}/."
        )
    raise SubmissionError(
        f"no {PACKAGE}/ folder (with your .py files) found at the top of the submission, which holds: "
        f"{listing}.{hint} Make the zip with collect_submission.sh, which puts {PACKAGE}/ and diffusion.ipynb "
        "at its top."
    )


def _todo_files(given: Path) -> list[str]:
    """The given package's files that hold a TODO stub (the ones a submission is expected to hold)."""
    if not given.is_dir():
        return []
    return sorted(
        path.relative_to(given).as_posix()
        for path in given.rglob("*.py")
        if "raise NotImplementedError(" in path.read_text(encoding="utf-8", errors="replace")
    )


def copy_package(package: Path, target: Path, given: Path = GIVEN_PACKAGE) -> Path:
    """``target/diffusion_models``: the given package's files, then the submission's .py files over them.

    Only regular .py files of the submission are copied (no links, no caches), each to its own path
    inside the package; a file reached through a link that leaves the package is refused.
    """
    return _copy_package(package, target, given)[0]


def _copy_package(package: Path, target: Path, given: Path) -> tuple[Path, list[str]]:
    destination = target / PACKAGE
    if given.is_dir():
        shutil.copytree(given, destination, ignore=shutil.ignore_patterns(*SKIPPED, "*.pyc"))
    count = size = 0
    root = package.resolve()
    copied = []
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
        copied.append(relative.as_posix())
    if not (destination / "__init__.py").is_file():
        raise SubmissionError(f"{PACKAGE}/__init__.py is missing or is a link")
    missing = [name for name in _todo_files(given) if name not in copied]
    return destination, missing


def _root_of(submission: Path, workdir: Path) -> Path:
    if submission.is_file():
        return unpack(submission, workdir / "unpacked")
    if not submission.is_dir():
        raise SubmissionError(f"{submission.name} is neither a zip file nor a folder")
    zips = [
        p for p in submission.iterdir() if p.suffix.lower() == ".zip" and p.is_file() and not p.is_symlink()
    ]
    if len(zips) == 1 and not any(submission.rglob("*.py")):  # a folder holding only the student's zip
        return unpack(zips[0], workdir / "unpacked")
    return submission


def prepare_submission(submission: Path, workdir: Path, given: Path = GIVEN_PACKAGE) -> Prepared:
    """The grader's private copy of the submission's package, under ``workdir``, and a notice for the student."""
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"{submission} does not exist")
    try:
        root = _root_of(submission, workdir)
        found = find_package(root)
        package, missing = _copy_package(found, workdir / "package", given)
    except OSError as err:  # a name the file system refuses, a folder it cannot read
        raise SubmissionError(f"the submission could not be read ({type(err).__name__}: {err})") from err
    notice = ""
    if missing:
        names = ", ".join(f"{PACKAGE}/{name}" for name in missing)
        notice = (
            f"Your submission does not hold {names}: the stub you were given was graded in its place "
            "(make the zip with collect_submission.sh)."
        )
    return Prepared(package, notice, found.parent / NOTEBOOK)


def prepare(submission: Path, workdir: Path, given: Path = GIVEN_PACKAGE) -> Path:
    """The grader's private copy of the submission's package, under ``workdir``."""
    return prepare_submission(submission, workdir, given).package
