"""Hostile and broken submissions, graded end to end by ``python -m autograder grade-all`` in one batch.

The catalogue (tests/hostile/cases.py) is laid out as a class folder with the controls that bound each
case's score and canaries graded among and after the attacks (tests/hostile/classroom.py); one
``grade-all`` run with two workers grades them all. For every case: a complete results.json, no point
the control would not earn (test by test, outside the tasks it broke, which earn nothing), the feedback
that says what happened, a bounded time; and the batch itself finishes, with the canaries, the victim
and the grader's own files intact.

The time limits run at a fifth of their size (``--time-scale 0.2``: a hang costs 6 s a call, 12 s an
import) and every child gets 1 GiB of memory (``--memory-mb 1024``), so the whole batch takes about two
minutes on two cores. At a tenth, a fork bomb or a memory hog graded beside another worker on two busy
cores sometimes met the call's time limit before its own fence, and the feedback said "did not finish"
instead of what happened.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import kernel_fences
import pytest
from hostile.cases import ALL, CASES, LEAK_SECRETS, PRINT_SECRETS, SECRETS, Case
from hostile.classroom import CANARIES, CONTROLS, VICTIM, Classroom, passable_folder

from autograder.checks import all_groups
from kit import RELEASE_DIR, REPO_ROOT

CHECKS = sum(len(group.checks) for group in all_groups())
pytestmark = pytest.mark.slow  # one batch of 47 submissions, about a minute on two cores


# Which fences the children should be held by, decided without the grader's own probes (which the
# grader uses to decide what to raise: asking them would let a broken probe switch these tests off).
# KIT_REQUIRE_FENCES (set by .ci/run) turns a missing fence into a failure instead of a skip.
FEATURES = kernel_fences.expected()
GUARANTEES = {  # what a submission cannot do (the ``needs`` of tests/hostile/cases.py) -> the fences that stop it
    "landlock": ("landlock",),
    "filesystem": ("landlock", "uid"),  # a uid of its own writes no file of the grader's (but may write /tmp)
    "tmp": ("landlock",),
    "signals": ("landlock-signals", "uid"),
    "network": ("seccomp", "netns"),
}
PLATFORM = {guarantee for guarantee, fences in GUARANTEES.items() if any(FEATURES[f] for f in fences)}
MISSING = {
    "landlock": "the kernel has no Landlock (Linux < 5.13, or not enabled): a child can read the repository",
    "filesystem": "no Landlock and no uid to give a child: it could write the grader's own files",
    "tmp": "no Landlock: a child can write world-writable folders such as /tmp",
    "signals": "no Landlock signal scoping (Linux < 6.12) and no uid to give a child: it could kill the tests",
    "network": "this platform offers neither seccomp nor network namespaces to fence the network",
}


def _skip_unless_offered(guarantee: str) -> None:
    __tracebackhide__ = True
    kernel_fences.skip_unless(GUARANTEES[guarantee], MISSING[guarantee])


BATCH_TIMEOUT_S = 420
SECRET_MARKERS = tuple(line for _, line in SECRETS)  # lines of files no feedback may show
FEEDBACK_TAIL = (
    600  # the end of a crashed child's output that its feedback quotes (autograder/public/core.py)
)
ERROR_MESSAGE = 2000  # the start of an error's message that the grader keeps (autograder/sandbox/host.py)
WATCHED_FILES = [
    *sorted((REPO_ROOT / "autograder").rglob("*.py")),
    *sorted((RELEASE_DIR / "diffusion_models").rglob("*.py")),
]


class Listener:
    """A TCP and a UDP socket on 127.0.0.1 that record whatever reaches them."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.token = uuid.uuid4().hex[:12]
        self.unix.bind(f"\0hostile-{self.token}")
        self.unix.listen()
        for sock in (self.tcp, self.udp, self.unix):
            sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self.stopped.is_set():
            for sock in (self.tcp, self.unix):
                try:
                    connection, _ = sock.accept()
                except OSError:
                    continue
                with connection:
                    connection.settimeout(1)
                    try:
                        self.received.append(b"connected:" + connection.recv(1024))
                    except OSError:
                        self.received.append(b"connected")
            try:
                self.received.append(self.udp.recv(1024))
            except OSError:
                pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        for sock in (self.tcp, self.udp, self.unix):
            sock.close()


@dataclass
class Batch:
    classroom: Classroom
    returncode: int
    seconds: float
    stderr: str
    received: list[bytes]
    changed_files: list[str]
    sentinels: list[str]
    in_tmp: list[str]
    leftovers: list[str]
    victim_before: str
    results: dict[str, dict] = field(default_factory=dict)
    gradings: dict[str, dict] = field(default_factory=dict)

    def sandbox(self) -> dict:
        """The fences a child of this batch was held by (as its grading.json records them)."""
        return next((g["sandbox"] for g in self.gradings.values() if g.get("sandbox")), {})


