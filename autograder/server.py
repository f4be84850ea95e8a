"""The zygote and its children: the only grader code that runs beside student code.

The grader starts one zygote per grading run (``python -I -S -B``, so neither the kit nor anything
from the environment is importable): it receives this module, :mod:`autograder.wire` and the public
probe modules as source text over stdin, imports torch once, and then forks one child per task group
on request, so a child starts in milliseconds instead of re-importing torch. A child:

1. starts a new session (so the grader can kill it and everything it spawned at once), applies the
   resource limits it was given, moves into its own fresh folder and sends its stdout and stderr to a
   log file there;
2. imports the submission's ``diffusion_models`` from its own copy;
3. answers probe requests on its socket until the grader closes it: each reply holds plain arrays,
   or the exception the student's code raised (kind, message, the submission's own frames).

It never judges anything. The zygote tells the grader how each child ended (exit code or signal).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from . import wire

PACKAGE = "diffusion_models"


# ------------------------------------------------------------------------------------ the zygote
def zygote_main(ctl_fd: int, config: dict[str, Any]) -> None:
    """Serve spawn requests on the control socket until it closes; report each child's exit."""
    import numpy  # noqa: F401  (preloaded once, shared by every child)
    import torch  # noqa: F401  (never touches CUDA here: each child initialises its own)

    for name in config["preload"]:
        importlib.import_module(name)
    ctl = socket.socket(fileno=ctl_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    ctl.send(json.dumps({"ready": True, "torch": torch.__version__}).encode())
    try:
        while True:
            readable, _, _ = select.select([ctl, wake_r], [], [])
            if wake_r in readable:
                os.read(wake_r, 4096)
                _reap(ctl, children)
            if ctl in readable:
                data = ctl.recv(65536)
                if not data:
                    break
                request = json.loads(data)
                if request.get("cmd") == "spawn":
                    pid = _spawn(ctl, request, (wake_r, wake_w))
                    children.add(pid)
    finally:
        for pid in children:
            _kill_group(pid)
        os._exit(0)


def _reap(ctl: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        if os.WIFSIGNALED(status):
            ended = {"signal": os.WTERMSIG(status)}
        else:
            ended = {"code": os.WEXITSTATUS(status)}
        ctl.send(json.dumps({"exited": pid, **ended}).encode())


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _spawn(ctl: socket.socket, request: dict[str, Any], keep_closed: tuple[int, int]) -> int:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            ctl.close()
            theirs.close()
            for fd in keep_closed:
                os.close(fd)
            code = child_main(ours, request)
        finally:
            os._exit(code)
    ours.close()
    socket.send_fds(ctl, [json.dumps({"spawned": pid}).encode()], [theirs.fileno()])
    theirs.close()
    return pid


# ------------------------------------------------------------------------------------ a child
def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    old_soft, old_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, old_hard), min(hard, old_hard)
    resource.setrlimit(kind, (soft, hard))


def _address_space_in_use() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def apply_limits(limits: dict[str, Any]) -> None:
    """CPU seconds, memory (address space, CPU grading only: CUDA maps far more than it uses), file size."""
    cpu = int(limits["cpu_s"])
    _limit(resource.RLIMIT_CPU, cpu, cpu + 5)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 2**20)
    if limits.get("memory_mb"):
        _limit(resource.RLIMIT_AS, _address_space_in_use() + int(limits["memory_mb"]) * 2**20)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails with an error instead


def _redirect_output(log_path: Path, keep: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def child_main(sock: socket.socket, request: dict[str, Any]) -> int:
    os.setsid()
    workdir = Path(request["workdir"])
    os.chdir(workdir)
    _redirect_output(workdir / "output.log", sock.fileno())
    apply_limits(request["limits"])
    import torch

    from .public.probe import ProbeContext, describe_exception, run_probe

    torch.manual_seed(0)
    torch.set_num_threads(int(request["threads"]))
    device = request["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        wire.send(
            sock,
            {"hello": True, "device": device, "device_error": "device='cuda' asked for, but no CUDA GPU"},
        )
        return 0
    submission = str(Path(request["submission"]).resolve())
    package_dir = Path(submission) / PACKAGE
    sys.path.insert(0, submission)
    import_error = None
    try:
        package = importlib.import_module(PACKAGE)
    except (
        BaseException
    ) as err:  # SystemExit and KeyboardInterrupt too: nothing a submission does ends us here
        import_error = describe_exception(err, package_dir)
    wire.send(sock, {"hello": True, "device": device, "import_error": import_error})
    ctx = None
    while True:
        try:
            message = wire.receive(sock)
        except (EOFError, OSError, wire.WireError):
            return 0
        reply: dict[str, Any] = {"id": message.get("id")}
        try:
            if import_error is not None:
                reply.update(ok=False, error=import_error, import_error=True)
            else:
                ctx = ctx or ProbeContext(package, device)
                reply.update(ok=True, outputs=run_probe(ctx, message["probe"], message["inputs"]))
        except BaseException as err:
            reply.update(ok=False, error=describe_exception(err, package_dir))
        try:
            wire.send(sock, reply)
        except wire.WireError as err:
            wire.send(
                sock,
                {
                    "id": message.get("id"),
                    "ok": False,
                    "error": {"kind": "WrongResult", "message": str(err), "where": []},
                },
            )
