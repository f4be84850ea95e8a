"""What produced a grade (autograder/provenance.py): the fields every results.json carries, the
fingerprint that moves with each part of the grader, ``explain``, and grading that reproduces byte for
byte in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from catalogue.grading import mutated
from catalogue.mutants import BUGS
from junitparser import JUnitXml

from autograder import __version__, provenance
from autograder.provenance import explain, fingerprints, grader_files
from kit import REFERENCE_DIR, REPO_ROOT
from kit.lock import read_lock


def without_timings(results: dict) -> dict:
    """results.json less what depends on how fast the machine was (execution_time alone)."""
    return {key: value for key, value in results.items() if key != "execution_time"}


def test_the_kit_version_is_pyprojects():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"]


def test_the_record_names_the_grader_the_lock_and_this_machine():
    record = provenance.provenance("cpu")
    assert record["kit_version"] == __version__
    assert set(record["fingerprints"]) == {"grader", "code", "given_package", "locked_versions"}
    assert all(len(value) == 64 for value in record["fingerprints"].values())
    pins = {name: pin.version for name, pin in read_lock().items()}
    for name in ("torch", "numpy", "hypothesis"):  # this venv was installed from the lock
        assert record["locked"][name] == record["libraries"][name] == pins[name]
    assert record["python"].startswith("CPython 3.11") and record["device"] == "cpu"
    assert provenance.provenance("cpu") == record  # nothing in it changes from call to call


def test_the_fingerprint_moves_with_the_code_the_given_package_and_the_lock(tmp_path, monkeypatch):
    files = grader_files()
    assert "autograder/public/tasks.py" in files and "diffusion_models/noise_scheduler.py" in files
    base = fingerprints(files)
    code = fingerprints({**files, "autograder/policy.py": "0" * 64})
    given = fingerprints({**files, "diffusion_models/noise_scheduler.py": "0" * 64})
    assert code["code"] != base["code"] and code["given_package"] == base["given_package"]
    assert given["given_package"] != base["given_package"] and given["code"] == base["code"]
    pins = tmp_path / "runtime.txt"
    pins.write_text(provenance.RUNTIME_PINS.read_text().replace("numpy==", "numpy==0.0.0+"), encoding="utf-8")
    monkeypatch.setattr(provenance, "RUNTIME_PINS", pins)
    locked = fingerprints(files)
    assert locked["locked_versions"] != base["locked_versions"] and locked["code"] == base["code"]
    assert len({base["grader"], code["grader"], given["grader"], locked["grader"]}) == 4


def test_explain_reproduces_here_and_names_what_differs():
    record = provenance.provenance("cpu")
    same, lines = explain(record, "cpu")
    assert same and all(line.lstrip().startswith("same") for line in lines)
    older = {**record, "libraries": {**record["libraries"], "torch": "2.13.0"}, "python": "CPython 3.12.1"}
    same, lines = explain(older, "cpu")
    assert not same
    assert any(line.split()[:2] == ["DIFFERENT", "torch:"] and "2.13.0" in line for line in lines)
    assert any(line.split()[:2] == ["differs", "python:"] for line in lines)  # noted, not decisive
    other = {**record, "fingerprints": {**record["fingerprints"], "code": "f" * 64}}
    assert not explain(other)[0]
    assert not explain(record, "cuda")[0]


@pytest.mark.slow
def test_a_catalogue_bug_grades_byte_for_byte_alike_in_fresh_processes(tmp_path):
    """The same submission graded twice by two fresh grader processes: the same results.json, byte for
    byte once its execution time is set aside, provenance included; ``explain`` says it reproduces."""
    bug = next(b for b in BUGS if "2.1.2" in b.tasks)
    submission = mutated(tmp_path / "submission", bug)
    texts = []
    for run in ("first", "second"):
        results, junit = tmp_path / f"{run}.json", tmp_path / f"{run}.xml"
        command = ["grade", str(submission), "--results", str(results), "--junit", str(junit), "--quiet"]
        subprocess.run(
            [sys.executable, "-m", "autograder", *command],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            timeout=600,
        )
        texts.append(results.read_text())
    first, second = (json.loads(t) for t in texts)
    assert first["score"] < 100  # the bug costs points: this is a real verdict, not full marks twice
    assert json.dumps(without_timings(first), indent=2) == json.dumps(without_timings(second), indent=2)
    recorded = first["extra_data"]["provenance"]
    assert recorded == provenance.provenance(recorded["device"])
    for suite in JUnitXml.fromfile(str(tmp_path / "first.xml")):  # each task's suite names the grader
        properties = {p.name: p.value for p in suite.properties()}
        assert properties["grader"] == recorded["fingerprints"]["grader"]
        assert properties["kit_version"] == __version__
    explained = subprocess.run(
        [sys.executable, "-m", "autograder", "explain", str(tmp_path / "first.json"), "--device", "cpu"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert explained.returncode == 0 and "would reproduce it" in explained.stdout, explained.stdout


def test_the_reference_results_hold_the_provenance(tmp_path):
    from autograder.grader import Grader

    with Grader(device="cpu") as grader:
        report = grader.grade(REFERENCE_DIR, groups=("scheduler",))
    results = report.results_json()
    assert results["extra_data"]["provenance"] == provenance.provenance(report.device)
    assert results["score"] == report.max_score


def test_explain_refuses_a_file_without_provenance(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"score": 1, "tests": []}))
    assert provenance.explain_main(Path(path)) == 2
    assert "no provenance" in capsys.readouterr().out


def test_the_log_line_names_the_kit_the_grader_and_the_libraries():
    record = provenance.provenance("cpu")
    line = provenance.provenance_line(record)
    assert line.startswith(f"kit {__version__}, grader {record['fingerprints']['grader'][:12]}, torch ")
    assert line.endswith(", cpu") and f"hypothesis {record['libraries']['hypothesis']}" in line


def test_explain_a_folder_names_each_student_and_fails_when_one_would_not_reproduce(tmp_path, capsys):
    record = provenance.provenance("cpu")
    older = {**record, "libraries": {**record["libraries"], "numpy": "1.26.4"}}
    for student, recorded in (("alice", record), ("bob", older)):
        (tmp_path / "results" / student).mkdir(parents=True)
        results = {"score": 1, "tests": [], "extra_data": {"provenance": recorded}}
        (tmp_path / "results" / student / "results.json").write_text(json.dumps(results))
    assert provenance.explain_main(tmp_path) == 1
    out = capsys.readouterr().out
    assert "alice/results.json: graded by kit" in out and "reproduced here" in out.split("bob")[0]
    assert "DIFFERENT  numpy: graded with 1.26.4" in out and "1 of 2 results would be reproduced here." in out
    (tmp_path / "results" / "bob" / "results.json").unlink()
    assert provenance.explain_main(tmp_path) == 0
