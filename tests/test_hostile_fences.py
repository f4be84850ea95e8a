"""The fences one by one, in throwaway forks of the test process: what each lets through and what not.

tests/test_hostile.py shows them holding against whole hostile submissions; these pin each part down
(and skip, saying why, where the platform lacks the feature: as tests/kernel_fences.py finds it, never
as the grader's own detection does; with KIT_REQUIRE_FENCES naming the feature, they fail instead).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import kernel_fences

from autograder.sandbox import confine, host, watchdog
from kit import REPO_ROOT


def in_fork(action) -> int:
    """Run ``action()`` in a fork; its exit code (0: it returned True)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if action() else 1
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_the_platform_has_every_fence_it_is_required_to_have():
    """KIT_REQUIRE_FENCES (set by .ci/run) names the fences the machine is known to have."""
    assert kernel_fences.missing_required() == [], (
        f"{kernel_fences.REQUIRE_ENV}={os.environ.get(kernel_fences.REQUIRE_ENV)} "
        f"but the platform has {kernel_fences.available()}"
    )


def test_the_zygote_plans_every_fence_the_platform_has():
    """The grader's detection (what its children get) against the fences tried without them."""
    has = kernel_fences.available()
    plan = confine.platform_plan([str(REPO_ROOT)], "cpu")
    assert {
        "landlock": plan["landlock_abi"] > 0,
        "landlock-signals": plan["landlock_abi"] >= 6,
        "seccomp": plan["seccomp"],
        "netns": plan["network_namespace"],
        "uid": plan["own_uid"],
    } == has


def test_a_protected_folder_inside_a_granted_one_is_granted_around(tmp_path):
    for name in ("a/secret/inside", "a/open", "b"):
        (tmp_path / name).mkdir(parents=True)
    granted = confine._grant_except(tmp_path, [tmp_path / "a" / "secret"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in granted) == ["a/open", "b"]
    assert confine._grant_except(tmp_path / "a" / "secret", [tmp_path / "a" / "secret"]) == []


def test_nothing_of_the_repository_is_readable_but_the_virtual_environment():
    readable = [Path(p) for p in confine.readable_paths([str(REPO_ROOT)], "cpu")["readable"]]
    for path in readable:
        assert not REPO_ROOT.is_relative_to(path), f"{path} holds the repository"
        if path.is_relative_to(REPO_ROOT):
            assert path.is_relative_to(REPO_ROOT / ".venv"), path


def test_a_root_grader_moves_its_children_out_of_a_private_folder(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    parent = host.zygote_parent(private)
    if os.geteuid() == 0:  # its children's uids could not pass through a 0700 folder
        assert parent is not None and parent != private and host.passable(parent)
    else:  # its children keep its uid
        assert parent == private


def test_a_child_uid_that_cannot_reach_its_folder_keeps_read_search_alone(tmp_path):
    kernel_fences.skip_unless(("uid",), "only a root grader gives its children uids of their own", False)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "zygote.log").write_text("")
    assert confine.detect_own_uid([], (str(private / "zygote.log"),)) == {
        "own_uid": True,
        "keep_read_search": True,
    }
    if host.passable(Path(sys.base_prefix)):
        assert confine.detect_own_uid([sys.base_prefix], ("/",))["keep_read_search"] is False


def test_landlock_reads_only_what_is_granted_and_writes_only_the_home(tmp_path):
    kernel_fences.skip_unless(
        ("landlock",), "the kernel has no Landlock (Linux < 5.13 or not enabled)", False
    )
    (tmp_path / "home").mkdir()
    (tmp_path / "granted").mkdir()
    (tmp_path / "granted" / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")

    def fenced() -> bool:
        confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
        confine.restrict_filesystem(
            confine.landlock_abi(), [str(tmp_path / "granted")], [], [str(tmp_path / "home")]
        )
        assert (tmp_path / "granted" / "ok.txt").read_text() == "ok"
        (tmp_path / "home" / "mine.txt").write_text("mine")
        for forbidden in (
            lambda: (tmp_path / "secret.txt").read_text(),
            lambda: (tmp_path / "granted" / "new.txt").write_text("x"),
            lambda: (REPO_ROOT / "autograder" / "closed_forms.py").read_text(),
        ):
            try:
                forbidden()
            except PermissionError:
                continue
            return False
        return True

    assert in_fork(fenced) == 0
    assert (tmp_path / "home" / "mine.txt").read_text() == "mine"


def test_seccomp_refuses_sockets_but_not_socket_pairs():
    kernel_fences.skip_unless(
        ("seccomp",),
        "seccomp rules are written for x86_64 and aarch64 only, and this platform must allow a filter",
        False,
    )

    def fenced() -> bool:
        confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
        confine.deny_syscalls()
        socket.socketpair()
        for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            try:
                socket.socket(family, socket.SOCK_STREAM)
            except PermissionError:
                continue
            return False
        return True

    assert in_fork(fenced) == 0


def test_the_output_pump_keeps_the_head_and_the_tail_and_never_blocks(tmp_path):
    read_fd, write_fd = os.pipe()
    pump = watchdog.OutputPump(read_fd, tmp_path / "output.log", limit_bytes=64 * 1024)
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        for n in range(200):  # 200 x 16 KiB: far more than the pipe holds and the log keeps
            os.write(write_fd, f"{n:04d}".encode() * 4096)
        os.write(write_fd, b"THE END")
        os._exit(0)
    os.close(write_fd)
    deadline = time.monotonic() + 30
    while pump.open and time.monotonic() < deadline:
        pump.pump()
        time.sleep(0.001)
    os.waitpid(pid, 0)
    log = (tmp_path / "output.log").read_bytes()
    assert log.startswith(b"0000" * 4096) and log.endswith(b"THE END")
    assert b"bytes of output dropped" in log and len(log) < 64 * 1024 + 4096


def test_the_watchdog_sees_every_descendant_and_the_sweep_kills_them():
    """In a fork that plays the zygote (a subreaper): a child with a setsid grandchild and an orphan."""

    def zygote() -> bool:
        confine.become_subreaper()
        pid = os.fork()
        if pid == 0:  # the child: a setsid grandchild that stays, and an orphan re-parented to the zygote
            if os.fork() == 0:
                os.setsid()
                time.sleep(60)
                os._exit(0)
            if os.fork() == 0:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                os._exit(0)
            time.sleep(60)
            os._exit(0)
        # Wait until the tree has settled (the child, the setsid grandchild and the orphan, the orphan's
        # parent gone): on a loaded machine the forks and that exit take longer than a fixed pause.
        deadline = time.monotonic() + 10
        while True:
            time.sleep(0.1)
            table = watchdog.process_table()
            orphans = watchdog.strays({pid}, table)
            tree = watchdog.subtree({pid} | orphans, table)
            seen = {p.pid for p in tree if not p.zombie}
            if (len(orphans) == 1 and len(seen) == 3) or time.monotonic() > deadline:
                break
        killed = watchdog.sweep({pid}, set())  # the orphan is a stray of the zygote: swept too
        left = [p for p in watchdog.process_table().values() if p.ppid == os.getpid() and not p.zombie]
        return len(seen) == 3 and pid in seen and killed == 3 and left == []

    assert in_fork(zygote) == 0
