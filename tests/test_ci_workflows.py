"""The CI templates under ci/: each job run here step by step (tests/ci_jobs.py), each action pinned.

- ci/student/.github/workflows/classroom.yml (shipped in release/diffusion/): the public checks on every
  push, the step summary, GitHub Classroom's report.
- ci/grader/.github/workflows/grade.yml: the instructor's full grading of one student repository.
- ci/gitlab/.gitlab-ci.yml: the public checks on GitLab, with artifacts:reports:junit.

The install steps run too: offline, ``pip install -r requirements.txt`` passes only because every pin
is already satisfied in this venv (tests/ci_jobs.py points every proxy at a closed port).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from assignment_folders import CACHES, student_folder
from ci_jobs import (
    assert_junit_matches_results,
    classroom_by_task,
    load,
    results_by_task,
    run_github_job,
    run_gitlab_job,
)
from junitparser import JUnitXml

from autograder.public import PUBLIC_CHECKS
from kit import RELEASE_DIR, REPO_ROOT

CI = REPO_ROOT / "ci"
STUDENT_WORKFLOW = CI / "student" / ".github" / "workflows" / "classroom.yml"
GRADER_WORKFLOW = CI / "grader" / ".github" / "workflows" / "grade.yml"
GITLAB_PIPELINE = CI / "gitlab" / ".gitlab-ci.yml"
STUDENT_JOB, GRADER_JOB, GITLAB_JOB = "run-autograding-tests", "grade", "public-checks"
PUBLIC_POINTS = sum(c.points for c in PUBLIC_CHECKS)
PUBLIC_TASKS = list(dict.fromkeys(c.task for c in PUBLIC_CHECKS))

# The inputs of each action at the pinned commit (its action.yml), and the ones a step must give.
ACTIONS = {
    "actions/checkout": (
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
        {"repository", "ref", "token", "path", "persist-credentials", "fetch-depth", "clean"},
        set(),
    ),
    "actions/setup-python": (
        "5fda3b95a4ea91299a34e894583c3862153e4b97",
        "v7.0.0",
        {"python-version", "cache", "cache-dependency-path", "architecture", "check-latest"},
        {"python-version"},
    ),
    "actions/upload-artifact": (
        "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
        {"name", "path", "if-no-files-found", "retention-days", "overwrite"},
        {"path"},
    ),
    "classroom-resources/autograding-grading-reporter": (
        "d13b5912daf5042ac1b71bc38bdb4a6bcd61d8ca",
        "v1",
        {"runners", "token"},
        {"runners"},
    ),
}
PUBLIC_ONLY_WITHOUT_HIDDEN_CHECKS = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoHiddenChecks(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "autograder.checks" or name.startswith("autograder.checks."):
                raise ImportError(f"{name} may not be imported in a public-only grading")
            return None

    sys.meta_path.insert(0, NoHiddenChecks())
    from autograder.cli import main

    status = main(sys.argv[1:])
    hidden = sorted(m for m in sys.modules if m.startswith("autograder.checks"))
    print(f"hidden check modules loaded: {hidden}")
    sys.exit(status)
    """
)


