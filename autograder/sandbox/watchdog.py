"""The zygote's watch over its children: every process they start, their output, and the sweep after them.

Runs in the zygote with the standard library only. The zygote is a child subreaper, so every
process a child starts stays its descendant, however it forks, double-forks or calls setsid. Four
times a second, :class:`ChildWatch` adds up what a child and all its processes use, and stops them
all (SIGKILL) when one limit is passed:

- wall time of the child (its task group's time, with a grace);
- CPU time of all its processes together (RLIMIT_CPU only counts one process);
- CPU cores at once, over a 2 s window (a fork or thread bomb steals no other submission's CPU);
- tasks at once (processes and threads);
- memory: the anonymous memory its processes added beyond what they share with the zygote;
- files in its folder: their total size and number.

A cgroup (:mod:`autograder.sandbox.cgroups`), where there is one, enforces the first limits in the kernel; the
watchdog is what holds everywhere. :class:`OutputPump` drains the child's stdout and stderr from a
pipe into its log, keeps the first ``output_kb`` KiB and the last 2 KiB, and throws the rest away
without ever blocking or failing the child's writes. :func:`sweep` kills whatever a child left behind.
"""

from __future__ import annotations

import collections
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TICK_S = 0.25
CORES_WINDOW_S = 2.0
CORES_SLACK = 0.5  # a single-threaded child uses 1.0 core; 1.5 over 2 s means more than one thread ran
TAIL_BYTES = 2048


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    started: int  # clock ticks after boot: with the pid, a process's identity
    cpu_s: float  # user + system time of this process alone
    threads: int
    zombie: bool


def process_table() -> dict[int, Process]:
    """Every process of the machine, from /proc/<pid>/stat."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                text = stat.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) ", comm may hold spaces
        # fields[0] is field 3 (state) of proc(5): ppid 4, utime 14, stime 15, num_threads 20, starttime 22
        table[int(name)] = Process(
            pid=int(name),
            ppid=int(fields[1]),
            started=int(fields[19]),
            cpu_s=(int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            threads=int(fields[17]),
            zombie=fields[0] in ("Z", "X"),
        )
    return table


def subtree(roots: set[int], table: dict[int, Process]) -> list[Process]:
    """The processes of ``roots`` and all their descendants."""
    children = collections.defaultdict(list)
    for process in table.values():
        children[process.ppid].append(process.pid)
    found, queue = [], [pid for pid in roots if pid in table]
    seen = set(queue)
    while queue:
        pid = queue.pop()
        found.append(table[pid])
        for child in children[pid]:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return found


def anonymous_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def kill_all(pids: set[int] | list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def strays(live: set[int], table: dict[int, Process] | None = None) -> set[int]:
    """The zygote's children that are not live children it spawned: orphans re-parented to it."""
    table = process_table() if table is None else table
    me = os.getpid()
    return {p.pid for p in table.values() if p.ppid == me and p.pid not in live and not p.zombie}


def sweep(roots: set[int], live: set[int], extra: set[int] = frozenset(), timeout_s: float = 3.0) -> int:
    """Kill ``roots``, their descendants, the zygote's stray children and ``extra``, until none is left.

    Reaps what becomes the zygote's own zombies on the way. Returns how many processes were killed.
    """
    killed: set[tuple[int, int]] = set()
    deadline = time.monotonic() + timeout_s
    while True:
        table = process_table()
        targets = [p for p in subtree(roots | strays(live, table) | set(extra), table) if not p.zombie]
        targets = [p for p in targets if p.pid not in live]
        if not targets:
            break
        kill_all([p.pid for p in targets])
        killed |= {(p.pid, p.started) for p in targets}
        reap_strays(live)
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    reap_strays(live)
    return len(killed)


def reap_strays(live: set[int]) -> None:
    """Collect the exit status of every ended child of the zygote except the live ones it spawned."""
    me = os.getpid()
    for process in process_table().values():
        if process.ppid == me and process.zombie and process.pid not in live:
            try:
                os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                pass


