"""The zygote and its children: the only grader code that runs beside student code.

The grader starts one zygote per :class:`~autograder.sandbox.host.ZygoteHandle` (``python -I -S -B``,
so neither the kit nor anything from the environment is importable): it receives this module,
:mod:`autograder.sandbox.wire`, :mod:`autograder.sandbox.confine`, :mod:`autograder.sandbox.cgroups`,
:mod:`autograder.sandbox.watchdog` and the public probe modules as source text over stdin, imports torch
once, learns what fences this machine offers (:func:`autograder.sandbox.confine.platform_plan`), and
then serves as a :class:`ForkServer`: it forks one child per task group on request, so a child starts
in milliseconds instead of re-importing torch. The zygote is a child subreaper: nothing a child starts can leave its watch.

A child:

1. starts a new session, moves into its own fresh folder, sends its stdout and stderr to a pipe the
   zygote drains into a capped log, joins its cgroup and fences itself (:func:`autograder.sandbox.confine.confine`:
   limits, network, Landlock, seccomp, its own uid);
2. imports the submission's ``diffusion_models`` from its own copy;
3. answers probe requests on its socket until the grader closes it: each reply holds plain arrays,
   or the exception the student's code raised (kind, message, the submission's own frames).

It never judges anything. The zygote watches every child (:mod:`autograder.sandbox.watchdog`), kills it and
all its processes when it passes a limit, sweeps up whatever it left when it ends, and then tells
the grader how it ended: exit code or signal, and the limit it passed, if any.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import cgroups, confine, watchdog, wire

PACKAGE = "diffusion_models"
# Imported by the student's package (its plotting helpers); preloading it saves every child about
# 0.3 s (its font cache is read once, here). MPLBACKEND=Agg in the environment: no display is touched.
OPTIONAL_PRELOAD = ("matplotlib.pyplot",)


# ------------------------------------------------------------------------------------ the zygote
class ForkServer:
    """The zygote's forking server: its control socket, its live children, their pumps, groups and watches."""

    def __init__(self, ctl: socket.socket, config: dict[str, Any]) -> None:
        self.ctl = ctl
        self.config = config
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.watches: dict[int, watchdog.ChildWatch] = {}
        self.pumps: dict[int, watchdog.OutputPump] = {}
        self.groups: dict[int, cgroups.ChildGroup | None] = {}
        without = tuple(config.get("without", ()))
        self.hierarchy = cgroups.Hierarchy(enabled="cgroup" not in without)
        self.hierarchy.remove_stale()
        reach = (str(Path.cwd() / "zygote.log"),)  # the children's folders are made beside it
        self.plan = confine.platform_plan(
            config["protected"], config["device"], tuple(config["site"]), without, reach
        )
        self.plan["cgroup"] = self.hierarchy.describe()
        self.spawned = 0

    def features(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "landlock_abi": plan["landlock_abi"],
            "seccomp": plan["seccomp"],
            "network_namespace": plan["network_namespace"],
            "own_uid": plan["own_uid"],
            "keep_read_search": plan["keep_read_search"],
            "root": plan["root"],
            "cgroup": plan["cgroup"],
            "readable": plan["readable"],
        }

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        next_tick = time.monotonic()
        while True:
            pumps = [p.read_fd for p in self.pumps.values() if p.open]
            timeout = max(0.0, next_tick - time.monotonic()) if self.watches else None
            readable, _, _ = select.select([self.ctl, self.wake_r, *pumps], [], [], timeout)
            for pump in list(self.pumps.values()):
                if pump.open and pump.read_fd in readable:
                    pump.pump()
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
                self.reap()
            if self.ctl in readable:
                data = self.ctl.recv(65536)
                if not data:
                    return
                request = json.loads(data)
                if request.get("cmd") == "spawn":
                    self.spawn(request)
            if self.watches and time.monotonic() >= next_tick:
                self.tick()
                next_tick = time.monotonic() + watchdog.TICK_S

    def tick(self) -> None:
        """Check every live child against its limits; kill one that passed one."""
        table = watchdog.process_table()
        live = set(self.watches)
        strays = watchdog.strays(live, table)
        if len(live) > 1 and strays:  # an orphan that no single child can be charged with
            watchdog.kill_all(strays)
            strays = set()
        for pid, watch in self.watches.items():
            if watch.verdict is not None:
                continue  # killed already; its end is on its way
            group = self.groups.get(pid)
            if group is not None and group.oom_kills():
                watch.verdict = (
                    f"used more than {watch.limits['group_memory_mb']} MiB of memory (all its processes "
                    "together), so the kernel stopped one of its processes"
                )
            else:
                watch.verdict = watch.check(table, strays)
            if watch.verdict is not None:
                watchdog.kill_all([p.pid for p in watch.processes(table, strays)])

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.watches:
                self.finish(pid, status)

    def finish(self, pid: int, status: int) -> None:
        """A child ended: kill what it left, drain its output, remove its group, report its end."""
        watch = self.watches.pop(pid)
        group = self.groups.pop(pid, None)
        live = set(self.watches)
        extra = group.pids() if group is not None else set()
        killed = watchdog.sweep({pid}, live, extra)
        if group is not None:
            watchdog.kill_all(group.pids())
            group.remove()
        pump = self.pumps.pop(pid, None)
        if pump is not None:
            pump.drain()
        ended: dict[str, Any] = {"exited": pid, "leftover_processes": killed}
        if os.WIFSIGNALED(status):
            ended["signal"] = os.WTERMSIG(status)
        else:
            ended["code"] = os.WEXITSTATUS(status)
        if watch.verdict:
            ended["limit"] = watch.verdict
        self.ctl.send(json.dumps(ended).encode())

    def spawn(self, request: dict[str, Any]) -> None:
        self.spawned += 1
        limits = request["limits"]
        workdir = Path(request["workdir"])
        home = workdir / "home"
        group = self.hierarchy.create(str(self.spawned), limits, int(request["threads"]))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        base_anon = watchdog.anonymous_kb(os.getpid())
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                code = child_main(ours, out_w, request, self.plan, group)
            except BaseException as err:  # the grader's side failed (out of memory, a closed channel)
                try:
                    os.write(
                        2,
                        f"\n[the grader's side of this process failed: {type(err).__name__}: {err}]\n".encode(),
                    )
                except BaseException:
                    pass
            finally:
                os._exit(code)
        ours.close()
        os.close(out_w)
        self.watches[pid] = watchdog.ChildWatch(pid, limits, int(request["threads"]), home, base_anon)
        self.pumps[pid] = watchdog.OutputPump(out_r, workdir / "output.log", int(limits["output_kb"]) * 1024)
        self.groups[pid] = group
        socket.send_fds(self.ctl, [json.dumps({"spawned": pid}).encode()], [theirs.fileno()])
        theirs.close()

    def close(self) -> None:
        live = set(self.watches)
        watchdog.sweep(live, set())
        for group in self.groups.values():
            if group is not None:
                watchdog.kill_all(group.pids())
                group.remove()
        for pump in self.pumps.values():
            pump.finish()


