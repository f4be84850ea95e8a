"""One lock, used everywhere (kit/lock.py): every install path installs only what requirements/lock.txt
pins, at the lock's versions, and the files derived from the lock are current."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from kit import REPO_ROOT
from kit.lock import (
    CPU_INDEX,
    LOCK,
    OLDEST_SUPPORTED,
    RUNTIME,
    STUDENT,
    STUDENT_CI,
    canonical,
    derived_files,
    read_lock,
)

PINS = {name: pin.version for name, pin in read_lock().items()}
WORKFLOWS = {
    "ci/student/.github/workflows/classroom.yml": REPO_ROOT / "ci" / "student",
    "ci/grader/.github/workflows/grade.yml": REPO_ROOT,
}
GITLAB = "ci/gitlab/.gitlab-ci.yml"
SETUP_SH = REPO_ROOT / "autograder" / "gradescope" / "setup.sh"


# ---------------------------------------------------------------------------------------- helpers
def requirement_lines(path: Path) -> list[tuple[Path, str]]:
    """Every requirement ``path`` asks for, following ``-r`` as pip does: (the file, the line)."""
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += requirement_lines(path.parent / line.split(maxsplit=1)[1])
        elif line.startswith("-"):
            assert line.startswith(("--extra-index-url ", "--index-url ")), (
                f"{path}: unexpected option {line}"
            )
        else:
            found.append((path, line))
    return found


def unlocked(requirements: list[tuple[Path, str]]) -> list[str]:
    """The requirements that would install a version the lock does not pin."""
    problems = []
    for path, line in requirements:
        requirement = Requirement(line)
        name = canonical(requirement.name)
        locked = PINS.get(name)
        if locked is None:
            problems.append(f"{path.name}: {line} (not in the lock)")
        elif str(requirement.specifier) == f"=={locked}":
            continue
        elif name in OLDEST_SUPPORTED and str(requirement.specifier) == f">={OLDEST_SUPPORTED[name]}":
            continue  # the student's own torch; requirements-ci.txt adds the exact one
        else:
            problems.append(f"{path.name}: {line} (the lock pins {name}=={locked})")
    return problems


def pip_installs(command: str, workdir: Path) -> list[tuple[Path, str]]:
    """What one shell command's ``pip install`` asks for: the requirements of its ``-r`` files and its
    bare arguments."""
    found: list[tuple[Path, str]] = []
    for match in re.finditer(r"pip install([^\n;&|\\]*(?:\\\n[^\n;&|\\]*)*)", command):
        words = shlex.split(match[1].replace("\\\n", " "))
        takes_value = {"-r", "--requirement", "--extra-index-url", "--index-url", "-c", "--constraint"}
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("-r", "--requirement"):
                found += requirement_lines(workdir / _expand(words[i + 1]))
            if word in takes_value:
                i += 2
                continue
            if not word.startswith("-") and word != ".":
                found.append((Path("<command line>"), word))
            i += 1
    return found


def _expand(path: str) -> str:
    """A path as a script names it: ``$ROOT/source/requirements.txt`` is the bundle's requirements.txt."""
    return re.sub(r"^\"?\$ROOT/source/", "", path).strip('"')


def workflow_commands(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "jobs" in document:
        return [step["run"] for job in document["jobs"].values() for step in job["steps"] if "run" in step]
    return [line for job in document.values() if isinstance(job, dict) for line in job.get("script", [])]


# ---------------------------------------------------------------------------------------- the lock
def test_the_derived_files_are_what_the_lock_gives():
    for path, text in derived_files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(REPO_ROOT)} is stale: make lock"


def test_the_lock_pins_every_dependency_the_kit_declares_at_a_version_it_allows():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + [
        d for extra in project["optional-dependencies"].values() for d in extra
    ]
    for line in declared:
        requirement = Requirement(line)
        name = canonical(requirement.name)
        assert name in PINS, f"pyproject.toml asks for {line}, the lock lacks it: make lock"
        assert requirement.specifier.contains(PINS[name], prereleases=True), (
            f"pyproject.toml asks for {line}, the lock pins {PINS[name]}: make lock"
        )