GRADESCOPE_RESULTS = Path("/autograder/results/results.json")  # what Gradescope would read


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _working_in(folder: Path) -> list[str]:
    """Processes whose working directory lies in ``folder`` (the batch's children worked there)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.readlink(f"/proc/{name}/cwd").startswith(str(folder)):
                found.append(f"{name}: {Path(f'/proc/{name}/cmdline').read_bytes()[:200]!r}")
        except OSError:
            continue
    return found


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def batch() -> Iterator[Batch]:
    with passable_folder() as scratch:
        yield _grade_the_class(scratch / "course", scratch / "graded")


def _grade_the_class(root: Path, out: Path) -> Batch:
    listener = Listener()
    classroom = Classroom(
        root, out, listener.tcp.getsockname()[1], listener.udp.getsockname()[1], listener.token
    )
    classroom.lay_out(tuple(case for case in CASES if not case.needs or case.needs in PLATFORM))
    victim = classroom.folder_of(VICTIM)
    victim_before = _tree_digest(victim)
    before = {path: path.read_bytes() for path in WATCHED_FILES}
    gradescope_before = _stat(GRADESCOPE_RESULTS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [
        sys.executable,
        "-m",
        "autograder",
        "grade-all",
        str(root),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    command += ["--time-scale", "0.2", "--memory-mb", "1024", "--no-plot"]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=BATCH_TIMEOUT_S
        )
    finally:
        seconds = time.monotonic() - started
        listener.close()
        # Every write an attack makes carries the token: only those are undone (someone editing the
        # checkout while the tests run keeps their edits), and the checkout is never left damaged.
        changed = [str(p) for p in before if p.exists() and listener.token.encode() in p.read_bytes()]
        for path in map(Path, changed):
            path.write_bytes(before[path])
    candidates = [
        REPO_ROOT / "autograder" / f"hostile_sentinel_{listener.token}.py",
        RELEASE_DIR / "diffusion_models" / f"hostile_sentinel_{listener.token}.py",
        out / f"hostile_sentinel_{listener.token}",
        root / f"hostile_sentinel_{listener.token}",
    ]
    sentinels = [str(p) for p in candidates if p.exists()]
    in_tmp = [str(p) for p in [Path(f"/tmp/hostile_sentinel_{listener.token}")] if p.exists()]
    if _stat(GRADESCOPE_RESULTS) != gradescope_before:
        sentinels.append(str(GRADESCOPE_RESULTS))
        if gradescope_before is None:  # a platform without fences: remove what the attack made
            GRADESCOPE_RESULTS.unlink()
            for folder in (GRADESCOPE_RESULTS.parent, GRADESCOPE_RESULTS.parent.parent):
                try:
                    folder.rmdir()
                except OSError:
                    break
    for path in sentinels + in_tmp:
        if "hostile_sentinel" in path:
            Path(path).unlink()
    result = Batch(
        classroom,
        done.returncode,
        seconds,
        done.stderr,
        listener.received,
        changed,
        sentinels,
        in_tmp,
        _working_in(out),
        victim_before,
    )
    for folder in sorted((out / "results").iterdir()):
        result.results[folder.name] = json.loads((folder / "results.json").read_text())
        result.gradings[folder.name] = json.loads((folder / "grading.json").read_text())
    return result


def _by_number(results: dict) -> dict[str, float]:
    return {test["number"]: test["score"] for test in results["tests"]}


def test_the_batch_finishes_and_the_grader_still_stands(batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert batch.seconds < BATCH_TIMEOUT_S
    expected = {case.name for case in CASES if not case.needs or case.needs in PLATFORM}
    expected |= set(CONTROLS.values()) | {*CANARIES, VICTIM}
    assert set(batch.results) == expected
    assert all(g["status"] == "graded" for g in batch.gradings.values())
    full = batch.results[CONTROLS["reference"]]
    assert full["score"] == sum(t["max_score"] for t in full["tests"]) > 0
    for canary in (*CANARIES, VICTIM):  # graded among and after the attacks: untouched by them
        assert _by_number(batch.results[canary]) == _by_number(full), canary
    assert batch.results[CONTROLS["stubs"]]["score"] == 0
    assert 0 < batch.results[CONTROLS["bug"]]["score"] < full["score"]
    # every child's folder (the submission's copy, what it wrote) is gone, and no process it started is left
    assert not (batch.classroom.out / ".work").exists()
    assert batch.leftovers == [], "processes of the batch outlived it"


def test_no_file_outside_a_sandbox_was_written(batch):
    _skip_unless_offered("filesystem")
    assert batch.changed_files == [], "a submission changed the grader's or the release's files"
    assert batch.sentinels == [], "a submission wrote outside its sandbox"
    assert _tree_digest(batch.classroom.folder_of(VICTIM)) == batch.victim_before


def test_nothing_was_written_to_tmp(batch):
    _skip_unless_offered("tmp")
    assert batch.in_tmp == [], "a submission wrote to /tmp, outside its own folder"


def test_nothing_reached_the_network(batch):
    _skip_unless_offered("network")
    assert batch.received == []
    assert _network_fenced(batch), (
        "the platform offers a network fence, but the children were not held by one"
    )


def test_every_child_was_fenced_as_the_platform_allows(batch):
    fences = batch.sandbox()
    assert fences, "no grading.json records the fences of its children"
    assert fences["limits"]["processes"] == 64 and fences["limits"]["output_kb"] == 1024
    # the grader's record against what the platform has, as found without the grader's own probes
    assert bool(fences.get("landlock")) == FEATURES["landlock"], fences.get("landlock")
    if FEATURES["landlock"]:
        assert fences["landlock"]["filesystem"]
        assert fences["landlock"]["signals"] == FEATURES["landlock-signals"], fences["landlock"]
    assert any(name.startswith("socket") for name in fences.get("seccomp_denies", [])) == FEATURES["seccomp"]
    assert bool(fences.get("network")) == FEATURES["netns"], fences.get("network")
    if FEATURES["uid"]:
        assert fences["uid"] not in (0, os.getuid())
    elif os.geteuid() == 0:
        assert fences["uid"] == 0 and fences["capabilities"] == "none"
    else:
        assert fences["uid"] == os.getuid()


def _network_fenced(batch: Batch) -> bool:
    fences = batch.sandbox()
    denied = fences.get("seccomp_denies", [])
    return any(name.startswith("socket") for name in denied) or bool(fences.get("network"))


def _skip_unless_fenced(case: Case) -> None:
    __tracebackhide__ = True
    if case.needs:
        _skip_unless_offered(case.needs)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_submission(case: Case, batch):
    _skip_unless_fenced(case)
    results, grading = batch.results[case.name], batch.gradings[case.name]
    # a complete results.json, graded in bounded time
    assert grading["status"] == "graded", grading
    assert len(results["tests"]) == CHECKS
    assert all(0 <= t["score"] <= t["max_score"] for t in results["tests"])
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert grading["seconds"] <= case.max_seconds, f"{case.name} took {grading['seconds']} s"
    # no point more than its control earns: the broken tasks earn nothing, the others what the control does
    control = _by_number(batch.results[CONTROLS[case.base if case.at != "zip" else "reference"]])
    got = _by_number(results)
    broken = {n for n in got if case.zero == ALL or n.rsplit(".", 1)[0] in case.zero}
    assert {n: got[n] for n in broken} == dict.fromkeys(broken, 0), results["output"]
    assert {n: got[n] for n in got if n not in broken} == {n: control[n] for n in got if n not in broken}, [
        t["output"][:300] for t in results["tests"] if t["score"] != control[t["number"]]
    ]
    # the feedback never shows a secret, and says what happened
    feedback = "\n".join([results["output"], *(t["output"] for t in results["tests"])])
    assert [marker for marker in SECRET_MARKERS if marker in feedback] == [], "the feedback shows secrets"
    for words in case.says:
        assert any(word in feedback for word in words), f"none of {words} in:\n{feedback[:3000]}"


@pytest.mark.parametrize("code", [LEAK_SECRETS, PRINT_SECRETS], ids=["leak-secrets", "print-secrets"])
def test_the_secret_attacks_would_show_every_secret_where_the_feedback_looks(code, tmp_path):
    """Unfenced (a plain process), the attacks put every marker in what their feedback keeps: the end of
    the output a crash quotes, and the start of an import error's message. So a fence that lets a read
    through shows up as a secret in the feedback, not as nothing at all."""
    classroom = Classroom(tmp_path, tmp_path, 0, 0, "token")
    attack = classroom.fill(code, "unfenced")
    assert "__" not in attack.replace("__init__", ""), "a placeholder was left unfilled"
    for path, marker in SECRETS:
        assert marker in Path(classroom.fill(path, "unfenced")).read_text(), f"{marker!r} not in {path}"
    wrapper = f"import sys\ntry:\n    exec({attack!r})\nexcept RuntimeError as err:\n    sys.stderr.write(str(err))\n"
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=60)
    windows = {"output": done.stdout.strip()[-FEEDBACK_TAIL:]}
    if "raise RuntimeError" in code:
        windows["error message"] = done.stderr[:ERROR_MESSAGE]
    for where, shown in windows.items():
        assert [m for m in SECRET_MARKERS if m not in shown] == [], f"not in the {where}: {shown!r}"
