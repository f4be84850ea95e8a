"""The grader's side of the child processes: the zygote, and one session per task group.

The grader never imports the student's code (nor torch). It starts a :class:`Zygote`, a python with
``-I -S -B`` that gets the child's code (:mod:`autograder.server`, :mod:`autograder.wire`, the public
probe modules) as text on stdin, so no grader file needs to be importable there. Each task group gets
a :class:`ChildSession`: a child forked from the zygote, with its own fresh folder, its own copy of
the submission and its own resource limits. A call that times out or crashes the child costs that
call; the next call forks a fresh child (a few at most per group), until the group's time is spent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import wire
from .public.core import (
    ChildCrashed,
    GraderError,
    GroupTimeLimit,
    PackageImportError,
    ProbeTimeout,
    StudentError,
)

AUTOGRADER_DIR = Path(__file__).resolve().parent
PACKAGE = "diffusion_models"

BOOTSTRAP = r"""
import importlib.abc, importlib.util, json, sys
config = json.loads(sys.stdin.buffer.read())
sys.path[:] = [p for p in sys.path if p] + config["site"]
class Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name in config["sources"]:
            return importlib.util.spec_from_loader(name, self, is_package=name in config["packages"])
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        code = compile(config["sources"][module.__name__], "<grader>/" + module.__name__, "exec")
        exec(code, module.__dict__)
