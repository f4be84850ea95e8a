"""Which fences this platform has, found without the grader: the fence tests' own judge of "can it be fenced".

The grader decides what to raise from its own detection (autograder/sandbox/confine.py, ``detect_*``); a
test that asked that detection whether to run would be switched off by the very bug it should catch. So this module asks the
kernel itself, from a plain child process (``python -I -S`` running this file: the standard library
only, nothing of the kit imported), with a small fence of its own per feature, each in a throwaway fork
that then tries the forbidden thing:

- ``landlock``: a ruleset that handles reading and writing files and grants nothing; reading and
  appending to a file the parent made must then fail with EACCES.
- ``landlock-signals``: a ruleset that scopes signals (Landlock ABI 6); ``kill(parent, 0)`` must then
  fail with EPERM.
- ``seccomp``: a filter that answers ``socket()`` with EPERM; ``socket(AF_INET)`` must then fail.
- ``netns``: a fresh network namespace (inside a user namespace when not root); a connection to the
  parent's listening socket on 127.0.0.1 must then fail.
- ``uid``: as root, a fork that takes an unused uid; appending to a root-owned 0644 file must then fail.

``KIT_REQUIRE_FENCES`` (comma-separated names of :data:`FENCES`, or ``all``) names fences the machine is
known to have: a test whose guarantee rests on one of them then fails when it is missing, instead of
being skipped (``.ci/run`` sets it for the CI machine). ``AUTOGRADER_WITHOUT`` (the grader's switch for
grading as a platform without some fences) is read here too, on its own: a fence it names is expected
down in the children, and may not be required at the same time.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

FENCES = ("landlock", "landlock-signals", "seccomp", "netns", "uid")
REQUIRE_ENV = "KIT_REQUIRE_FENCES"
WITHOUT_ENV = "AUTOGRADER_WITHOUT"
GRADER_NAMES = {  # AUTOGRADER_WITHOUT's names (autograder/sandbox/confine.py FENCES) -> the fences here
    "landlock": ("landlock", "landlock-signals"),
    "seccomp": ("seccomp",),
    "netns": ("netns",),
    "uid": ("uid",),
    "cgroup": (),
}
SOCKET_SYSCALL = {"x86_64": 41, "aarch64": 198}


# ---------------------------------------------------------------------------------- the child's side
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _ok(result: int) -> None:
    if result < 0:
        raise OSError(ctypes.get_errno(), "system call failed")


def _landlock(libc: ctypes.CDLL, handled_fs: int, scoped: int) -> None:
    attr = struct.pack("=QQQ", handled_fs, 0, scoped) if scoped else struct.pack("=Q", handled_fs)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(444, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))  # create_ruleset
    _ok(ruleset)
    _ok(libc.prctl(38, 1, 0, 0, 0))  # PR_SET_NO_NEW_PRIVS
    _ok(libc.syscall(446, ruleset, 0))  # landlock_restrict_self


def _refused(action, *numbers: int) -> bool:
    try:
        action()
    except OSError as err:
        return err.errno in numbers
    return False


def _try_landlock(target: str) -> bool:
    _landlock(_libc(), (1 << 1) | (1 << 2), 0)  # WRITE_FILE | READ_FILE, no rule grants either
    reading = _refused(lambda: open(target, "rb").close(), errno.EACCES)
    writing = _refused(lambda: open(target, "ab").close(), errno.EACCES)
    return reading and writing


def _try_landlock_signals(_target: str) -> bool:
    _landlock(_libc(), 1 << 2, 1 << 1)  # SCOPE_SIGNAL
    return _refused(lambda: os.kill(os.getppid(), 0), errno.EPERM)


def _try_seccomp(_target: str) -> bool:
    number = SOCKET_SYSCALL.get(platform.machine())
    if number is None:
        return False
    libc = _libc()

    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    program = [
        op(0x20, 0),  # load seccomp_data.nr
        op(0x15, number, 0, 1),  # socket?
        op(0x06, 0x00050000 | errno.EPERM),  # then EPERM
        op(0x06, 0x7FFF0000),  # else allow
    ]
    code = b"".join(program)
    filters = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("=HxxxxxxQ", len(program), ctypes.addressof(filters))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    _ok(libc.prctl(38, 1, 0, 0, 0))  # PR_SET_NO_NEW_PRIVS
    _ok(libc.prctl(22, 2, ctypes.addressof(fprog_buffer), 0, 0))  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    return _refused(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM), errno.EPERM)


def _try_netns(port: str) -> bool:
    libc = _libc()
    flags = 0x40000000 if os.geteuid() == 0 else 0x10000000 | 0x40000000  # CLONE_NEWNET (| CLONE_NEWUSER)
    _ok(libc.unshare(flags))
    return _refused(
        lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=2).close(),
        errno.ENETUNREACH,
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.EADDRNOTAVAIL,
    ) and [name for _, name in socket.if_nameindex()] == ["lo"]


def _try_uid(target: str) -> bool:
    if os.geteuid() != 0:
        return False
    uid = 0x7D000000 + os.getpid()  # far from real users and from the grader's (0x7E000000 + pid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    return os.getuid() == uid and _refused(lambda: open(target, "ab").close(), errno.EACCES)


TRIALS = {
    "landlock": _try_landlock,
    "landlock-signals": _try_landlock_signals,
    "seccomp": _try_seccomp,
    "netns": _try_netns,
    "uid": _try_uid,
}


def _in_fork(trial, argument: str) -> bool:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if trial(argument) else 1
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _try_all() -> dict[str, bool]:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "parents-file"
        target.write_text("the parent's")
        target.chmod(0o644)
        os.chmod(folder, 0o755)
        listener = socket.create_server(("127.0.0.1", 0))
        port = str(listener.getsockname()[1])
        with listener:
            return {
                name: _in_fork(trial, port if name == "netns" else str(target))
                for name, trial in TRIALS.items()
            }


# ---------------------------------------------------------------------------------- the tests' side
@cache
def available() -> dict[str, bool]:
    """Fence -> whether this platform has it, as a plain child process found by trying it."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(Path(__file__).resolve())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the fence trial failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout)
    return {name: bool(found.get(name)) for name in FENCES}


