"""What produced a grade: the kit's version, a fingerprint of the grader, and the machine.

Every results.json carries it (``extra_data.provenance``, a field Gradescope stores and does not show),
and grade-all's grades.csv, the JUnit file and nbgrader's log name its fingerprint. The fingerprint
covers everything a verdict depends on that the course controls:

- ``code``: the grader's Python files (``autograder/``: the checks, the task registry, the hint and
  visibility policies, the sandbox);
- ``given_package``: the package submissions are laid over (``release/diffusion/diffusion_models``);
- ``locked_versions``: ``requirements/runtime.txt``, the versions of the kit's lock that grading
  installs (the Gradescope bundle carries it at the same path).

What the machine adds (Python, the installed versions, the device) is recorded beside it, not in it:
the same grader on another machine has the same fingerprint, and :func:`explain` says what differs.
``python -m autograder explain results.json`` prints that comparison.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path
from typing import Any

from . import __version__

AUTOGRADER_DIR = Path(__file__).resolve().parent
REPO_ROOT = AUTOGRADER_DIR.parent
GIVEN_PACKAGE = REPO_ROOT / "release" / "diffusion" / "diffusion_models"
RUNTIME_PINS = REPO_ROOT / "requirements" / "runtime.txt"
# The libraries a verdict rests on: the student's tensors, the judge's float maths, the examples drawn.
LIBRARIES = ("torch", "numpy", "hypothesis", "scipy", "scikit-learn", "zarr", "matplotlib", "torchvision")


def grader_files() -> dict[str, str]:
    """sha256 of each of the grader's own Python files and of the package submissions are laid over,
    by path (``autograder/...``, ``diffusion_models/...``)."""
    found = {}
    for root in (AUTOGRADER_DIR, GIVEN_PACKAGE):
        for file in sorted(root.rglob("*.py")) if root.is_dir() else []:
            if "__pycache__" not in file.parts:
                name = file.relative_to(root.parent).as_posix()
                try:
                    found[name] = hashlib.sha256(file.read_bytes()).hexdigest()
                except OSError:
                    found[name] = "unreadable"
    return found


def _digest(entries: dict[str, str]) -> str:
    text = "".join(f"{name}\0{value}\n" for name, value in sorted(entries.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def locked_versions(path: Path | None = None) -> dict[str, str]:
    """name -> version of ``requirements/runtime.txt`` (or ``path``); empty where it is missing (a copy
    of the grader without the kit's lock)."""
    try:
        lines = (path or RUNTIME_PINS).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pins = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {name.strip(): version.strip() for name, version in pins}


def fingerprints(files: dict[str, str] | None = None) -> dict[str, str]:
    """The grader's fingerprint and its three parts (module docstring), as sha256 hex digests."""
    files = grader_files() if files is None else files
    given = GIVEN_PACKAGE.name + "/"
    parts = {
        "code": _digest({n: h for n, h in files.items() if not n.startswith(given)}),
        "given_package": _digest({n: h for n, h in files.items() if n.startswith(given)}),
        "locked_versions": _digest(locked_versions()),
    }
    return {"grader": _digest(parts), **parts}


def installed_versions() -> dict[str, str]:
    """The installed version of each library a verdict rests on (``missing`` where it is not)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def machine(device: str) -> dict[str, Any]:
    """What this machine adds: the interpreter, the installed libraries, the device graded on."""
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "libraries": installed_versions(),
        "device": device,
    }


def provenance(device: str, files: dict[str, str] | None = None) -> dict[str, Any]:
    """The record results.json carries: the kit's version, the grader's fingerprints, the lock's versions
    of the libraries, and this machine (:func:`machine`). Nothing in it changes from run to run."""
    locked = locked_versions()
    return {
        "kit_version": __version__,
        "fingerprints": fingerprints(files),
        "locked": {name: locked.get(name, "unknown") for name in LIBRARIES},
        **machine(device),
    }


def short(fingerprint: str) -> str:
    """The first 12 hex digits: enough to tell graders apart in a CSV column or a log line."""
    return fingerprint[:12]


def provenance_line(recorded: dict[str, Any]) -> str:
    """``kit 0.1.0, grader 1a2b3c4d5e6f, torch 2.14.1, numpy 2.4.6, hypothesis 6.170.29, cpu``: a log's
    line of :func:`provenance`."""
    libraries = recorded.get("libraries", {})
    versions = ", ".join(f"{name} {libraries.get(name, '?')}" for name in ("torch", "numpy", "hypothesis"))
    grader = short(recorded.get("fingerprints", {}).get("grader", "?"))
    return (
        f"kit {recorded.get('kit_version', '?')}, grader {grader}, {versions}, {recorded.get('device', '?')}"
    )


# ---------------------------------------------------------------------------------------- explain
def explain(recorded: dict[str, Any], device: str | None = None) -> tuple[bool, list[str]]:
    """Would this machine reproduce a grade whose results.json carries ``recorded``? (yes or no, and
    one line per thing compared.) The grader must be the same (its fingerprint) and the libraries at
    the same versions; the device counts when ``device`` (this machine's) is given."""
    now = provenance(device or recorded.get("device", "cpu"))
    lines: list[str] = []
    same = True

    def compare(label: str, then: Any, here: Any, matters: bool = True) -> None:
        nonlocal same
        if then == here:
            lines.append(f"  same       {label}: {here}")
        else:
            same = same and not matters
            lines.append(
                f"  {'DIFFERENT' if matters else 'differs'}  {label}: graded with {then}, here {here}"
            )

    compare("kit version", recorded.get("kit_version"), now["kit_version"], matters=False)
    then_prints = recorded.get("fingerprints", {})
    for part in ("code", "given_package", "locked_versions"):
        compare(
            f"grader {part.replace('_', ' ')}",
            short(then_prints.get(part, "?")),
            short(now["fingerprints"][part]),
        )
    for name, version in now["libraries"].items():
        compare(name, recorded.get("libraries", {}).get(name), version)
    compare("python", recorded.get("python"), now["python"], matters=False)
    compare("platform", recorded.get("platform"), now["platform"], matters=False)
    if device is not None:
        compare("device", recorded.get("device"), device)
    return same, lines


def explain_main(path: Path, device: str | None = None) -> int:
    """``python -m autograder explain RESULTS``: 0 when this machine would reproduce it, 1 when not,
    2 when there is no provenance to compare. RESULTS is one results.json, or a folder of them (grade-all's
    ``out``, a Gradescope export): then one line per student, and the comparison of each that differs."""
    files = sorted(Path(path).rglob("results.json")) if Path(path).is_dir() else [Path(path)]
    if not files:
        print(f"{path}: no results.json there")
        return 2
    statuses = [_explain_one(file, device, brief=len(files) > 1) for file in files]
    if len(files) > 1:
        print(f"{statuses.count(0)} of {len(files)} results would be reproduced here.")
    return max(statuses)


def _explain_one(path: Path, device: str | None, brief: bool) -> int:
    import json

    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        recorded = results["extra_data"]["provenance"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"{path}: no provenance to compare ({type(err).__name__}: {err}); was it graded by this kit?")
        return 2
    same, lines = explain(recorded, device)
    grader = short(recorded.get("fingerprints", {}).get("grader", "?"))
    print(
        f"{path}: graded by kit {recorded.get('kit_version')}, grader {grader}"
        + (": reproduced here" if brief and same else "")
    )
    if brief and same:
        return 0
    print("\n".join(lines))
    if same:
        print("This machine would reproduce it: the same grader, on the same library versions.")
    else:
        print(
            "This machine may grade it differently: the lines marked DIFFERENT. Install the kit's lock "
            "(make setup) and check out the grader that graded it."
        )
    return 0 if same else 1
