"""Grading for CI: --junit, --summary, --fail-under, --public-only, and the formats of autograder/public/reports.py."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from assignment_folders import student_folder
from catalogue.grading import mutated
from catalogue.mutants import BUGS
from ci_jobs import assert_junit_matches_results, classroom_by_task
from junitparser import JUnitXml

from autograder.checks import Group, all_groups, group_of_task
from autograder.grader import PublicGroup, public_groups
from autograder.public import reports
from autograder.public.core import Check, Outcome
from kit import RELEASE_DIR, REPO_ROOT

BUG = next(m for m in BUGS if m.tasks == ("2.1.2",))  # one bug of the reverse step


def _grade(submission: Path, out: Path, *options: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    results, junit = out / "results.json", out / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(submission), "--device", "cpu", "--quiet"]
        + ["--results", str(results), "--junit", str(junit), "--summary", str(out / "summary.md"), *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, results, junit


# The reference's JUnit file is read back in tests/test_ci_workflows.py (the grader workflow's output).
@pytest.mark.slow
def test_the_stubs_junit_round_trips_and_a_score_below_fail_under_exits_1(tmp_path):
    done, results, junit = _grade(RELEASE_DIR, tmp_path, "--fail-under", "0.5")
    assert done.returncode == 1 and "below --fail-under 0.5" in done.stderr, done.stderr[-3000:]
    assert_junit_matches_results(junit, results)
    xml = JUnitXml.fromfile(str(junit))
    assert xml.failures == xml.tests > 0 and xml.errors == 0
    summary = (tmp_path / "summary.md").read_text()
    assert "## Autograder: 0/100 points" in summary and summary.count("not implemented |") == 10


@pytest.mark.slow
def test_a_bugs_junit_round_trips_and_a_score_above_fail_under_exits_0(tmp_path):
    submission = mutated(tmp_path / "bug", BUG)
    done, results, junit = _grade(
        submission, tmp_path, "--groups", group_of_task("2.1.2"), "--fail-under", "1"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_junit_matches_results(junit, results)
    assert json.loads(results.read_text())["score"] > 1
    failed = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite if not case.is_passed]
    assert failed and {case.classname for case in failed} == {"2.1.2"}


@pytest.mark.slow
def test_a_score_exactly_at_fail_under_exits_0(tmp_path):
    done, results, _ = _grade(RELEASE_DIR, tmp_path, "--groups", "scheduler", "--fail-under", "0")
    assert done.returncode == 0 and json.loads(results.read_text())["score"] == 0, done.stderr[-3000:]


def _outcome(
    task: str, passed: bool, feedback: str = "passed", points: float = 2.0, error: bool = False
) -> Outcome:
    check = Check(
        task, f"{task}/c{len(feedback)}", f"title | of {task}", points, "visible", True, "hint", None
    )
    return Outcome(check, passed, feedback, error)


def test_exit_statuses_fail_under_at_below_and_grader_errors_above_all():
    outcomes = [_outcome("1.1", True), _outcome("1.2", False, "wrong")]
    assert reports.exit_status(outcomes) == reports.GRADED == 0
    assert reports.exit_status(outcomes, fail_under=2.0) == 0  # at the score
    assert reports.exit_status(outcomes, fail_under=1.5) == 0  # above it
    assert reports.exit_status(outcomes, fail_under=2.01) == reports.BELOW == 1
    broken = [*outcomes, _outcome("1.3", False, "grader error in 1.3", error=True)]
    assert (
        reports.exit_status(broken) == reports.exit_status(broken, fail_under=0) == reports.GRADER_ERROR == 3
    )


def test_the_command_lines_document_every_exit_status():
    from autograder import cli
    from autograder.public import __main__ as public_cli

    for doc in (cli.__doc__, public_cli.__doc__, (REPO_ROOT / "ci" / "README.md").read_text()):
        for status, words in ((0, "graded"), (1, "below"), (2, "command line"), (3, "error")):
            assert str(status) in doc and words in doc


def test_feedback_that_xml_and_markdown_cannot_hold_as_is_survives_both():
    nasty = "printed \x00\x1b[31m and ``` fences ```` too\n| a pipe"
    outcomes = [_outcome("2.1", False, nasty), _outcome("2.1", True), _outcome("2.2", False, "x", error=True)]
    xml = JUnitXml.fromstring(reports.junit_xml(outcomes).split("\n", 1)[1])
    cases = [case for suite in xml for case in suite]
    assert cases[0].result[0].text == nasty.replace("\x00", "\\x00").replace("\x1b", "\\x1b")
    assert xml.errors == 1 and xml.failures == 1 and cases[2].result[0].type == "grader error"
    summary = reports.markdown_summary(outcomes, "Title")
    assert "`````text\n" + nasty + "\n`````" in summary and "| 2.2 | 0/2 | 0/1 | ⚠️ grader error |" in summary
    assert "title \\| of 2.1" in summary


def test_the_classroom_output_is_base64_json_version_1_with_one_test_per_task():
    outcomes = [
        _outcome("3.1", True),
        _outcome("3.1", False, "not implemented: task 3.1 still raises"),
        _outcome("3.2", True),
    ]
    encoded = reports.classroom_output(outcomes)
    assert "\n" not in encoded
    result, points = classroom_by_task(encoded)
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 6
    assert points == {"3.1": 2, "3.2": 2}
    first = result["tests"][0]
    assert first["status"] == "fail" and first["max_score"] == 4 and first["line_no"] == 0
    assert "1/2 checks passed" in first["message"] and "not implemented" in first["message"]
    assert set(first) == {
        "name",
        "status",
        "score",
        "max_score",
        "message",
        "test_code",
        "filename",
        "line_no",
        "duration",
    }


def test_public_groups_hold_the_public_checks_of_each_group_under_a_groups_default_limits():
    defaults = {f.name: f.default for f in dataclasses.fields(Group) if f.default is not dataclasses.MISSING}
    ours = {
        f.name: f.default for f in dataclasses.fields(PublicGroup) if f.default is not dataclasses.MISSING
    }
    assert ours == defaults
    hidden = all_groups()
    assert [g.name for g in public_groups()] == [g.name for g in hidden]
    for public, full in zip(public_groups(), hidden, strict=True):
        assert [c.key for c in public.checks] == [c.key for c in full.checks if c.public]
        limits = {name: getattr(full, name) for name in defaults}
        assert limits == {name: getattr(public, name) for name in defaults}, (
            f"group {full.name} has its own limits"
        )
    with pytest.raises(ValueError, match="unknown task group"):
        public_groups(("nope",))


# ---------------------------------------------------------------------------------------- python -m public_checks
def _public_checks(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GITHUB_OUTPUT")}
    return subprocess.run(
        [sys.executable, "-m", "public_checks", *args],
        cwd=folder,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_both_command_lines_refuse_what_they_cannot_do():
    assert _public_checks(RELEASE_DIR, "--classroom-output", "result").returncode == 2  # no $GITHUB_OUTPUT
    assert _public_checks(RELEASE_DIR, "9.9.9").returncode == 2
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_OUTPUT"}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(RELEASE_DIR), "--classroom-output", "result"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "GITHUB_OUTPUT" in done.stderr


@pytest.mark.slow
def test_public_checks_on_a_package_that_does_not_import_fail_every_check_with_the_reason(tmp_path):
    folder = student_folder(tmp_path / "repo", solved=False)
    (folder / "diffusion_models" / "__init__.py").write_text("raise RuntimeError('broken on purpose')\n")
    output = tmp_path / "github_output"
    done = _public_checks(
        folder, "2.1.1a", "--classroom-output", "result", "--junit", "j.xml", "--fail-under", "1",
        env={"GITHUB_OUTPUT": str(output)},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    assert "could not be imported" in done.stdout and "broken on purpose" in done.stdout
    result, points = classroom_by_task(output.read_text().strip().split("=", 1)[1])
    assert points == {"2.1.1a": 0} and result["status"] == "fail"
    assert JUnitXml.fromfile(str(folder / "j.xml")).failures == 3
