"""Nothing a student holds gives an answer away (issue 11).

The autograder is split by who may see each line: ``autograder/public/`` ships to students as
``public_checks/``; everything else under ``autograder/`` (hidden checks, closed forms and other oracles,
mistake tables, code-level hints, the sandbox) never does. These tests read the release as a student
gets it and fail when it imports, or holds a definition of, the never-shipped part, or when a concept
hint spells out code of its task's solution.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder.checks import all_groups
from autograder.hints import CODE_HINTS
from kit import PACKAGE, RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR
from kit.markers import find_regions

AUTOGRADER = REPO_ROOT / "autograder"
RUN = 6  # a hint may not share this many consecutive code tokens with its task's solution
TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d+)?|[^\sA-Za-z_0-9]")


def _never_shipped_modules() -> list[Path]:
    return sorted(p for p in AUTOGRADER.rglob("*.py") if "public" not in p.relative_to(AUTOGRADER).parts)


def _definitions(path: Path) -> dict[str, str]:
    """Module-level functions, classes and constants of ``path``: name -> the AST of the definition."""
    out = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            out[node.name] = ast.dump(ast.Module(body=node.body, type_ignores=[]))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id.isupper() and node.value is not None:
                out[target.id] = ast.dump(node.value)
    return out


def _release_python() -> list[Path]:
    files = sorted(RELEASE_DIR.rglob("*.py"))
    assert files, f"no Python files under {RELEASE_DIR}: run make release"
    return files


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _runs(tokens: list[str], n: int = RUN) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _solutions() -> dict[str, list[str]]:
    """Each task's solution code (every region of the hand-edited package), as tokens."""
    out: dict[str, list[str]] = {}
    for path in sorted((SOLUTIONS_DIR / PACKAGE).rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for region in find_regions("\n".join(lines), path):
            out.setdefault(region.task, []).extend(_tokens("\n".join(lines[region.begin : region.end - 1])))
    return out


# ------------------------------------------------------------------------------------ the split itself
def test_the_never_shipped_part_holds_the_oracles_and_the_code_hints():
    hidden = {name for path in _never_shipped_modules() for name in _definitions(path)}
    assert {"linear_schedule", "window_indices", "WINDOW_MISTAKES", "CODE_HINTS"} <= hidden


@pytest.mark.parametrize("path", _release_python(), ids=lambda p: p.relative_to(RELEASE_DIR).as_posix())
def test_no_release_file_imports_the_never_shipped_part(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            if "public_checks" in path.parts:  # one flat package: a relative import may not climb out of it
                assert node.level <= 1, f"{path.name}:{node.lineno} imports from outside public_checks"
        else:
            continue
        assert not [n for n in names if n.split(".")[0] in ("autograder", "kit", "tests")], (
            f"{path.name}:{node.lineno} imports {names}: students have no autograder, kit or tests"
        )


def test_no_release_file_defines_what_only_the_grader_may_hold():
    hidden: dict[str, tuple[str, str]] = {}  # name -> (module, AST), for names public/ does not define too
    public = {name for path in (AUTOGRADER / "public").rglob("*.py") for name in _definitions(path)}
    bodies: dict[str, str] = {}
    for path in _never_shipped_modules():
        for name, tree in _definitions(path).items():
            bodies[tree] = f"{path.relative_to(REPO_ROOT)}:{name}"
            if name not in public:
                hidden[name] = (str(path.relative_to(REPO_ROOT)), tree)
    found = []
    for path in _release_python():
        for name, tree in _definitions(path).items():
            if name in hidden:
                found.append(f"{path.relative_to(RELEASE_DIR)} defines {name}, which {hidden[name][0]} holds")
            elif tree in bodies and len(tree) > 200:  # a copy under another name (short bodies coincide)
                found.append(f"{path.relative_to(RELEASE_DIR)}:{name} is a copy of {bodies[tree]}")
    assert not found, "\n".join(found)


def test_no_release_file_holds_a_code_hint():
    """No 12-token run of a code-level hint: shorter ones are the spec's own notation, which the notebook and
    the docstrings give on purpose ("(B, 1, ..., 1)", "policy.generate_sample(cond, generator=generator)")."""
    text = "\n".join(
        path.read_text(encoding="utf-8") for path in sorted(RELEASE_DIR.rglob("*")) if path.is_file()
    )
    tokens = _runs(_tokens(text), 12)
    leaked = [task for task, hint in CODE_HINTS.items() if _runs(_tokens(hint), 12) & tokens]
    assert not leaked, f"the release holds code-level hints of tasks {leaked}"


WORD = re.compile(r"[A-Za-z]{2,}")
SENTENCE = 8  # a model answer or a rubric item may not share this many consecutive words with the release


def _words(text: str) -> list[str]:
    """The words of ``text`` (LaTeX's too: ``\\bar\\alpha`` gives bar, alpha), lower case."""
    return WORD.findall(text.lower())


def test_no_release_file_holds_a_model_answer_or_a_rubric_item():
    """No run of 8 words of a written question's model answer or of one of its rubric items: shorter runs
    are the notebook's own notation ("sqrt bar alpha sqrt bar alpha epsilon", eq. 4)."""
    from kit.notebook_source import read_written_questions

    release = "\n".join(p.read_text(encoding="utf-8") for p in sorted(RELEASE_DIR.rglob("*")) if p.is_file())
    released = _runs(_words(release), SENTENCE)
    leaked = []
    for q in read_written_questions():
        texts = {"model answer": q.model_answer} | {
            f"rubric item {i}": t.text for i, t in enumerate(q.rubric, 1)
        }
        leaked += [
            f"{q.name}: {what}" for what, text in texts.items() if _runs(_words(text), SENTENCE) & released
        ]
    assert not leaked, f"the release holds {leaked}"


# ------------------------------------------------------------------------------------ concept hints
def _concept_hints() -> list[tuple[str, str, str]]:
    """(task, where, text) of every hint a check can show at the concept level."""
    hints = []
    for group in all_groups():
        for check in group.checks:
            hints.append((check.task, f"{check.key} hint", check.hint))
            hints.extend((check.task, f"{check.key} error hint", meaning) for _, meaning in check.error_hints)
    return hints


@pytest.mark.parametrize("task", sorted({task for task, _, _ in _concept_hints()}))
def test_concept_hints_spell_out_no_code_of_their_task(task):
    solution = _solutions()[task]
    assert len(solution) > RUN, f"no solution region of task {task}"
    shared = []
    for hint_task, where, text in _concept_hints():
        if hint_task == task:
            common = _runs(_tokens(text)) & _runs(solution)
            shared.extend(f"{where}: {' '.join(run)}" for run in sorted(common))
    assert not shared, (
        f"concept hints of task {task} share {RUN}-token runs with its solution:\n" + "\n".join(shared)
    )


def test_the_code_hints_would_be_caught_by_the_concept_hint_rule():
    """The rule above has teeth: the code-level hints, which are most of the solution, break it."""
    solutions = _solutions()
    caught = [task for task, hint in CODE_HINTS.items() if _runs(_tokens(hint)) & _runs(solutions[task])]
    assert len(caught) >= len(CODE_HINTS) // 2, caught
