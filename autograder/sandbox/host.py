"""The grader's side of the child processes: the zygote's handle, and one session per task group.

The grader never imports the student's code (nor torch). It starts a zygote through a
:class:`ZygoteHandle`: a python with ``-I -S -B`` that gets the child's code
(:mod:`autograder.sandbox.child`, :mod:`autograder.sandbox.wire`, the fences
:mod:`autograder.sandbox.confine`, :mod:`autograder.sandbox.cgroups`, :mod:`autograder.sandbox.watchdog`,
the public probe modules) as text on stdin, so no grader file needs to be importable there. Each task group gets
a :class:`ChildSession`: a child forked from the zygote, with its own fresh folder, its own copy of
the submission, its own limits and fences. A call that times out or crashes the child costs that
call; the next call forks a fresh child (a few at most per group), until the group's time is spent.

A child's folder is ``<zygote root>/<group>-<n>-<random>/``, owned by the grader (mode 0711): its
``output.log`` (written by the zygote, read here) and ``home/`` (the child's working directory, HOME
and TMPDIR, the only place it may write, holding ``submission/diffusion_models``). The folder is
removed when the child ends, and the zygote's root when the grader closes.

The limits, and why (see :class:`Limits`): a task group's wall time and CPU time (from its Group),
4 GiB of memory above what the child shares with the zygote (the largest honest probe needs well
under 1 GiB; two workers' children still fit an 8 GiB machine), 64 processes or threads (a CPU
child runs one thread; CUDA adds a handful), 1 MiB of kept output (the feedback quotes 600
characters of it), files of at most 64 MiB and 256 MiB in all (nothing honest writes any).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..public.core import (
    ChildCrashed,
    GraderError,
    GroupTimeLimit,
    PackageImportError,
    ProbeTimeout,
    StudentError,
)
from . import wire
from .confine import without_fences

SANDBOX_DIR = Path(__file__).resolve().parent
AUTOGRADER_DIR = SANDBOX_DIR.parent
REPO_ROOT = AUTOGRADER_DIR.parent
PACKAGE = "diffusion_models"
CHILD_MODULES = ("wire", "confine", "cgroups", "watchdog", "child")  # of autograder/sandbox/
CHILD_PACKAGES = ("_grader", "_grader.sandbox", "_grader.public")

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
import _grader.sandbox.child
_grader.sandbox.child.zygote_main(int(sys.argv[1]), config)
"""

SIGNALS = {
    signal.SIGKILL: "killed (SIGKILL: out of memory, or stopped by the grader)",
    signal.SIGSEGV: "crashed with a segmentation fault (SIGSEGV)",
    signal.SIGXCPU: "ran out of CPU time (SIGXCPU)",
    signal.SIGABRT: "aborted (SIGABRT)",
    signal.SIGBUS: "crashed with a bus error (SIGBUS)",
    signal.SIGFPE: "crashed with a floating-point exception (SIGFPE)",
}


EXIT_CODES = {  # the ends a child chooses itself (autograder/sandbox/child.py)
    70: "its grader-side code failed (your code may have used up its memory or threads)",
    71: "it could not put its fences up",
}


def child_sources() -> dict[str, str]:
    """Module name -> source text of everything a child runs, under the private package ``_grader``.

    The packages are empty (``_grader.sandbox`` holds none of :mod:`autograder.sandbox`'s host side),
    so a child's relative imports resolve as in the repository: ``..public.probe`` from ``child``.
    """
    sources = {name: "" for name in CHILD_PACKAGES}
    for name in CHILD_MODULES:
        sources[f"_grader.sandbox.{name}"] = (SANDBOX_DIR / f"{name}.py").read_text(encoding="utf-8")
    for path in sorted((AUTOGRADER_DIR / "public").glob("*.py")):
        if path.stem not in ("__init__", "__main__"):  # __main__: the students' command line, not a probe
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
        "MPLBACKEND": "Agg",  # plots are drawn to files only: no display
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
    if status.get("limit"):
        return f"it was stopped because it {status['limit']}"
    if "signal" in status:
        number = int(status["signal"])
        return SIGNALS.get(number, f"killed by signal {number}")
    code = int(status["code"])
    if code in EXIT_CODES:
        return EXIT_CODES[code]
    if code == 0:
        return "it exited (did your code call sys.exit or os._exit?)"
    return f"it exited with code {code} (did your code call sys.exit or os._exit?)"


