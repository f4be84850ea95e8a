"""Running the CI templates' jobs here, as a runner would, and reading what they leave behind.

A GitHub Actions job's ``run:`` steps (a GitLab job's ``script:`` lines) run in order with bash, the
job's and the step's ``env:`` over this environment, ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``
pointing at files, and this venv's ``python`` first on PATH (what ``actions/setup-python`` puts
there). After a failed step only steps marked ``if: always()`` run, as on GitHub. Steps that ``uses:``
an action are not run: tests/test_ci_workflows.py checks their pins and inputs instead. In ``env:``,
``${{ matrix.NAME }}`` is the given matrix entry's value and ``${{ inputs.NAME }}`` the given input or,
when none is given, the workflow_dispatch input's default.

No network: every proxy points at a closed port, so an install step passes only when the pinned
packages are already installed here (pip does not download what is already satisfied).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from junitparser import Error, Failure, JUnitXml, Properties

from autograder.public.reports import decode_classroom_output

CLOSED_PORT = "http://127.0.0.1:9"
OFFLINE = {
    "HTTP_PROXY": CLOSED_PORT,
    "HTTPS_PROXY": CLOSED_PORT,
    "http_proxy": CLOSED_PORT,
    "https_proxy": CLOSED_PORT,
    "NO_PROXY": "",
    "no_proxy": "",
    "PIP_RETRIES": "0",
    "PIP_TIMEOUT": "5",
}


@dataclass
class StepRun:
    name: str
    returncode: int
    output: str


@dataclass
class JobRun:
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # the GITHUB_OUTPUT file, name -> value
    summary: str = ""  # the GITHUB_STEP_SUMMARY file

    @property
    def failed(self) -> bool:
        return any(step.returncode != 0 for step in self.steps)

    def log(self) -> str:
        return "\n".join(f"--- {s.name}: exit {s.returncode}\n{s.output[-3000:]}" for s in self.steps)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def base_env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(OFFLINE, CI="true", HOME=env.get("HOME", str(scratch)))
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], scratch: Path, name: str) -> StepRun:
    path = scratch / f"step-{len(list(scratch.glob('step-*.sh')))}.sh"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    return StepRun(name, done.returncode, done.stdout)


def _strings(mapping: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (mapping or {}).items()}


def _read_outputs(path: Path) -> dict[str, str]:
    """The ``name=value`` lines a step appended to $GITHUB_OUTPUT (the one-line form; no heredocs here)."""
    outputs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        assert sep and "<<" not in name, f"unexpected line in GITHUB_OUTPUT: {line!r}"
        outputs[name] = value
    return outputs


EXPRESSION = re.compile(r"\$\{\{\s*(matrix|inputs)\.([\w-]+)\s*\}\}")


def expand(text: str, contexts: dict[str, dict[str, Any]]) -> str:
    """``text`` with each ``${{ matrix.NAME }}`` and ``${{ inputs.NAME }}`` replaced by its value."""

    def value(match: re.Match) -> str:
        context, name = match.groups()
        assert name in contexts[context], f"{match.group(0)}: no {context} value {name!r} given"
        return str(contexts[context][name])

    return EXPRESSION.sub(value, text)


def dispatch_inputs(workflow: Path, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The workflow_dispatch inputs: the ``given`` values over the workflow's defaults."""
    dispatch = (load(workflow).get("on") or {}).get("workflow_dispatch") or {}  # `workflow_dispatch:` is None
    declared = dispatch.get("inputs") or {}
    defaults = {name: spec.get("default", "") for name, spec in declared.items()}
    return {**defaults, **(given or {})}