def zygote_main(ctl_fd: int, config: dict[str, Any]) -> None:
    """Serve spawn requests on the control socket until it closes; report each child's end."""
    import numpy  # noqa: F401  (preloaded once, shared by every child)
    import torch  # noqa: F401  (never touches CUDA here: each child initialises its own)

    for name in config["preload"]:
        importlib.import_module(name)
    for name in OPTIONAL_PRELOAD:  # what the student's package imports anyway: once here, not per child
        try:
            importlib.import_module(name)
        except Exception:  # not installed, or broken: each child then imports (and fails) on its own
            pass
    confine.become_subreaper()
    ctl = socket.socket(fileno=ctl_fd)
    server = None
    try:
        server = ForkServer(ctl, config)
        ctl.send(
            json.dumps({"ready": True, "torch": torch.__version__, "sandbox": server.features()}).encode()
        )
        server.serve()
    finally:
        if server is not None:
            server.close()
        os._exit(0)


# ------------------------------------------------------------------------------------ a child
def _redirect_output(out_fd: int, keep: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def child_main(
    sock: socket.socket,
    out_fd: int,
    request: dict[str, Any],
    plan: dict[str, Any],
    group: cgroups.ChildGroup | None,
) -> int:
    os.setsid()
    home = Path(request["workdir"]) / "home"
    os.chdir(home)
    _redirect_output(out_fd, sock.fileno())
    try:
        if group is not None:
            group.join()
        applied = confine.confine(plan, request["limits"], home)
    except BaseException as err:  # never run student code less fenced than planned
        wire.send(sock, {"hello": True, "sandbox_error": f"{type(err).__name__}: {err}"})
        return 71
    os.environ.update(HOME=str(home), TMPDIR=str(home))
    tempfile.tempdir = str(home)
    import torch

    from ..public.probe import ProbeContext, describe_exception, run_probe

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
    wire.send(sock, {"hello": True, "device": device, "import_error": import_error, "sandbox": applied})
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
