"""The CI templates under ci/: each job run here step by step (tests/ci_jobs.py), each action pinned.

- ci/student/.github/workflows/classroom.yml (shipped in release/diffusion/): the public checks on every
  push, the step summary, GitHub Classroom's report.
- ci/grader/.github/workflows/grade.yml: the instructor's full grading of one student repository.
- ci/grader/.github/workflows/grade-class.yml: the whole class as a matrix of ``grade-all --shard K/N``
  jobs and a merge job; run shard by shard here, the artifacts passed between them as the actions would.
- ci/gitlab/.gitlab-ci.yml: the public checks on GitLab, with artifacts:reports:junit.
- ci/slurm/*.sbatch and ci/kubernetes/*.yaml: the class on a Slurm job array or a Kubernetes Indexed
  Job; run with a stand-in python that records its command line, for every shard.

The install steps run too: offline, ``pip install -r requirements.txt`` passes only because every pin
is already satisfied in this venv (tests/ci_jobs.py points every proxy at a closed port).
"""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from assignment_folders import CACHES, student_folder
from catalogue.grading import reference_copy
from ci_jobs import (
    assert_junit_matches_results,
    classroom_by_task,
    expand,
    load,
    results_by_task,
    run_github_job,
    run_gitlab_job,
)
from junitparser import JUnitXml

from autograder.checks import all_groups
from autograder.classroom.shards import parse_shard, shard_of
from autograder.public import PUBLIC_CHECKS
from kit import RELEASE_DIR, REPO_ROOT

CI = REPO_ROOT / "ci"
STUDENT_WORKFLOW = CI / "student" / ".github" / "workflows" / "classroom.yml"
GRADER_WORKFLOW = CI / "grader" / ".github" / "workflows" / "grade.yml"
CLASS_WORKFLOW = CI / "grader" / ".github" / "workflows" / "grade-class.yml"
GITLAB_PIPELINE = CI / "gitlab" / ".gitlab-ci.yml"
SLURM_ARRAY, SLURM_MERGE = CI / "slurm" / "grade-all.sbatch", CI / "slurm" / "grade-all-merge.sbatch"
K8S_JOB, K8S_MERGE = CI / "kubernetes" / "grade-all-job.yaml", CI / "kubernetes" / "grade-all-merge-job.yaml"
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
    "actions/download-artifact": (
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
        {
            "name",
            "artifact-ids",
            "path",
            "pattern",
            "merge-multiple",
            "github-token",
            "repository",
            "run-id",
            "skip-decompress",
            "digest-mismatch",
        },
        set(),
    ),  # fmt: skip
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


# ---------------------------------------------------------------------------------------- the class, sharded
FULL = sum(group.points for group in all_groups())
CLASS = {"alice": "reference", "dave": "stubs", "erin": "reference"}  # shards 3, 2 and 1 of three


def _grader_repository(root: Path) -> Path:
    """A checkout of the private grader repository: the kit's grading part and the class's submissions."""
    for part in ("autograder", "release", "requirements"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=CACHES)
    for student, kind in CLASS.items():
        if kind == "reference":
            reference_copy(root / "submitted" / student)
        else:
            shutil.copytree(
                RELEASE_DIR / "diffusion_models", root / "submitted" / student / "diffusion_models"
            )
    return root


def _uses(workflow: Path, job: str, action: str) -> dict:
    return next(s for s in load(workflow)["jobs"][job]["steps"] if action in s.get("uses", ""))