def read_tail(path: Path, size: int = 2000) -> str:
    """The end of a log the zygote wrote; never follows a link nor reads a file linked in from elsewhere."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return ""
        os.lseek(fd, max(0, info.st_size - size), os.SEEK_SET)
        return os.read(fd, size).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove a child's folder, whatever modes the child left inside it."""

    def make_writable(_function: Any, failed: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700, follow_symlinks=False)
        except OSError:
            pass
        try:
            if os.path.isdir(failed) and not os.path.islink(failed):
                shutil.rmtree(failed, ignore_errors=True)
            else:
                os.unlink(failed)
        except OSError:
            pass

    shutil.rmtree(path, onerror=make_writable)


def passable(folder: Path) -> bool:
    """Whether any user may pass through ``folder`` and every folder above it (o+x all the way down)."""
    try:
        folder = folder.resolve()
        return all(os.stat(p).st_mode & stat.S_IXOTH for p in (folder, *folder.parents))
    except OSError:
        return False


def zygote_parent(tmp_root: Path | None) -> Path | None:
    """Where the zygote's folder goes: ``tmp_root`` (None: the system's temporary folder), or elsewhere.

    A root grader gives each child a uid of its own, which must pass through every folder above its
    own; a ``tmp_root`` under a private folder (``/root``, pytest's 0700 ``/tmp/pytest-of-root``) is
    then swapped for the first passable temporary folder. If none is, the children keep
    CAP_DAC_READ_SEARCH instead (autograder/sandbox/confine.py, ``detect_own_uid``).
    """
    if os.geteuid() != 0:
        return tmp_root
    for candidate in (
        tmp_root,
        Path(tempfile.gettempdir()),
        Path("/tmp"),
        Path("/var/tmp"),
        Path("/dev/shm"),
    ):
        if candidate is not None and candidate.is_dir() and passable(candidate):
            return candidate
    return tmp_root


