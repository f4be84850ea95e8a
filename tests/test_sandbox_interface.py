"""The sandbox is reached only through the names its package exports (autograder/sandbox/__init__.py).

Outside autograder/sandbox/ the kit imports ``ZygoteHandle``, ``ChildSession``, ``Limits`` and
``set_parent_death_signal`` from ``autograder.sandbox`` and nothing else of it, so another runner (a
container per child) could replace the package behind those names; the module ``confine`` is the fifth
export, for nbgrader's fenced kernel (autograder/nbgrader/launcher.py), which fences itself. The sandbox's own tests
(tests/test_hostile_fences.py, tests/test_autograder_wire.py) test its insides and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import autograder.sandbox
from kit import REPO_ROOT

SANDBOX = REPO_ROOT / "autograder" / "sandbox"
USERS = ("autograder", "kit", "benchmarks", "scripts")  # the kit's code, the sandbox itself aside


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every import in ``path``; relative ones resolved."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    return found


def test_the_sandbox_exports_what_the_grader_the_batch_and_the_kernel_use():
    assert sorted(autograder.sandbox.__all__) == [
        "ChildSession",
        "Limits",
        "ZygoteHandle",
        "confine",
        "set_parent_death_signal",
    ]
    assert all(hasattr(autograder.sandbox, name) for name in autograder.sandbox.__all__)


def test_nothing_outside_the_sandbox_reaches_past_its_exports():
    exported = set(autograder.sandbox.__all__)
    files = [p for folder in USERS for p in sorted((REPO_ROOT / folder).rglob("*.py"))]
    assert any(p.name == "grader.py" for p in files), f"the grader is not among {len(files)} files"
    reaching = []
    for path in files:
        if SANDBOX in path.parents:
            continue
        for line, module, names in _imports(path):
            where = f"{path.relative_to(REPO_ROOT)}:{line}"
            if module.startswith("autograder.sandbox."):
                reaching.append(f"{where} imports {module}")
            elif module == "autograder.sandbox" and not set(names) <= exported:
                reaching.append(f"{where} imports {sorted(set(names) - exported)} from autograder.sandbox")
            elif module == "autograder" and "sandbox" in names:
                reaching.append(f"{where} imports the sandbox package itself, not its exported names")
    assert not reaching, (
        "outside autograder/sandbox/, import only its exported names "
        f"({sorted(exported)}) from autograder.sandbox:\n" + "\n".join(reaching)
    )