def run_github_job(
    workflow: Path,
    job: str,
    workdir: Path,
    scratch: Path,
    matrix: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
) -> JobRun:
    """Run the ``run:`` steps of ``job`` in ``workdir``, as a GitHub runner would; ``matrix``: the entry
    of the job's matrix this runner has."""
    spec = load(workflow)["jobs"][job]
    contexts = {"matrix": matrix or {}, "inputs": dispatch_inputs(workflow, inputs)}
    scratch.mkdir(parents=True, exist_ok=True)
    output, summary = scratch / "github_output", scratch / "step_summary"
    output.touch()
    summary.touch()
    env = base_env(scratch)
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workdir),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        RUNNER_TEMP=str(scratch),
    )
    env.update({name: expand(value, contexts) for name, value in _strings(spec.get("env")).items()})
    shell = spec.get("defaults", {}).get("run", {}).get("shell", "bash")
    assert shell == "bash", f"{workflow.name}: run steps use {shell!r}; this harness runs bash"
    run = JobRun()
    for index, step in enumerate(spec["steps"]):
        if "uses" in step:
            continue
        condition = step.get("if")
        assert condition in (None, "always()"), f"step {step.get('name')!r}: cannot evaluate if: {condition}"
        if run.failed and condition != "always()":
            continue
        name = step.get("name", f"step {index}")
        step_env = {
            **env,
            **{name: expand(value, contexts) for name, value in _strings(step.get("env")).items()},
        }
        cwd = workdir / step.get("working-directory", ".")
        run.steps.append(_bash(step["run"], cwd, step_env, scratch, name))
    run.outputs = _read_outputs(output)
    run.summary = summary.read_text(encoding="utf-8")
    return run


def _expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), value)


def run_gitlab_job(pipeline: Path, job: str, workdir: Path, scratch: Path) -> JobRun:
    """Run the ``script:`` lines of ``job`` in ``workdir``, as a GitLab runner would (stop at the first failure)."""
    spec = load(pipeline)[job]
    scratch.mkdir(parents=True, exist_ok=True)
    env = base_env(scratch)
    env.update(GITLAB_CI="true", CI_PROJECT_DIR=str(workdir))
    for name, value in _strings(spec.get("variables")).items():
        env[name] = _expand(value, env)
    run = JobRun()
    for line in spec["script"]:
        run.steps.append(_bash(line, workdir, env, scratch, line))
        if run.failed:
            break
    return run


# ---------------------------------------------------------------------------------------- reading
TEST_NAME = re.compile(r"^task (\S+): (.*)$", re.S)


def results_by_task(results: dict[str, Any]) -> dict[str, float]:
    """Points per task in a results.json (each test is named "task <id>: <title>")."""
    points: dict[str, float] = {}
    for test in results["tests"]:
        task = TEST_NAME.match(test["name"]).group(1)
        points[task] = points.get(task, 0.0) + test["score"]
    return points


def classroom_by_task(encoded: str) -> tuple[dict[str, Any], dict[str, float]]:
    """The decoded Classroom result and its points per task (tests named "task <id>")."""
    result = decode_classroom_output(encoded)
    return result, {test["name"].removeprefix("task "): test["score"] for test in result["tests"]}


def assert_junit_matches_results(junit: Path, results_json: Path) -> None:
    """The JUnit file read back through junitparser says what results.json says: the same checks in the
    same order, the same failures, the same points."""
    results = json.loads(results_json.read_text(encoding="utf-8"))
    xml = JUnitXml.fromfile(str(junit))
    cases = [case for suite in xml for case in suite]
    assert xml.tests == len(cases) == len(results["tests"])
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert xml.failures + xml.errors == len(failed)
    points = 0.0
    for case, test in zip(cases, results["tests"], strict=True):
        assert test["name"] == f"task {case.classname}: {case.name}"
        props = {p.name: p.value for group in case.iterchildren(Properties) for p in group}
        assert float(props["points"]) == test["score"] and float(props["max_points"]) == test["max_score"]
        problems = [r for r in case.result if isinstance(r, Failure | Error)]
        if test["status"] == "failed":
            assert len(problems) == 1 and problems[0].text == test["output"]
        else:
            assert not problems and case.is_passed
        points += float(props["points"])
    assert points == results["score"]
    suites = {suite.name: suite for suite in xml}
    for task, earned in results_by_task(results).items():
        props = {p.name: p.value for p in suites[f"task {task}"].properties()}
        assert float(props["points"]) == earned