class ZygoteHandle:
    """The grader's handle on a zygote: a python that has imported torch once and forks fenced
    children on request (its side is :class:`autograder.sandbox.child.ForkServer`).

    ``protected``: folders no child may read (the repository is always one: hidden checks, the
    reference, the instructor's source); ``device`` decides which device files a child may open.
    """

    def __init__(
        self,
        python: str | None = None,
        threads: int = 1,
        start_timeout_s: float = 180.0,
        protected: tuple[Path, ...] = (),
        device: str = "auto",
        tmp_root: Path | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="grader-", dir=zygote_parent(tmp_root)))
        os.chmod(self.root, 0o711)  # a child with a uid of its own must pass through to its folder
        self.threads = threads
        self.exited: dict[int, dict[str, Any]] = {}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl = ours
        sources = child_sources()
        config = {
            "site": site_dirs(),
            "sources": sources,
            "packages": list(CHILD_PACKAGES),
            "preload": sorted(name for name in sources if name.startswith("_grader.public.")),
            "protected": [str(p) for p in (REPO_ROOT, self.root, *protected)],
            "device": device,
            "without": list(without_fences()),
        }
        self.log = open(self.root / "zygote.log", "wb")  # noqa: SIM115 (closed in close())
        os.chmod(self.root / "zygote.log", 0o600)
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
        self.sandbox: dict[str, Any] = ready[0].get("sandbox", {})

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        return read_tail(self.root / "zygote.log")

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
        try:
            self.ctl.settimeout(timeout_s)
            self.ctl.send(json.dumps({"cmd": "spawn", "threads": self.threads, **request}).encode())
        except OSError as err:
            raise GraderError(f"the grader's child server is gone ({err}): {self.log_tail()}") from err
        deadline = time.monotonic() + timeout_s
        while True:
            got = self._read(deadline)
            if got is None:
                raise GraderError(f"the grader's child server stopped answering: {self.log_tail()}")
            message, fds = got
            if "spawned" in message:
                return int(message["spawned"]), socket.socket(fileno=fds[0])

    def exit_status(self, pid: int, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """How child ``pid`` ended, once the zygote has swept up after it (None at the timeout)."""
        deadline = time.monotonic() + timeout_s
        while pid not in self.exited and self._read(deadline) is not None:
            pass
        return self.exited.get(pid)

    def close(self) -> None:
        try:
            self.ctl.close()
        finally:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_group(self.process.pid)
                self.process.wait()
            self.log.close()
            remove_tree(self.root)

    def __enter__(self) -> ZygoteHandle:
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
    """What one task group's children may use; the zygote's watchdog and the kernel hold them to it."""

    time_s: float  # wall time of the whole group
    cpu_s: float  # CPU seconds of each child, all its processes together (RLIMIT_CPU per process too)
    memory_mb: int  # memory above what a child shares with the zygote: RLIMIT_AS headroom on the CPU,
    # and for all its processes together (cgroup, watchdog) on every device
    file_mb: int = 64  # RLIMIT_FSIZE: the largest file a child may write
    disk_mb: int = 256  # all files in its folder together
    files: int = 10_000  # files and folders in its folder
    output_kb: int = 1024  # stdout and stderr kept in its log; the rest is dropped (never blocks it)
    processes: int = 64  # processes and threads at once (RLIMIT_NPROC with its own uid, pids cgroup)
    max_children: int = 4  # fresh children after crashes and timeouts, per group
    start_timeout_s: float = 60.0  # from fork to the child's hello (the submission's import)
    grace_s: float = 5.0  # the watchdog stops a child this long after its group's time is spent

    def for_child(self, device: str, wall_s: float) -> dict[str, Any]:
        """The limits a child gets, as the zygote and the child read them."""
        return {
            "cpu_s": self.cpu_s,
            "memory_mb": 0 if device == "cuda" else self.memory_mb,  # CUDA maps far more than it uses
            "group_memory_mb": self.memory_mb,
            "file_mb": self.file_mb,
            "disk_mb": self.disk_mb,
            "files": self.files,
            "output_kb": self.output_kb,
            "processes": self.processes,
            "wall_s": wall_s + self.grace_s,
        }


class Outputs(dict):
    """A probe's outputs; one that is missing is the child's doing (a replaced probe), never the grader's."""

    def __init__(self, probe: str, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.probe = probe

    def __missing__(self, key: str) -> Any:
        raise StudentError(
            "WrongResult",
            f"the answer to probe {self.probe} has no {key!r} (was the grader's code in your process replaced?)",
        )


class ChildSession:
    """Runs the probes of one task group in children of the zygote; the judge's side of a child.

    ``fatal``: the import problem an earlier group of the same submission met (a failed, crashed or
    hung import fails the same way again, so it is not paid for once per group).
    """

    def __init__(
        self,
        zygote: ZygoteHandle,
        name: str,
        package_copy: Path,
        device: str,
        limits: Limits,
        fatal: PackageImportError | ChildCrashed | ProbeTimeout | None = None,
    ) -> None:
        self.zygote, self.name, self.package_copy, self.limits = zygote, name, package_copy, limits
        self.requested_device = device
        self.device = device
        self.call_timeout_s = 30.0
        self.deadline = time.monotonic() + limits.time_s
        self.children = 0
        self.child: tuple[int, socket.socket, Path] | None = None
        # an import that failed, crashed or hung: it would again, so every later call gets it
        self.fatal: PackageImportError | ChildCrashed | ProbeTimeout | None = fatal
        self.last_problem = ""
        self.cache: dict[str, dict[str, Any] | Exception] = {}
        self.next_id = 0
        self.sandbox: dict[str, Any] = {}

    # -------------------------------------------------------------------- children
    def _start_child(self) -> None:
        if self.children >= self.limits.max_children:
            raise ChildCrashed(
                f"no fresh process is left for this task group after {self.children} ended early (the last "
                f"{self.last_problem})"
            )
        self.children += 1
        workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-{self.children}-", dir=self.zygote.root))
        os.chmod(workdir, 0o711)
        submission = workdir / "home" / "submission"
        shutil.copytree(self.package_copy, submission / PACKAGE)
        wall_s = max(0.0, self.deadline - time.monotonic())
        pid, sock = self.zygote.spawn(
            {
                "workdir": str(workdir),
                "submission": str(submission),
                "device": self.requested_device,
                "limits": self.limits.for_child(self.requested_device, wall_s),
            }
        )
        self.child = (pid, sock, workdir)
        start_deadline = time.monotonic() + self.limits.start_timeout_s
        try:
            hello = wire.receive(sock, min(self.deadline, start_deadline))
        except TimeoutError:
            tail = self._output_tail(workdir)
            self._stop_child()
            if start_deadline > self.deadline:  # the group's time ran out, not the import's
                raise GroupTimeLimit(
                    f"the time limit of {self.limits.time_s:g} s for task group {self.name!r} ran out "
                    "while diffusion_models was being imported"
                ) from None
            self.fatal = ProbeTimeout(self.limits.start_timeout_s, tail)
            raise self.fatal from None
        except Exception as err:  # EOF, a broken or hostile message: the child is done for
            self.fatal = self._crash("while importing diffusion_models", err)
            raise self.fatal from None
        if not isinstance(hello, dict) or not hello.get("hello"):
            self.fatal = self._crash("after sending something other than its greeting")
            raise self.fatal
        if hello.get("sandbox_error"):
            self._stop_child()
            raise GraderError(f"a child could not fence itself: {hello['sandbox_error']}")
        if hello.get("device_error"):
            self._stop_child()
            raise GraderError(str(hello["device_error"]))
        self.device = str(hello.get("device", self.device))
        self.sandbox = hello.get("sandbox") if isinstance(hello.get("sandbox"), dict) else {}
        problem = hello.get("import_error")
        if problem:
            self.fatal = PackageImportError(*_problem(problem))

    def _output_tail(self, workdir: Path) -> str:
        return read_tail(workdir / "output.log")

    def _stop_child(self) -> None:
        if self.child is not None:
            pid, sock, workdir = self.child
            kill_group(pid)
            sock.close()
            self.child = None
            self.zygote.exit_status(pid)
            remove_tree(workdir)

    def _crash(self, context: str, error: Exception | None = None) -> ChildCrashed:
        """Stop the child after its channel broke; say why: its end, or the message it sent."""
        assert self.child is not None
        pid, sock, workdir = self.child
        sock.close()
        refused = error is not None and not isinstance(error, EOFError | ConnectionError)
        status = None if refused else self.zygote.exit_status(pid)
        kill_group(pid)
        if status is None:  # killed above: wait for the zygote's sweep before its folder goes
            status = self.zygote.exit_status(pid)
        self.child = None
        tail = self._output_tail(workdir)
        remove_tree(workdir)
        if refused and not (status and status.get("limit")):
            reason = f"it sent the grader a message it refuses ({type(error).__name__}: {str(error)[:200]})"
        else:
            reason = exit_reason(status)
        self.last_problem = f"{reason} {context}".strip()
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
        except Exception as err:  # EOF, or a message too big, too deep, malformed: the child is done for
            raise self._crash(f"while running {probe}", err) from err
        if not isinstance(reply, dict) or reply.get("id") != self.next_id:
            raise self._crash(f"after sending a reply that does not answer {probe}")
        if reply.get("ok"):
            outputs = reply.get("outputs")
            if not isinstance(outputs, dict):
                raise self._crash("after sending a malformed reply")
            return Outputs(probe, outputs)
        raise StudentError(*_problem(reply.get("error")))


def _problem(error: Any) -> tuple[str, str, tuple[str, ...]]:
    """kind, message, frames of an error a child reported, whatever shape it came in."""
    error = error if isinstance(error, dict) else {}
    where = error.get("where")
    frames = tuple(str(frame)[:300] for frame in where[-5:]) if isinstance(where, list) else ()
    return str(error.get("kind", "Error"))[:100], str(error.get("message", ""))[:2000], frames