@pytest.mark.slow
def test_the_class_workflow_grades_one_shard_per_runner_and_merges_them_into_the_class_grades(tmp_path):
    grade_job = load(CLASS_WORKFLOW)["jobs"]["grade"]
    count = int(grade_job["env"]["SHARDS"])
    assert grade_job["strategy"]["matrix"]["shard"] == list(range(1, count + 1))
    assert {shard_of(student, count) for student in CLASS} == set(range(1, count + 1))
    upload = _uses(CLASS_WORKFLOW, "grade", "upload-artifact")
    download = _uses(CLASS_WORKFLOW, "merge", "download-artifact")
    assert upload["if"] == "always()" and "merge-multiple" not in download["with"]  # one folder per artifact
    merger = tmp_path / "merge-runner"
    for shard in grade_job["strategy"]["matrix"]["shard"]:  # each on a runner of its own
        runner = _grader_repository(tmp_path / f"runner-{shard}")
        job = run_github_job(CLASS_WORKFLOW, "grade", runner, tmp_path / f"scratch-{shard}", {"shard": shard})
        assert not job.failed, job.log()
        name = expand(upload["with"]["name"], {"matrix": {"shard": shard}})
        assert fnmatch.fnmatch(name, download["with"]["pattern"])
        uploaded = runner / expand(upload["with"]["path"], {"matrix": {"shard": shard}})
        shutil.copytree(uploaded, merger / download["with"]["path"] / name)  # upload, then download
    _grader_repository(merger)
    job = run_github_job(CLASS_WORKFLOW, "merge", merger, tmp_path / "scratch-merge")
    assert not job.failed, job.log()
    with open(merger / "out" / "class" / "grades.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert list(rows) == sorted(CLASS)
    for student, kind in CLASS.items():
        assert rows[student]["status"] == "graded"
        assert float(rows[student]["score"]) == (FULL if kind == "reference" else 0), rows[student]
    for path in _uses(CLASS_WORKFLOW, "merge", "upload-artifact")["with"]["path"].split():
        assert (merger / path).exists(), f"the class-grades artifact names {path}, which merge did not write"
    assert "alice," in job.summary and "## Grades of the class" in job.summary


FAKE_PYTHON = """#!/bin/bash
printf '%s\\0' "$@" > "$RECORD"
"""


def _recorded(command: list[str], env: dict[str, str], tmp_path: Path) -> list[str]:
    """The command line the script ``command`` gives python (a stand-in that records it)."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    record = tmp_path / "argv"
    record.unlink(missing_ok=True)
    base = {"PATH": os.environ["PATH"], "PYTHON": str(fake), "RECORD": str(record)}
    done = subprocess.run(
        command, env={**base, **env}, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return record.read_text().split("\0")[:-1]


def _shard_runs(argvs: list[list[str]], count: int) -> list[str]:
    """The --out folders of N shard command lines; each must be grade-all --shard K/N, K = 1 .. N once."""
    shards, outs = [], []
    for argv in argvs:
        assert argv[:3] == ["-m", "autograder", "grade-all"] and argv[3] != "merge", argv
        shards.append(parse_shard(argv[argv.index("--shard") + 1]))
        outs.append(argv[argv.index("--out") + 1])
    assert sorted((s.index, s.count) for s in shards) == [(k, count) for k in range(1, count + 1)]
    assert len(set(outs)) == count, f"shards share a folder: {outs}"
    return outs


def _merges(argv: list[str], outs: list[str]) -> None:
    assert argv[:4] == ["-m", "autograder", "grade-all", "merge"], argv
    out = argv[argv.index("--out") + 1]
    assert sorted(argv[4 : argv.index("--out")] + argv[argv.index("--out") + 2 :]) == sorted(outs)
    assert out not in outs


def test_the_slurm_array_runs_one_shard_per_task_and_the_merge_joins_every_shard(tmp_path):
    (array,) = re.findall(r"^#SBATCH --array=1-(\d+)$", SLURM_ARRAY.read_text(), re.M)
    count = int(array)
    out = str(tmp_path / "class")
    argvs = [
        _recorded(
            ["bash", str(SLURM_ARRAY)],
            {"SLURM_ARRAY_TASK_ID": str(k), "SLURM_ARRAY_TASK_COUNT": str(count), "OUT": out},
            tmp_path,
        )
        for k in range(1, count + 1)
    ]
    outs = _shard_runs(argvs, count)
    for folder in outs:  # what the array's tasks leave behind
        Path(folder).mkdir(parents=True)
    _merges(_recorded(["bash", str(SLURM_MERGE)], {"OUT": out}, tmp_path), outs)
    assert (
        "--dependency=afterany" in SLURM_ARRAY.read_text()
        and "grade-all-merge.sbatch" in SLURM_ARRAY.read_text()
    )


def _container(manifest: Path) -> tuple[dict, dict]:
    (job,) = yaml.safe_load_all(manifest.read_text())
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return job, container


def _command(container: dict, **overrides: str) -> tuple[list[str], dict[str, str]]:
    env = {item["name"]: item["value"] for item in container["env"]}
    return [*container["command"], *container["args"]], {**env, **overrides}


def test_the_kubernetes_indexed_job_runs_one_shard_per_index_and_the_merge_joins_every_shard(tmp_path):
    job, container = _container(K8S_JOB)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    count = spec["completions"]
    assert spec["parallelism"] == count and int(_command(container)[1]["SHARDS"]) == count
    grading = str(tmp_path / "grading")
    argvs = []
    for index in range(count):  # JOB_COMPLETION_INDEX is 0-based
        command, env = _command(container, GRADING=grading, JOB_COMPLETION_INDEX=str(index))
        argvs.append(_recorded(command, {k: v for k, v in env.items() if k != "PYTHON"}, tmp_path))
    outs = _shard_runs(argvs, count)
    for folder in outs:
        Path(folder).mkdir(parents=True)
    _, merger = _container(K8S_MERGE)
    command, env = _command(merger, GRADING=grading)
    _merges(_recorded(command, {k: v for k, v in env.items() if k != "PYTHON"}, tmp_path), outs)
    assert container["image"] == merger["image"]
    volumes = [
        job["spec"]["template"]["spec"]["volumes"] for job in (job, yaml.safe_load(K8S_MERGE.read_text()))
    ]
    assert volumes[0] == volumes[1], "the merge must mount the volume the shards wrote to"


# ---------------------------------------------------------------------------------------- pins and inputs
def _github_workflows() -> list[Path]:
    return [STUDENT_WORKFLOW, GRADER_WORKFLOW, CLASS_WORKFLOW]


@pytest.mark.parametrize(
    "workflow", _github_workflows(), ids=lambda p: f"{p.parent.parent.parent.name}-{p.stem}"
)
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