def grade_without_hidden_checks(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` in a process where ``autograder.checks`` cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", PUBLIC_ONLY_WITHOUT_HIDDEN_CHECKS, *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _step(workflow: Path, job: str, step_id: str) -> dict:
    return next(s for s in load(workflow)["jobs"][job]["steps"] if s.get("id") == step_id)


# ---------------------------------------------------------------------------------------- the student's
@pytest.mark.slow
def test_the_student_workflow_reports_the_public_points_per_task_as_the_autograder_grades_them(tmp_path):
    repo = student_folder(tmp_path / "repo", solved=True)
    job = run_github_job(STUDENT_WORKFLOW, STUDENT_JOB, repo, tmp_path / "runner")
    assert not job.failed, job.log()
    assert [s.name for s in job.steps] == [
        s["name"] for s in load(STUDENT_WORKFLOW)["jobs"][STUDENT_JOB]["steps"] if "run" in s
    ]
    result, points = classroom_by_task(job.outputs["result"])
    assert result["version"] == 1 and result["status"] == "pass" and result["max_score"] == PUBLIC_POINTS
    assert {t["status"] for t in result["tests"]} == {"pass"} and list(points) == PUBLIC_TASKS

    # the same folder, graded by the autograder with the public checks only, hidden checks unimportable
    results, output = tmp_path / "results.json", tmp_path / "autograder_output"
    done = grade_without_hidden_checks(
        "grade", str(repo), "--public-only", "--device", "cpu", "--results", str(results),
        "--classroom-output", "result", env={"GITHUB_OUTPUT": str(output)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hidden check modules loaded: []" in done.stdout
    assert results_by_task(json.loads(results.read_text())) == points
    assert classroom_by_task(output.read_text().strip().removeprefix("result="))[0] == result
    assert sum(points.values()) == PUBLIC_POINTS
    assert f"Public checks: {PUBLIC_POINTS:g}/{PUBLIC_POINTS:g} points" in job.summary
    _assert_the_written_pdf_is_uploaded(repo, job)


def _assert_the_written_pdf_is_uploaded(repo: Path, job) -> None:
    """The PDF step ran (after the checks, pass or fail) and wrote the file the upload step names."""
    written = _step(STUDENT_WORKFLOW, STUDENT_JOB, "written")
    assert written["if"] == "always()"
    ran = next(s for s in job.steps if s.name == written["name"])
    assert ran.returncode == 0, ran.output
    upload = next(
        s
        for s in load(STUDENT_WORKFLOW)["jobs"][STUDENT_JOB]["steps"]
        if "upload-artifact" in s.get("uses", "")
    )
    assert upload["if"] == "always()" and upload["with"]["name"] == "written-answers"
    pdf = repo / upload["with"]["path"]
    assert pdf.read_bytes().startswith(b"%PDF") and f"wrote {upload['with']['path']}" in ran.output


@pytest.mark.slow
def test_the_student_workflow_fails_on_the_stubs_and_lists_each_task_as_not_implemented(tmp_path):
    repo = student_folder(tmp_path / "repo", solved=False)
    job = run_github_job(STUDENT_WORKFLOW, STUDENT_JOB, repo, tmp_path / "runner")
    failed = [step for step in job.steps if step.returncode != 0]
    assert [step.name for step in failed] == [_step(STUDENT_WORKFLOW, STUDENT_JOB, "grading")["name"]]
    assert failed[0].returncode == 1, job.log()  # below --fail-under, not an error of the grader
    _assert_the_written_pdf_is_uploaded(repo, job)  # a red push gets its PDF all the same
    result, points = classroom_by_task(job.outputs["result"])  # written all the same, for the reporter
    assert result["status"] == "fail" and set(points.values()) == {0} and list(points) == PUBLIC_TASKS
    for task in PUBLIC_TASKS:
        assert re.search(
            rf"^\| {re.escape(task)} \| 0/\d+ \| 0/\d+ \| \S+ not implemented \|$", job.summary, re.M
        ), f"task {task} is not listed as not implemented:\n{job.summary}"


def test_the_public_only_grading_fails_loudly_without_the_hidden_checks_when_they_are_needed(tmp_path):
    """The blocker above really blocks: a full grading in the same process cannot run."""
    done = grade_without_hidden_checks("grade", str(RELEASE_DIR), "--device", "cpu", "--groups", "scheduler")
    assert done.returncode == 3 and "may not be imported in a public-only grading" in done.stderr


# ---------------------------------------------------------------------------------------- the instructor's
@pytest.mark.slow
def test_the_grader_workflow_grades_with_every_check_and_leaves_results_and_junit(tmp_path):
    grader = tmp_path / "grader"  # the private grader repository: a copy of the kit's grading part
    for part in ("autograder", "release", "requirements"):
        shutil.copytree(REPO_ROOT / part, grader / part, ignore=CACHES)
    student_folder(grader / "submission", solved=True)  # what the second checkout brings
    job = run_github_job(GRADER_WORKFLOW, GRADER_JOB, grader, tmp_path / "runner")
    assert not job.failed, job.log()
    results = json.loads((grader / "out" / "results.json").read_text())
    assert results["score"] == 100 and len(results["tests"]) > len(PUBLIC_CHECKS)  # hidden checks ran
    assert_junit_matches_results(grader / "out" / "junit.xml", grader / "out" / "results.json")
    assert "Autograder: 100/100 points" in job.summary
    upload = next(
        s
        for s in load(GRADER_WORKFLOW)["jobs"][GRADER_JOB]["steps"]
        if "upload-artifact" in s.get("uses", "")
    )
    assert (
        upload["with"]["path"].split() == ["out/results.json", "out/junit.xml"] and upload["if"] == "always()"
    )


def test_the_grader_workflow_checks_out_the_student_repository_with_the_documented_secret():
    text = GRADER_WORKFLOW.read_text()
    checkout = next(
        s
        for s in load(GRADER_WORKFLOW)["jobs"][GRADER_JOB]["steps"]
        if s.get("with", {}).get("path") == "submission"
    )
    assert checkout["with"]["token"] == "${{ secrets.STUDENT_REPOS_TOKEN }}"
    assert checkout["with"]["repository"] == "${{ inputs.repository }}"
    assert checkout["with"]["persist-credentials"] is False
    assert "STUDENT_REPOS_TOKEN" in text.split("name:")[0]  # explained in the header
    assert "STUDENT_REPOS_TOKEN" in (CI / "README.md").read_text()


# ---------------------------------------------------------------------------------------- GitLab
@pytest.mark.slow
def test_the_gitlab_job_fails_on_the_stubs_and_leaves_a_junit_report(tmp_path):
    repo = student_folder(tmp_path / "repo", solved=False)
    shutil.copy2(GITLAB_PIPELINE, repo / ".gitlab-ci.yml")
    job = run_gitlab_job(repo / ".gitlab-ci.yml", GITLAB_JOB, repo, tmp_path / "runner")
    assert job.failed and job.steps[-1].returncode == 1, job.log()
    spec = load(GITLAB_PIPELINE)[GITLAB_JOB]
    junit = repo / spec["artifacts"]["reports"]["junit"]
    xml = JUnitXml.fromfile(str(junit))
    assert xml.tests == xml.failures == len(PUBLIC_CHECKS) and spec["artifacts"]["when"] == "always"
    assert all((repo / path).is_file() for path in spec["artifacts"]["paths"])


# ---------------------------------------------------------------------------------------- pins and inputs
def _github_workflows() -> list[Path]:
    return [STUDENT_WORKFLOW, GRADER_WORKFLOW]


@pytest.mark.parametrize("workflow", _github_workflows(), ids=lambda p: p.parent.parent.parent.name)
def test_every_action_is_pinned_to_a_release_commit_and_given_known_inputs(workflow):
    lines = workflow.read_text().splitlines()
    for job in load(workflow)["jobs"].values():
        for step in job["steps"]:
            if "uses" not in step:
                assert "${{" not in step["run"], (
                    f"{step['name']}: pass expressions through env:, not into the script"
                )
                continue
            action, _, commit = step["uses"].partition("@")
            assert action in ACTIONS, f"{action} is not one of the documented actions"
            pinned, version, inputs, required = ACTIONS[action]
            assert commit == pinned, f"{action}@{commit}: pin the commit of {version}"
            line = next(line for line in lines if f"uses: {step['uses']}" in line)
            assert line.rstrip().endswith(f"# {version}"), f"{line!r}: name the release beside the pin"
            given = set(step.get("with", {}))
            assert given <= inputs, f"{action}: unknown inputs {given - inputs}"
            assert required <= given, f"{action}: missing inputs {required - given}"
            if action == "actions/setup-python":
                assert step["with"]["python-version"] == "3.11" and step["with"]["cache"] == "pip"


def test_the_classroom_reporter_reads_the_grading_steps_result_output():
    reporter = next(
        s
        for s in load(STUDENT_WORKFLOW)["jobs"][STUDENT_JOB]["steps"]
        if "grading-reporter" in s.get("uses", "")
    )
    runners = reporter["with"]["runners"].split(",")
    # the reporter reads env <RUNNER ID IN CAPITALS>_RESULTS (its src/main.js)
    assert reporter["env"] == {
        f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}" for r in runners
    }
    for runner in runners:
        assert "--classroom-output result" in _step(STUDENT_WORKFLOW, STUDENT_JOB, runner)["run"]
    assert reporter["if"].startswith("always()")  # the points are reported when the checks fail too


def test_the_passing_points_are_the_public_checks_points():
    student = load(STUDENT_WORKFLOW)["jobs"][STUDENT_JOB]["env"]["PASSING_POINTS"]
    gitlab = load(GITLAB_PIPELINE)[GITLAB_JOB]["variables"]["PASSING_POINTS"]
    assert float(student) == float(gitlab) == PUBLIC_POINTS, (
        f"the public checks are worth {PUBLIC_POINTS:g} points: update PASSING_POINTS in ci/ and its comments"
    )
    for path in (STUDENT_WORKFLOW, GITLAB_PIPELINE):
        assert f"all the public checks' points: {PUBLIC_POINTS:g})" in path.read_text()


def test_the_release_ships_the_student_ci_files():
    for path in (CI / "student").rglob("*"):
        if path.is_file():
            shipped = RELEASE_DIR / path.relative_to(CI / "student")
            assert shipped.read_bytes() == path.read_bytes(), f"run `make release`: {shipped}"
