"""The fenced kernel's side: raise the fences of its plan on this process, then run ipykernel in it.

    python -I -c 'import sys; sys.path.insert(0, KIT); from autograder.nbgrader.launcher import main; main()' \
        PLAN.json -f CONNECTION_FILE [ipykernel's arguments]

Started by :class:`autograder.nbgrader.kernel.FencedKernelManager` (nbgrader's process) in the notebook's
autograded folder, with a scrubbed environment (``-I``: no ``PYTHON*`` variable, no user site, neither
the folder nor the script's on ``sys.path``, so no file of the student's runs before the fences are up).
In order:

1. What the notebook needs of the kit is imported while it can still be read: this module's package and
   :mod:`autograder.nbgrader.cells` (the hidden cells' helpers); ``autograder/public/`` (the public
   checks, also in the student's folder) stays readable.
2. :func:`raise_fences`, with :mod:`autograder.sandbox.confine`'s functions: no core files, a process limit
   where the kernel has a uid of its own; a network namespace; the folders chowned to that uid;
   no_new_privs and Landlock (reads: the interpreter, the system, the public checks; writes: its
   autograded folder and its private folder; no TCP); seccomp (no ``socket()`` but AF_UNIX, no ptrace,
   ...); the uid itself; the parent-death signal.
3. ipykernel starts and binds its channels (unix sockets in the private folder: the ipc transport);
   then a second seccomp filter refuses ``socket()`` of every family, so the student's code opens none.
4. The autograded folder goes first on ``sys.path`` (the student's ``diffusion_models``, as a notebook
   started there has it), and the kernel serves nbgrader.

A fence the plan promised that cannot be raised here stops the kernel (nbgrader then reports the
notebook as failed): a kernel is never less fenced than nbgrader's log says.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from autograder.sandbox import confine

KERNEL_TASKS = 512  # RLIMIT_NPROC of a kernel with a uid of its own: torch's threads, a fork bomb's end


def raise_fences(plan: dict[str, Any]) -> dict[str, Any]:
    """Fence this process as ``plan`` (:func:`autograder.nbgrader.kernel.kernel_plan`) says; what is in
    force. ``plan["writable"]``: the autograded folder and the private folder, the only ones it writes."""
    applied: dict[str, Any] = {}
    uid = confine.uid_for(os.getpid()) if plan["own_uid"] else None
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (KERNEL_TASKS, KERNEL_TASKS))
    if plan["network_namespace"]:
        applied["network"] = confine.new_network_namespace()
    for folder in plan["writable"]:
        if uid is not None:
            confine.chown_tree(Path(folder), uid)
    os.chmod(plan["private"], 0o700)
    confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
    if plan["landlock_abi"]:
        applied["landlock"] = confine.restrict_filesystem(
            plan["landlock_abi"], plan["readable"], plan["devices"], plan["writable"]
        ) | {"abi": plan["landlock_abi"]}
    if plan["seccomp"]:  # ipykernel still has to bind its unix sockets: AF_UNIX only, for now
        applied["seccomp_denies"] = confine.deny_syscalls(allow_unix_sockets=True)
    applied.update(confine.drop_identity(uid, plan["keep_read_search"]))
    confine.set_parent_death_signal()
    if os.getppid() == 1:  # nbgrader died before the signal was armed
        os._exit(70)
    return applied


def _no_pipe(thread: Any) -> None:
    """ipykernel's IOPub pipe for output of forked children: a TCP socket on 127.0.0.1, which libzmq
    aborts on when it cannot resolve the interface; off, as ipykernel has it where that bind fails (a
    forked child's output is then not shown)."""
    thread._pipe_flag = False


def _system_without_pty(shell: Any) -> Any:
    """IPython's ``!cmd`` through pipes: its own runs the command in a pseudo-terminal, and the kernel
    opens none (the terminals in /dev/pts are other users'). The output goes to the cell as usual."""

    def system(cmd: str) -> None:
        done = subprocess.run(
            shell.var_expand(cmd, depth=1),
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        sys.stdout.write(done.stdout)
        shell.user_ns["_exit_code"] = done.returncode

    return system


def main(argv: list[str] | None = None) -> None:
    """``PLAN.json`` then ipykernel's own arguments (``-f CONNECTION_FILE`` first)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or not argv[0].endswith(".json"):
        raise SystemExit("usage: launcher PLAN.json -f CONNECTION_FILE [ipykernel arguments]")
    plan = json.loads(Path(argv[0]).read_text(encoding="utf-8"))

    # 1. the kit's part of the notebook, while the kit can still be read; nothing else of it after
    import autograder.nbgrader.cells  # noqa: F401
    import autograder.public  # noqa: F401

    sys.path[:] = [p for p in sys.path if p != plan["kit"]]
    from ipykernel import iostream
    from ipykernel.kernelapp import IPKernelApp

    # 2. the fences
    raise_fences(plan)

    # 3. ipykernel binds its channels, then no socket of any family
    iostream.IOPubThread._setup_pipe_in = _no_pipe
    app = IPKernelApp.instance()
    app.initialize(argv[1:])
    if plan["seccomp"]:
        confine.deny_syscalls()

    # 4. the student's package and public_checks, from the autograded folder (the kernel's cwd); `!cmd`
    # without a pseudo-terminal (none can be opened), its output captured all the same
    sys.path.insert(0, "")
    app.shell.system = _system_without_pty(app.shell)
    app.start()