@dataclass
class OutputPump:
    """The child's stdout and stderr: a pipe whose head goes to the log, its tail kept, the rest dropped."""

    read_fd: int
    log_path: Path
    limit_bytes: int
    written: int = 0
    dropped: int = 0
    tail: bytearray = field(default_factory=bytearray)
    log_fd: int = -1

    def __post_init__(self) -> None:
        os.set_blocking(self.read_fd, False)
        self.log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    @property
    def open(self) -> bool:
        return self.read_fd >= 0

    def pump(self, budget_bytes: int = 8 * 2**20) -> None:
        """Move what the pipe holds (up to ``budget_bytes``, so one flood cannot hog the zygote)."""
        moved = 0
        while self.read_fd >= 0 and moved < budget_bytes:
            try:
                chunk = os.read(self.read_fd, 2**20)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.finish()
                return
            moved += len(chunk)
            room = self.limit_bytes - self.written
            if room > 0:
                os.write(self.log_fd, chunk[:room])
                self.written += min(room, len(chunk))
                chunk = chunk[room:]
            if chunk:
                self.dropped += len(chunk)
                self.tail = (self.tail + chunk)[-TAIL_BYTES:]

    def finish(self) -> None:
        """EOF (or the child's end): write how much was dropped and the tail, close both ends."""
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1
        if self.log_fd >= 0:
            if self.dropped:
                kept = len(self.tail)
                note = (
                    f"\n[... {self.dropped - kept} bytes of output dropped: only the first "
                    f"{self.limit_bytes // 1024} KiB and the last {kept} bytes are kept ...]\n"
                )
                os.write(self.log_fd, note.encode() + bytes(self.tail))
            os.close(self.log_fd)
            self.log_fd = -1

    def drain(self, timeout_s: float = 1.0) -> None:
        """After the child and all its processes ended: read to EOF (bounded), then finish."""
        deadline = time.monotonic() + timeout_s
        while self.open and time.monotonic() < deadline:
            self.pump()
            if self.open:
                time.sleep(0.005)
        self.finish()


@dataclass
class ChildWatch:
    """One child's limits and its accounting; :meth:`check` says which limit it passed, if any."""

    pid: int
    limits: dict[str, Any]
    threads: int
    home: Path
    base_anon_kb: int  # the zygote's anonymous memory at the fork: shared, not the child's
    started: float = field(default_factory=time.monotonic)
    cpu_seen: dict[tuple[int, int], float] = field(default_factory=dict)
    samples: collections.deque = field(default_factory=lambda: collections.deque(maxlen=64))
    verdict: str | None = None
    last_disk_check: float = 0.0

    def processes(self, table: dict[int, Process], strays_: set[int]) -> list[Process]:
        return [p for p in subtree({self.pid} | strays_, table) if not p.zombie]

    def check(self, table: dict[int, Process], strays_: set[int]) -> str | None:
        """The first limit passed, in words for the student, or None."""
        now = time.monotonic()
        limits = self.limits
        processes = self.processes(table, strays_)
        for p in processes:
            self.cpu_seen[(p.pid, p.started)] = p.cpu_s
        cpu = sum(self.cpu_seen.values())
        self.samples.append((now, cpu))
        if now - self.started > limits["wall_s"]:
            return f"ran for more than {limits['wall_s']:g} s, the time its task group may take"
        if cpu > limits["cpu_s"] + 5:
            return f"used more than {limits['cpu_s']:g} s of CPU time (all its processes together)"
        tasks = sum(p.threads for p in processes)
        if tasks >= limits["processes"]:
            return (
                f"ran {tasks} processes or threads at once; at most {limits['processes'] - 1} are allowed "
                "(a fork or thread bomb?)"
            )
        old = next(((t, c) for t, c in self.samples if now - t >= CORES_WINDOW_S), None)
        if old is not None:
            cores = (cpu - old[1]) / (now - old[0])
            if cores > self.threads + CORES_SLACK:
                return (
                    f"kept {cores:.1f} CPU cores busy at once; it may use {self.threads} "
                    "(processes or threads running in parallel?)"
                )
        added_kb = sum(max(0, anonymous_kb(p.pid) - self.base_anon_kb) for p in processes)
        if added_kb > (limits["group_memory_mb"] + 512) * 1024:
            return f"used more than {limits['group_memory_mb']} MiB of memory (all its processes together)"
        if now - self.last_disk_check >= 1.0:
            self.last_disk_check = now
            return self._check_disk()
        return None

    def _check_disk(self) -> str | None:
        size = files = 0
        for folder, dirs, names in os.walk(self.home):
            files += len(dirs) + len(names)
            for name in names:
                try:
                    size += os.lstat(os.path.join(folder, name)).st_blocks * 512
                except OSError:
                    pass
            if files > self.limits["files"]:
                return f"created more than {self.limits['files']} files"
            if size > self.limits["disk_mb"] * 2**20:
                return f"wrote more than {self.limits['disk_mb']} MiB of files"
        return None

    def cores_used(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
