"""Student code runs in child processes that only produce outputs; nothing it does raises its score.

A crash, a hang or a blown memory limit costs only the checks it touched; exits, printed or written
fake results and patched grader modules change nothing, because verdicts are computed in the
grader's own process. (The full hostile catalogue is a later issue; these are the basics.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from catalogue.grading import mutated, shared_grader
from catalogue.mutants import BUGS, Edit, Mutant

from kit import REFERENCE_DIR, REPO_ROOT

INIT = "from .device import default_device, resolve_device"
ADD_NOISE = "        alpha_bar_t = self.alpha_bars.to(original_samples.device)[timesteps.to(original_samples.device)]\n"
DROP = "        batch_size = cond.shape[0]\n        drop = rand("
STEP = "        t = check_timestep(t, self.num_steps)\n"


def hostile(name: str, file: str, anchor: str, code: str) -> Mutant:
    """Insert ``code`` before ``anchor`` (the anchor keeps its indentation)."""
    return Mutant(name, (), (Edit(file, anchor, code + anchor),))


def _by_task(report) -> dict[str, tuple[float, float]]:
    assert not report.grader_errors, [o.feedback for o in report.grader_errors]
    return report.by_task()


@pytest.mark.parametrize(
    ("mutant", "says"),
    [
        (hostile("exit-at-import", "__init__.py", INIT, "raise SystemExit(0)\n"), "sys.exit(0) was called"),
        (hostile("os-exit-at-import", "__init__.py", INIT, "import os\nos._exit(3)\n"), "exited with code 3"),
        (hostile("syntax-error", "__init__.py", INIT, "def broken(:\n"), "SyntaxError"),
    ],
    ids=lambda value: value.name if isinstance(value, Mutant) else "",
)
def test_a_package_that_cannot_be_imported_scores_zero_and_says_why(mutant, says, tmp_path):
    report = shared_grader().grade(mutated(tmp_path, mutant), ("scheduler",))
    assert report.score == 0 and not report.grader_errors
    assert all(says in o.feedback for o in report.outcomes), report.table()


def test_a_crash_in_one_task_costs_only_that_task(tmp_path):
    crash = hostile(
        "os-exit-in-add-noise", "noise_scheduler.py", ADD_NOISE, "        import os\n        os._exit(0)\n"
    )
    segfault = hostile(
        "segfault-in-step", "noise_scheduler.py", STEP, "        import ctypes\n        ctypes.string_at(0)\n"
    )
    report = shared_grader().grade(mutated(tmp_path, crash, segfault), ("scheduler", "denoise"))
    totals = _by_task(report)
    assert totals["2.1.1a"] == (10, 10)
    assert totals["2.1.1b"][0] == 0 and totals["2.1.2"][0] == 0 and totals["2.3.2"][0] == 0
    feedback = " ".join(o.feedback for o in report.outcomes)
    assert "did your code call sys.exit or os._exit" in feedback and "segmentation fault" in feedback


@pytest.mark.slow
def test_a_hang_costs_only_the_checks_it_touched(tmp_path):
    loop = hostile(
        "infinite-loop-in-dropout", "diffusion_model.py", DROP, "        while True:\n            pass\n"
    )
    report = shared_grader().grade(mutated(tmp_path, loop), ("training",), call_timeout_s=1.5)
    totals = _by_task(report)
    assert totals["2.2.1"] == (10, 10) and totals["2.2.2"][0] == 0
    assert any(
        "did not finish within 1.5 s" in o.feedback for o in report.outcomes if o.check.task == "2.2.2"
    )


def test_a_memory_hog_fails_its_checks_instead_of_the_machine(tmp_path):
    hog = hostile("memory-hog", "noise_scheduler.py", ADD_NOISE, "        hog = torch.ones(2**34)\n")
    report = shared_grader().grade(mutated(tmp_path, hog), ("scheduler",))
    totals = _by_task(report)
    assert totals["2.1.1a"] == (10, 10) and totals["2.1.1b"][0] == 0
    assert any("can't allocate memory" in o.feedback for o in report.outcomes)


def test_printing_or_writing_fake_results_and_patching_the_grader_change_nothing(tmp_path):
    fake = json.dumps({"score": 70, "tests": []})
    cheat = hostile(
        "cheat",
        "__init__.py",
        INIT,
        "import json, sys\n"
        f"print({fake!r})\n"
        f"open('results.json', 'w').write({fake!r})\n"
        "for name, module in list(sys.modules.items()):\n"
        "    if name.startswith(('_grader', 'autograder')) and hasattr(module, 'assert_close'):\n"
        "        module.assert_close = lambda *args, **kwargs: None\n"
        "    if name.startswith(('_grader', 'autograder')) and hasattr(module, 'run_check'):\n"
        "        module.run_check = None\n",
    )
    wrong = next(bug for bug in BUGS if bug.name == "add-noise-no-sqrt")
    results = tmp_path / "out" / "results.json"
    report = shared_grader().grade(mutated(tmp_path / "submission", cheat, wrong), ("scheduler",))
    report.write(results)
    totals = _by_task(report)
    assert totals["2.1.1a"] == (10, 10) and totals["2.1.1b"][0] < 10
    assert json.loads(results.read_text())["score"] == report.score < 20


@pytest.mark.slow
def test_the_grader_itself_never_imports_the_students_package_nor_torch():
    probe = (
        "import sys; from pathlib import Path; from autograder.grader import Grader\n"
        "with Grader(device='cpu') as grader: report = grader.grade(Path(sys.argv[1]), ('scheduler',))\n"
        "print(report.score, 'torch' in sys.modules, 'diffusion_models' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(REFERENCE_DIR)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.split() == ["20", "False", "False"], done.stderr[-2000:]
