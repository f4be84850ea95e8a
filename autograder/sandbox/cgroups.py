"""One control group per child, where this machine lets the grader make one: processes, memory, CPU share.

Runs in the zygote (which makes and removes the groups) and in each child (which joins its own),
with the standard library only. cgroup v1 (one hierarchy per controller) and v2 (one unified
hierarchy, where the zygote's own group may delegate the controllers) are both understood. A
group holds for the child and everything it starts:

- ``pids``: at most ``processes`` tasks (threads included), whoever the child runs as;
- ``memory``: at most ``memory_mb`` MiB plus a margin (the kernel's OOM killer stops the child);
- ``cpu``: at most ``threads`` CPU cores' worth of time, so a fork bomb cannot starve the other
  submissions of a batch.

Where no group can be made (a container whose /sys/fs/cgroup is read-only, a user without a delegated
subtree) the zygote's watchdog enforces the same limits by polling, less tightly.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CONTROLLERS = ("pids", "memory", "cpu")
PREFIX = "autograder-"
MEMORY_MARGIN_MB = 512  # the child's own runtime (torch's allocator, the interpreter) above its data
CPU_PERIOD_US = 100_000


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, options) of every cgroup mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """controller (or '' for v2) -> this process's group path, from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _writable_parent(base: Path) -> bool:
    trial = base / f"{PREFIX}trial-{os.getpid()}"
    try:
        trial.mkdir()
    except OSError:
        return False
    try:
        trial.rmdir()
    except OSError:
        pass
    return True


class Hierarchy:
    """Where this zygote's children's groups go: one folder per controller (v1) or one (v2)."""

    def __init__(self, enabled: bool = True) -> None:
        self.version = 0
        self.bases: dict[str, Path] = {}
        if not enabled:  # grading as a platform without cgroups would (tests only)
            return
        try:
            self._discover()
        except (OSError, ValueError):
            self.version, self.bases = 0, {}
        if self.available and not self._can_join():
            self.version, self.bases = 0, {}

    def _can_join(self) -> bool:
        """Can a child move itself into a group made here? (Not always, e.g. cgroup v2's ancestor rule.)"""
        group = self.create("trial", {"processes": 64, "group_memory_mb": 1024}, 1)
        if group is None:
            return False
        try:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    group.join()
                    code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        finally:
            group.remove()

    def _discover(self) -> None:
        own = _own_paths()
        mounts = _mounts()
        v1 = {}
        for point, kind, options in mounts:
            if kind == "cgroup":
                for controller in CONTROLLERS:
                    if controller in options and controller in own:
                        v1[controller] = Path(point) / own[controller].lstrip("/")
        if len(v1) == len(CONTROLLERS) and all(_writable_parent(base) for base in v1.values()):
            self.version, self.bases = 1, v1
            return
        for point, kind, _options in mounts:
            if kind == "cgroup2" and "" in own:
                base = Path(point) / own[""].lstrip("/")
                if self._v2_delegated(base):
                    self.version, self.bases = 2, {controller: base for controller in CONTROLLERS}
                    return

    @staticmethod
    def _v2_delegated(base: Path) -> bool:
        try:
            enabled = set((base / "cgroup.subtree_control").read_text().split())
            if not set(CONTROLLERS) <= enabled:
                (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
                enabled = set((base / "cgroup.subtree_control").read_text().split())
        except OSError:
            return False
        return set(CONTROLLERS) <= enabled and _writable_parent(base)

    @property
    def available(self) -> bool:
        return self.version > 0

    def describe(self) -> str:
        return f"cgroup v{self.version}" if self.available else "none"

    def remove_stale(self) -> None:
        """Groups left by zygotes that were killed before they could remove them."""
        for base in set(self.bases.values()):
            for folder in base.glob(f"{PREFIX}*"):
                zygote = folder.name[len(PREFIX) :].split("-", 1)[0]
                if zygote.isdigit() and not Path(f"/proc/{zygote}").exists():
                    ChildGroup(self.version, {"pids": folder}).kill()
                    _remove(folder)

    def create(self, name: str, limits: dict[str, Any], threads: int) -> ChildGroup | None:
        if not self.available:
            return None
        folders = {}
        try:
            for controller, base in self.bases.items():
                folder = base / f"{PREFIX}{os.getpid()}-{name}"
                if folder not in folders.values():
                    folder.mkdir(exist_ok=True)
                folders[controller] = folder
            group = ChildGroup(self.version, folders)
            group.set_limits(limits, threads)
            return group
        except OSError:
            for folder in set(folders.values()):
                _remove(folder)
            return None


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class ChildGroup:
    """The group of one child: its limits, the child joining it, its processes, its removal."""

    def __init__(self, version: int, folders: dict[str, Path]) -> None:
        self.version, self.folders = version, folders

    def set_limits(self, limits: dict[str, Any], threads: int) -> None:
        tasks = int(limits["processes"])
        memory = (int(limits["group_memory_mb"]) + MEMORY_MARGIN_MB) * 2**20
        quota = max(1, threads) * CPU_PERIOD_US
        if self.version == 1:
            _write(self.folders["pids"] / "pids.max", str(tasks))
            _write(self.folders["memory"] / "memory.limit_in_bytes", str(memory))
            swap = self.folders["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    _write(swap, str(memory))
                except OSError:
                    pass
            _write(self.folders["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.folders["cpu"] / "cpu.cfs_quota_us", str(quota))
        else:
            folder = self.folders["pids"]
            _write(folder / "pids.max", str(tasks))
            _write(folder / "memory.max", str(memory))
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
            _write(folder / "cpu.max", f"{quota} {CPU_PERIOD_US}")

    def join(self) -> None:
        """Move the calling process into the group (the child does this while it still may)."""
        for folder in set(self.folders.values()):
            _write(folder / "cgroup.procs", str(os.getpid()))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in set(self.folders.values()):
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def kill(self) -> None:
        """SIGKILL every process in the group."""
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel's OOM killer has stopped."""
        folder = self.folders["memory"]
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        for folder in set(self.folders.values()):
            while not _remove(folder) and time.monotonic() < deadline:
                time.sleep(0.01)


def _remove(folder: Path) -> bool:
    try:
        folder.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