def test_the_lock_has_a_hash_for_every_pin():
    text = LOCK.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        if "==" in block.split("\n")[0]:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_read_lock_follows_pip_compiles_via_lines(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(
        "# header\nJinja2==3.1.6 \\\n    --hash=sha256:aa\n    # via\n    #   nbconvert\n    #   Torch\n"
        "numpy==2.4.6 \\\n    --hash=sha256:bb\n    # via diffusion-homework-kit (pyproject.toml)\n",
        encoding="utf-8",
    )
    pins = read_lock(lock)
    assert pins["jinja2"].version == "3.1.6" and pins["jinja2"].required_by == ("nbconvert", "torch")
    assert pins["numpy"].required_by == ("diffusion-homework-kit",)


# ---------------------------------------------------------------------------------------- install paths
def test_the_checker_flags_what_the_lock_does_not_pin(tmp_path):
    (tmp_path / "r.txt").write_text("numpy==1.0.0\nrequests\ntorch>=2.0\n", encoding="utf-8")
    problems = unlocked(pip_installs("python -m pip install -r r.txt tqdm", tmp_path))
    assert len(problems) == 4, problems  # numpy's version, requests, torch's range, bare tqdm


def test_make_setup_installs_the_lock_with_hashes_and_the_kit_without_dependencies():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line]
    assert installs == [
        "$(PY) -m pip install --quiet --require-hashes -r $(LOCK)",
        "$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .",
    ]
    assert "LOCK := requirements/lock.txt" in makefile


def test_ci_run_installs_through_make_only():
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install" not in script and "make test" in script


def test_gradescope_setup_installs_the_runtime_pins_and_nothing_else():
    lines = SETUP_SH.read_text(encoding="utf-8").splitlines()
    script = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    assert '-r "$ROOT/source/requirements.txt"' in script  # the bundle's copy of requirements/runtime.txt
    found = pip_installs(script.replace("$ROOT/source/requirements.txt", str(RUNTIME)), REPO_ROOT)
    assert found and not unlocked(found)
    assert "--upgrade" not in script


@pytest.mark.parametrize("workflow", [*WORKFLOWS, GITLAB])
def test_each_ci_workflow_installs_only_what_the_lock_pins(workflow):
    workdir = WORKFLOWS.get(workflow, REPO_ROOT / "ci" / "student")
    found = [r for command in workflow_commands(REPO_ROOT / workflow) for r in pip_installs(command, workdir)]
    assert found, f"{workflow} installs nothing?"
    assert not unlocked(found)
    names = {canonical(Requirement(line).name) for _, line in found}
    exact = {canonical(Requirement(line).name): line for _, line in found if "==" in line}
    for name in OLDEST_SUPPORTED:  # CI grades with the exact torch of the lock, not the student's range
        assert name in names and name in exact, f"{workflow} does not pin {name} exactly"


def test_the_student_requirements_pin_the_lock_and_admit_the_oldest_supported_torch():
    found = requirement_lines(STUDENT)
    assert not unlocked(found)
    for name, oldest in OLDEST_SUPPORTED.items():
        (line,) = [line for _, line in found if canonical(Requirement(line).name) == name]
        assert Requirement(line).specifier.contains(oldest) and Requirement(line).specifier.contains(
            PINS[name]
        )
    assert f"--extra-index-url {CPU_INDEX}" in STUDENT.read_text(encoding="utf-8").splitlines()
    assert not unlocked(requirement_lines(STUDENT_CI))
    assert f"torch=={PINS['torch']}" in STUDENT_CI.read_text(encoding="utf-8")


def test_the_notebook_and_the_readme_name_the_supported_torch():
    def words(path: Path) -> str:
        return " ".join(path.read_text(encoding="utf-8").split())

    notebook, readme = words(REPO_ROOT / "solutions" / "diffusion.md"), words(REPO_ROOT / "README.md")
    oldest, graded = OLDEST_SUPPORTED["torch"], PINS["torch"]
    assert f"torch {oldest} and torchvision {OLDEST_SUPPORTED['torchvision']}" in notebook
    assert f"the autograder runs torch {graded}" in notebook
    assert f"torch from {oldest} on" in readme and f"`torch=={graded}`" in readme
