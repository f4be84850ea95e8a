"""The hostile catalogue laid out as one class folder: nbgrader's ``submitted/<student>/diffusion/`` for the
code attacks, ``submitted/<student>.zip`` for the broken zips, beside

- the controls: the reference, the stubs and the reference with one bug, each graded as itself, which
  bound what the hostile submissions built on them may earn;
- the canaries: reference copies whose names sort among and after the hostile ones, so they are graded
  while and after the attacks run, and must still earn full marks;
- the victim: a reference copy that one attack tries to sabotage.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalogue.grading import reference_copy
from catalogue.mutants import BUGS, apply

from kit import REFERENCE_DIR, RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR

from .cases import CASES, Case

CONTROLS = {"reference": "control-reference", "stubs": "control-stubs", "bug": "control-bug"}
CANARIES = ("mm-canary", "zz-canary")
VICTIM = "zz-victim"
BUG = next(bug for bug in BUGS if bug.name == "add-noise-no-sqrt")
INIT_ANCHOR = "from .device import default_device, resolve_device\n"
TASK_ANCHOR = "        alpha_bar_t = self.alpha_bars.to(original_samples.device)[timesteps.to(original_samples.device)]\n"


def base_package(base: str, folder: Path) -> Path:
    """``folder/diffusion_models``: a copy of the base; returns ``folder``."""
    if base == "stubs":
        shutil.copytree(
            RELEASE_DIR / "diffusion_models",
            folder / "diffusion_models",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        return folder
    reference_copy(folder)
    if base == "bug":
        apply(BUG, folder / "diffusion_models")
    return folder


def _insert(path: Path, anchor: str, code: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text.count(anchor) != 1:
        raise AssertionError(f"{path.name} no longer holds {anchor!r} exactly once: update tests/hostile")
    path.write_text(text.replace(anchor, code + anchor), encoding="utf-8")


def attack(case: Case, package: Path, code: str) -> None:
    if case.at == "import":
        _insert(package / "__init__.py", INIT_ANCHOR, code.strip("\n") + "\n")
    elif case.at == "task":
        indented = "".join(
            f"        {line}\n" if line.strip() else "\n" for line in code.strip("\n").splitlines()
        )
        _insert(package / "noise_scheduler.py", TASK_ANCHOR, indented)
    elif case.at == "scheduler-module":
        path = package / "noise_scheduler.py"
        path.write_text(path.read_text(encoding="utf-8") + "\n" + code, encoding="utf-8")
    else:
        raise ValueError(f"unknown attack site {case.at!r}")


def source_package_parent() -> Path:
    """The folder that holds the instructor's diffusion_models, the one with solution markers (solutions/)."""
    return SOLUTIONS_DIR


# ------------------------------------------------------------------------------------ zips
def _members(folder: Path, prefix: str = "", skip: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
    return [
        (prefix + path.relative_to(folder).as_posix(), path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.name not in skip
    ]


def _write_zip(target: Path, members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members:
            zipped.writestr(name, data)
        for name, points_to in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(info, points_to)


def _patch_bytes(target: Path, old: bytes, new: bytes) -> None:
    data = target.read_bytes()
    assert len(old) == len(new) and data.count(old) == 2, "a name occurs in the local and the central header"
    target.write_bytes(data.replace(old, new))


def build_zip(name: str, target: Path, scratch: Path) -> None:
    """The zip case ``name`` at ``target``."""
    reference = reference_copy(scratch / "reference")
    (reference / "diffusion.ipynb").write_text("{}")
    members = _members(reference)
    if name == "zip-dotdot":
        _write_zip(
            target, [*members, ("../escaped.py", b"print('escaped')"), ("diffusion_models/../../up.py", b"")]
        )
    elif name == "zip-absolute":
        _write_zip(target, [*members, ("/tmp/absolute.py", b"print('escaped')")])
    elif name == "zip-symlink":
        links = {
            "diffusion_models/leak.py": "/etc/passwd",
            "diffusion_models/checks.py": str(REPO_ROOT / "autograder"),
        }
        _write_zip(target, members, links)
    elif name == "zip-bomb":
        _write_zip(target, [*members, ("diffusion_models/weights.py", b"0" * (101 * 2**20))])
    elif name == "zip-bad-utf8":
        _write_zip(target, [*members, ("diffusion_models/notes_\u00e9.txt", b"notes")])
        _patch_bytes(target, "notes_\u00e9".encode(), b"notes_\xff\xfe")
    elif name == "zip-cp437":
        _write_zip(target, [*members, ("diffusion_models/rXsumX.py", b"NOTE = 1\n")])
        _patch_bytes(target, b"rXsumX.py", b"r\x82sum\x82.py")
    elif name == "zip-nested":
        junk = [("__MACOSX/homework/._diffusion.ipynb", b"\0\5\26\7")]
        _write_zip(target, [*junk, *_members(reference, prefix="homework/part 2/")])
    elif name == "zip-missing-file":
        _write_zip(target, _members(reference, skip=("noise_scheduler.py",)))
    elif name == "zip-syntax-error":
        broken = [
            (n, d + b"\ndef broken(:\n" if n.endswith("/diffusion_model.py") else d) for n, d in members
        ]
        _write_zip(target, broken)
    elif name == "zip-wrong-name":
        _write_zip(target, [(n.replace("diffusion_models/", "diffusion_model/"), d) for n, d in members])
    else:
        raise ValueError(f"no zip case named {name!r}")


# ------------------------------------------------------------------------------------ the class
@dataclass
class Classroom:
    root: Path  # the course folder; the submissions are in root/submitted
    out: Path  # grade-all's --out
    tcp_port: int
    udp_port: int
    token: str

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    def folder_of(self, student: str) -> Path:
        return self.submitted / student / "diffusion"

    def fill(self, code: str, student: str) -> str:
        replacements = {
            "__REPO__": str(REPO_ROOT),
            "__REFERENCE__": str(REFERENCE_DIR),
            "__SOURCE__": str(source_package_parent()),
            "__CLASS__": str(self.root),
            "__OUT__": str(self.out),
            "__ID__": student,
            "__TCP__": str(self.tcp_port),
            "__UDP__": str(self.udp_port),
            "__TOKEN__": self.token,
        }
        for placeholder, value in replacements.items():
            code = code.replace(placeholder, value)
        return code

    def plain(self, student: str, base: str) -> Path:
        folder = base_package(base, self.folder_of(student))
        (folder / "diffusion.ipynb").write_text("{}")
        return folder

    def lay_out(self, cases: tuple[Case, ...] = CASES) -> None:
        self.submitted.mkdir(parents=True)
        for base, student in CONTROLS.items():
            self.plain(student, base)
        for student in (*CANARIES, VICTIM):
            self.plain(student, "reference")
        scratch = self.root / "scratch"
        for case in cases:
            if case.at == "zip":
                build_zip(case.name, self.submitted / f"{case.name}.zip", scratch / case.name)
            else:
                folder = self.plain(case.name, case.base)
                attack(case, folder / "diffusion_models", self.fill(case.code, case.name))
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def passable_folder(prefix: str = "autograder-test-") -> Iterator[Path]:
    """A temporary folder any user may pass through (0711), removed afterwards.

    pytest's own temporary folders sit under a private one (0700): a root grader would move its
    children's folders out of an OUT there (autograder/sandbox/host.py, ``zygote_parent``), and the tests
    could no longer see them. Here they stay inside OUT, where the tests look for what is left.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