def _names(variable: str, known: dict | tuple) -> set[str]:
    value = os.environ.get(variable, "")
    names = {name.strip() for name in value.split(",") if name.strip()}
    if variable == REQUIRE_ENV and names == {"all"}:
        return set(FENCES)
    unknown = sorted(names - set(known))
    if unknown:
        raise ValueError(f"{variable} names unknown fences {unknown}; the fences are {sorted(known)}")
    return names


def required() -> set[str]:
    """The fences KIT_REQUIRE_FENCES says this machine has."""
    return _names(REQUIRE_ENV, FENCES)


def left_down() -> set[str]:
    """The fences AUTOGRADER_WITHOUT tells the grader to leave down, in this module's names."""
    return {fence for name in _names(WITHOUT_ENV, GRADER_NAMES) for fence in GRADER_NAMES[name]}


def expected() -> dict[str, bool]:
    """Fence -> whether the grader's children should be held by it: the platform has it, and it is not
    left down on purpose."""
    down = left_down()
    return {name: has and name not in down for name, has in available().items()}


def missing_required() -> list[str]:
    """Required fences the platform lacks or that are left down: each one is a failure, never a skip."""
    down, has = left_down(), available()
    return sorted(
        f"{name} ({'AUTOGRADER_WITHOUT leaves it down' if name in down else 'this platform does not have it'})"
        for name in required()
        if name in down or not has[name]
    )


def skip_unless(fences: tuple[str, ...], why: str, in_children: bool = True) -> None:
    """Skip the calling test when none of ``fences`` is in force, saying ``why``; fail instead when
    KIT_REQUIRE_FENCES requires one of them.

    ``in_children``: in force in the grader's children (the platform has it and AUTOGRADER_WITHOUT does
    not leave it down); else only whether the platform has it (a test that raises the fence itself).
    """
    import pytest

    __tracebackhide__ = True  # pytest reports the test that skipped, not this line
    found = expected() if in_children else available()
    if any(found[name] for name in fences):
        return
    demanded = sorted(required() & set(fences))
    if demanded:
        pytest.fail(f"{REQUIRE_ENV} requires {', '.join(demanded)}, but it is not in force: {why}")
    pytest.skip(why)


if __name__ == "__main__":
    print(json.dumps(_try_all()))
