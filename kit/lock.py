"""The one lock and the files derived from it: ``python -m kit.lock`` (the last step of ``make lock``).

``requirements/lock.txt`` is pip-compile's output for the kit and its tests: every package at an exact
version with its hashes, for Python 3.11 on Linux x86_64 (the machines the kit is developed, tested and
graded on). ``make setup`` installs exactly that. Three smaller files are derived from it, so that every
other install path installs versions the lock pins:

- ``requirements/runtime.txt``: what the grader and the student's package import (the runtime roots
  below and everything they pull in), exact versions; the Gradescope bundle's ``requirements.txt``.
  torch's CUDA libraries are left out: Gradescope and CI install torch's CPU wheels, which need none.
- ``ci/student/requirements.txt`` (shipped to students): the same pins, except that torch and
  torchvision only have to be at least the oldest supported release and what only they require is
  left to them, so a student on Colab or a GPU machine keeps the torch they have.
- ``ci/student/requirements-ci.txt`` (shipped): that file plus the exact torch and torchvision the
  course grades with and what they require, at the lock's versions; the CI workflows install it.

``--check`` writes nothing and exits 1 when a derived file differs from what the lock gives.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kit import REPO_ROOT

LOCK = REPO_ROOT / "requirements" / "lock.txt"
RUNTIME = REPO_ROOT / "requirements" / "runtime.txt"
STUDENT = REPO_ROOT / "ci" / "student" / "requirements.txt"
STUDENT_CI = REPO_ROOT / "ci" / "student" / "requirements-ci.txt"

# pyproject's dependencies that never run in grading or in the student's package (the notebook tooling).
NOTEBOOK_TOOLING = {"nbgrader", "jupyter", "nbclient", "nbformat"}
# The oldest releases the reference and the public checks are tested with (scripts/check_oldest_torch.sh).
OLDEST_SUPPORTED = {"torch": "2.13.0", "torchvision": "0.28.0"}
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_STACK = re.compile(
    r"^(nvidia-|cuda-|triton$)"
)  # in the lock only because the PyPI torch is a CUDA build


@dataclass(frozen=True)
class Pin:
    """One package of the lock: its exact version and the packages that require it (pip-compile's
    ``# via`` lines; the project itself as ``diffusion-homework-kit``)."""

    name: str
    version: str
    required_by: tuple[str, ...]


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): ``Jinja2`` and ``jinja2`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, Pin]:
    """The pins of a pip-compile lock file, by canonical name."""
    pins: dict[str, Pin] = {}
    name = version = None
    via: list[str] = []
    in_via = False

    def close() -> None:
        if name is not None:
            pins[canonical(name)] = Pin(canonical(name), version, tuple(via))

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", raw):
            close()
            name, version, via, in_via = match[1], match[2], [], False
        elif line.startswith("# via"):
            rest = line[len("# via") :].strip()
            in_via = not rest
            if rest:
                via.append(_via_name(rest))
        elif in_via and line.startswith("#   "):
            via.append(_via_name(line[4:].strip()))
        else:
            in_via = False
    close()
    if not pins:
        raise ValueError(f"{path}: no `name==version` line; is it pip-compile's output? Run `make lock`")
    return pins


def _via_name(text: str) -> str:
    """``nbgrader`` from ``nbgrader``, the project from ``diffusion-homework-kit (pyproject.toml)``."""
    return canonical(text.split()[0]) if not text.startswith("-") else text


def runtime_roots(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """pyproject's runtime dependencies less the notebook tooling: what grading and the package import."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    names = [canonical(re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]) for d in dependencies]
    return [n for n in names if n not in NOTEBOOK_TOOLING]


def runtime_closure(pins: dict[str, Pin], roots: list[str], stop: frozenset[str] = frozenset()) -> list[Pin]:
    """``roots`` and every package they require, transitively, without torch's CUDA stack and without
    the packages in ``stop`` (nor what only they require); sorted by name."""
    children: dict[str, list[str]] = {}
    for pin in pins.values():
        for parent in pin.required_by:
            children.setdefault(parent, []).append(pin.name)
    missing = [r for r in roots if r not in pins]
    if missing:
        raise ValueError(f"{LOCK.name} lacks {', '.join(missing)}: run `make lock`")
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name in stop or CUDA_STACK.match(name):
            continue
        seen.add(name)
        todo.extend(children.get(name, []))
    return sorted((pins[n] for n in seen), key=lambda p: p.name)


# ---------------------------------------------------------------------------------------- the files
def _header(lines: list[str]) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in lines)


def runtime_text(closure: list[Pin]) -> str:
    head = _header(
        [
            "Generated by `make lock` (python -m kit.lock) from requirements/lock.txt: do not edit.",
            "What the grader and the student's package import, at the lock's versions (torch's CUDA",
            "libraries left out: grading installs torch's CPU wheels). The Gradescope bundle installs it.",
        ]
    )
    return head + "".join(f"{p.name}=={p.version}\n" for p in closure)


def student_text(own: list[Pin]) -> str:
    """``own``: the runtime closure less torch, torchvision and what only they require."""
    head = _header(
        [
            "What diffusion_models/ and public_checks/ need, at the versions the course grades with:",
            "    python -m pip install -r requirements.txt",
            f"torch and torchvision: any release from {OLDEST_SUPPORTED['torch']} and "
            f"{OLDEST_SUPPORTED['torchvision']} on (the oldest tested), so the torch",
            "of Colab or of a GPU machine stays as it is; on a machine without torch, pip takes the CPU wheels",
            "from PyTorch's index. The course grades with the versions in requirements-ci.txt.",
            "Generated by the course's `make lock` from its lock file: do not edit.",
        ]
    )
    body = [f"--extra-index-url {CPU_INDEX}"]
    body += [f"{p.name}=={p.version}" for p in own]
    body += [f"{name}>={oldest}" for name, oldest in OLDEST_SUPPORTED.items()]
    return head + "\n".join(body) + "\n"


def student_ci_text(torch_part: list[Pin]) -> str:
    """``torch_part``: torch, torchvision and what only they require."""
    head = _header(
        [
            "The exact torch and torchvision the course grades with (CPU wheels), what they require, and",
            "requirements.txt:",
            "    python -m pip install -r requirements-ci.txt",
            "The CI workflows install this file. Generated by the course's `make lock`: do not edit.",
        ]
    )
    exact = [f"{p.name}=={p.version}" for p in torch_part]
    return head + "\n".join(["-r requirements.txt", *exact]) + "\n"


def derived_files(lock: Path = LOCK) -> dict[Path, str]:
    """Each derived file and the text the lock gives it."""
    pins, roots = read_lock(lock), runtime_roots()
    closure = runtime_closure(pins, roots)
    own = runtime_closure(pins, roots, stop=frozenset(OLDEST_SUPPORTED))
    torch_part = [p for p in closure if p not in own]
    return {
        RUNTIME: runtime_text(closure),
        STUDENT: student_text(own),
        STUDENT_CI: student_ci_text(torch_part),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in derived_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(REPO_ROOT).as_posix())
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale (run `make lock`): {', '.join(stale)}", file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