sys.meta_path.insert(0, Sources())
import _grader.server
_grader.server.zygote_main(int(sys.argv[1]), config)
"""

SIGNALS = {
    signal.SIGKILL: "killed (SIGKILL: out of memory, or stopped by the grader)",
    signal.SIGSEGV: "crashed with a segmentation fault (SIGSEGV)",
    signal.SIGXCPU: "ran out of CPU time (SIGXCPU)",
    signal.SIGABRT: "aborted (SIGABRT)",
    signal.SIGBUS: "crashed with a bus error (SIGBUS)",
    signal.SIGFPE: "crashed with a floating-point exception (SIGFPE)",
}


def child_sources() -> dict[str, str]:
    """Module name -> source text of everything a child runs, under the private package ``_grader``."""
    sources = {"_grader": "", "_grader.public": ""}
    for name in ("wire", "server"):
        sources[f"_grader.{name}"] = (AUTOGRADER_DIR / f"{name}.py").read_text(encoding="utf-8")
    for path in sorted((AUTOGRADER_DIR / "public").glob("*.py")):
        if path.stem != "__init__":
            sources[f"_grader.public.{path.stem}"] = path.read_text(encoding="utf-8")
    return sources


def site_dirs() -> list[str]:
    """Where this interpreter finds its packages (torch, numpy, hypothesis), without .pth side effects."""
    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"]]
    found += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return list(dict.fromkeys(p for p in found if Path(p).is_dir()))


def child_environment(root: Path, threads: int) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root),
        "TMPDIR": str(root),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    }
    for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def exit_reason(status: dict[str, Any] | None) -> str:
    if status is None:
        return "it stopped without a word (its exit status is unknown)"
    if "signal" in status:
        number = int(status["signal"])
        return SIGNALS.get(number, f"killed by signal {number}")
    code = int(status["code"])
    if code == 0:
        return "it exited (did your code call sys.exit or os._exit?)"
    return f"it exited with code {code} (did your code call sys.exit or os._exit?)"


class Zygote:
    """A python that has imported torch once and forks children on request."""

    def __init__(self, python: str | None = None, threads: int = 1, start_timeout_s: float = 180.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="grader-"))
        self.threads = threads
        self.exited: dict[int, dict[str, Any]] = {}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl = ours
        sources = child_sources()
        config = {
            "site": site_dirs(),
            "sources": sources,
            "packages": ["_grader", "_grader.public"],
            "preload": sorted(name for name in sources if name.startswith("_grader.public.")),
        }
        self.log = open(self.root / "zygote.log", "wb")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [python or sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP, str(theirs.fileno())],
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=self.log,
            pass_fds=[theirs.fileno()],
            cwd=self.root,
            env=child_environment(self.root, threads),
            start_new_session=True,
        )
        theirs.close()
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(config).encode())
        self.process.stdin.close()
        ready = self._read(time.monotonic() + start_timeout_s)
        if ready is None or not ready[0].get("ready"):
            self.close()
            raise GraderError(f"the grader's child server did not start: {self.log_tail()}")
        self.torch_version = ready[0].get("torch")

    def log_tail(self) -> str:
        path = self.root / "zygote.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def _read(self, deadline: float) -> tuple[dict[str, Any], list[int]] | None:
        """One control message (and any fd it carries), or None at the deadline or on EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        self.ctl.settimeout(left)
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.ctl, 65536, 1)
        except (TimeoutError, OSError):
            return None
        if not data:
            return None
        message = json.loads(data)
        if "exited" in message:
            self.exited[int(message["exited"])] = message
        return message, fds

    def spawn(self, request: dict[str, Any], timeout_s: float = 30.0) -> tuple[int, socket.socket]:
        """Fork a child for ``request``; return its pid and the grader's end of its socket."""
        self.ctl.settimeout(timeout_s)
        self.ctl.send(json.dumps({"cmd": "spawn", "threads": self.threads, **request}).encode())
        deadline = time.monotonic() + timeout_s
        while True:
            got = self._read(deadline)
            if got is None:
                raise GraderError(f"the grader's child server stopped answering: {self.log_tail()}")
            message, fds = got
            if "spawned" in message:
                return int(message["spawned"]), socket.socket(fileno=fds[0])

    def exit_status(self, pid: int, timeout_s: float = 3.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while pid not in self.exited and self._read(deadline) is not None:
            pass
        return self.exited.get(pid)

    def close(self) -> None:
        try:
            self.ctl.close()
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(self.process.pid)
                self.process.wait()
            self.log.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass(frozen=True)
class Limits:
    """What one task group's children may use."""

    time_s: float  # wall time of the whole group
    cpu_s: float  # RLIMIT_CPU of each child
    memory_mb: int  # RLIMIT_AS headroom of each child (CPU grading only)
    file_mb: int = 64  # RLIMIT_FSIZE: the largest file (the output log too) a child may write
    max_children: int = 4  # fresh children after crashes and timeouts, per group
    start_timeout_s: float = 60.0  # from fork to the child's hello (the submission's import)


class ChildSession:
    """Runs the probes of one task group in children of the zygote; the judge's side of a child."""

    def __init__(self, zygote: Zygote, name: str, package_copy: Path, device: str, limits: Limits) -> None:
        self.zygote, self.name, self.package_copy, self.limits = zygote, name, package_copy, limits
        self.requested_device = device
        self.device = device
        self.call_timeout_s = 30.0
        self.deadline = time.monotonic() + limits.time_s
        self.children = 0
        self.child: tuple[int, socket.socket, Path] | None = None
        # an import that failed, crashed or hung: it would again, so every later call gets it
        self.fatal: PackageImportError | ChildCrashed | ProbeTimeout | None = None
        self.last_problem = ""
        self.cache: dict[str, dict[str, Any] | Exception] = {}
        self.next_id = 0

    # -------------------------------------------------------------------- children
    def _start_child(self) -> None:
        if self.children >= self.limits.max_children:
            raise ChildCrashed(
                f"no fresh process is left for this task group after {self.children} ended early (the last "
                f"{self.last_problem})"
            )
        self.children += 1
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-{self.children}-", dir=self.zygote.root))
        submission = workdir / "submission"
        shutil.copytree(self.package_copy, submission / PACKAGE)
        memory = 0 if self.requested_device == "cuda" else self.limits.memory_mb
        pid, sock = self.zygote.spawn(
            {
                "workdir": str(workdir),
                "submission": str(submission),
                "device": self.requested_device,
                "limits": {"cpu_s": self.limits.cpu_s, "memory_mb": memory, "file_mb": self.limits.file_mb},
            }
        )
        self.child = (pid, sock, workdir)
        try:
            hello = wire.receive(sock, min(self.deadline, time.monotonic() + self.limits.start_timeout_s))
        except TimeoutError:
            tail = self._output_tail(workdir)
            self._stop_child()
            self.fatal = ProbeTimeout(self.limits.start_timeout_s, tail)
            raise self.fatal from None
        except (EOFError, OSError, wire.WireError):
            self.fatal = self._crash("while importing diffusion_models")
            raise self.fatal from None
        if not isinstance(hello, dict) or not hello.get("hello"):
            self.fatal = self._crash("after sending something other than its greeting")
            raise self.fatal
        if hello.get("device_error"):
            self._stop_child()
            raise GraderError(str(hello["device_error"]))
        self.device = str(hello.get("device", self.device))
        problem = hello.get("import_error")
        if problem:
            self.fatal = PackageImportError(problem["kind"], problem["message"], problem.get("where", ()))

    def _output_tail(self, workdir: Path) -> str:
        try:
            with open(workdir / "output.log", "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 2000))
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _stop_child(self) -> None:
        if self.child is not None:
            pid, sock, workdir = self.child
            kill_group(pid)
            sock.close()
            self.child = None
            self.zygote.exit_status(pid, timeout_s=1.0)
            shutil.rmtree(workdir, ignore_errors=True)

    def _crash(self, context: str) -> ChildCrashed:
        assert self.child is not None
        pid, sock, workdir = self.child
        sock.close()
        status = self.zygote.exit_status(pid)
        kill_group(pid)
        self.child = None
        tail = self._output_tail(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        self.last_problem = f"{exit_reason(status)} {context}".strip()
        return ChildCrashed(self.last_problem, tail)

    def close(self) -> None:
        self._stop_child()

    # -------------------------------------------------------------------- calls
    def call(self, probe: str, **inputs: Any) -> dict[str, Any]:
        """Run one probe; the same request twice gets the same answer without running again."""
        key = hashlib.sha256(wire.encode({"probe": probe, "inputs": inputs})).hexdigest()
        if key not in self.cache:
            try:
                self.cache[key] = self._call(probe, inputs)
            except (StudentError, ProbeTimeout, ChildCrashed, PackageImportError) as problem:
                self.cache[key] = problem
        answer = self.cache[key]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _call(self, probe: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.fatal is not None:
            raise self.fatal
        if time.monotonic() >= self.deadline:
            raise GroupTimeLimit(
                f"the time limit of {self.limits.time_s:g} s for task group {self.name!r} is spent"
            )
        if self.child is None:
            self._start_child()
            if self.fatal is not None:
                raise self.fatal
        assert self.child is not None
        pid, sock, workdir = self.child
        self.next_id += 1
        timeout = min(self.call_timeout_s, self.deadline - time.monotonic())
        try:
            sock.settimeout(max(timeout, 0.001))  # a child that stops reading cannot block the grader
            wire.send(sock, {"id": self.next_id, "probe": probe, "inputs": inputs})
            reply = wire.receive(sock, time.monotonic() + timeout)
        except TimeoutError as err:
            tail = self._output_tail(workdir)
            self._stop_child()
            self.last_problem = f"did not answer {probe} within {self.call_timeout_s:g} s"
            if timeout < self.call_timeout_s:
                raise GroupTimeLimit(
                    f"the time limit of {self.limits.time_s:g} s for task group {self.name!r} ran out during this check"
                ) from err
            raise ProbeTimeout(self.call_timeout_s, tail) from err
        except (EOFError, OSError, wire.WireError) as err:
            raise self._crash(f"while running {probe}") from err
        if not isinstance(reply, dict) or reply.get("id") != self.next_id:
            raise self._crash(f"after sending a reply that does not answer {probe}")
        if reply.get("ok"):
            outputs = reply.get("outputs")
            if not isinstance(outputs, dict):
                raise self._crash("after sending a malformed reply")
            return outputs
        error = reply.get("error") or {}
        raise StudentError(
            str(error.get("kind", "Error")), str(error.get("message", "")), error.get("where", ())
        )
