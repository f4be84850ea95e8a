"""What a child may do: the kernel's own fences, raised by the child on itself before student code runs.

Runs in the zygote (to learn what this machine offers) and in each child (to apply it), with the
standard library only. Every fence is tried where the platform has it and reported when it has not;
none needs anything installed. In the order a child applies them (:func:`confine`):

1. cgroup: the zygote made one for the child (:mod:`autograder.sandbox.cgroups`); the child joins it.
2. resource limits: CPU seconds, no core file, file size, address space (CPU grading), processes.
3. network namespace: a fresh one holds only a loopback that is down (root; else inside a new user
   namespace where the kernel lets unprivileged users make one).
4. no_new_privs, then Landlock: read access to the interpreter and system libraries only, full access
   to the child's own folder, no TCP bind or connect, no signals to or sockets of processes outside
   (each part where the kernel's Landlock ABI has it). The repository (hidden checks, reference,
   source), the batch's folders and every other child's folder are simply absent.
5. seccomp: ``socket()`` (any family: no network, no connection to a root daemon's unix socket),
   ``ptrace``, ``process_vm_*``, ``io_uring_*``, handle-based opens, ``bpf``, ``perf_event_open``,
   ``userfaultfd`` and the key syscalls fail with EPERM; a foreign system-call ABI is refused too.
6. identity: a grader running as root drops the child to a uid of its own (so RLIMIT_NPROC counts it
   alone, and files of root cannot be written); where that uid could not read the interpreter's
   files (a python under /root, mode 0700) the child keeps CAP_DAC_READ_SEARCH alone, which reads but
   never writes. Where no uid can be taken, a root child keeps uid 0 with every capability dropped.
7. the parent-death signal: a child whose zygote dies is killed.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import struct
import sys
from pathlib import Path
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CAP_DAC_READ_SEARCH = 2
CAP_LAST = 63
UID_BASE = 0x7E000000  # child uid = UID_BASE + its pid: unique among live processes, far above real users
NOBODY = 65534


def _check(result: int, what: str) -> int:
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def set_parent_death_signal(signum: int = signal.SIGKILL) -> None:
    prctl(PR_SET_PDEATHSIG, signum)


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process, so none escapes its sweep."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


# ---------------------------------------------------------------------------------------- Landlock
# https://docs.kernel.org/userspace-api/landlock.html; the system-call numbers are the same on every
# architecture.
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (older than 5.13, or not enabled)."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # execute ... make_sym (ABI 1)
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def _device_rights(abi: int) -> int:
    return FS_READ_FILE | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0) | (FS_IOCTL_DEV if abi >= 5 else 0)


def _add_path_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:  # gone, or out of reach: a grant skipped only takes access away
        return
    try:
        if not os.path.isdir(path):  # a file takes only the rights that apply to files
            rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        attr = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr (packed)
        buffer = ctypes.create_string_buffer(attr, len(attr))
        _check(_libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, 1, buffer, 0), f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def restrict_filesystem(
    abi: int, readable: list[str], devices: list[str], writable: list[str]
) -> dict[str, bool]:
    """Landlock this process: ``readable`` read-only, ``devices`` read-write files, ``writable`` full.

    Also denies every TCP bind and connect (ABI 4) and signals and abstract unix sockets towards
    processes outside the sandbox (ABI 6). Needs no_new_privs. Returns which parts are in force.
    """
    handled_fs = _fs_rights(abi)
    handled_net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(
        _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)),
        "landlock_create_ruleset",
    )
    try:
        for path in readable:
            _add_path_rule(ruleset, path, READ_ONLY)
        for path in devices:
            _add_path_rule(ruleset, path, _device_rights(abi))
        for path in writable:
            _add_path_rule(ruleset, path, handled_fs)
        _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return {"filesystem": True, "tcp": bool(handled_net), "signals": bool(scoped)}


SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/proc", "/sys")
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
)
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
CUDA_DEVICE_PREFIXES = ("nvidia", "dri")


def _grant_except(path: Path, protected: list[Path], depth: int = 0) -> list[Path]:
    """``path`` itself, or, when a protected folder lies inside it, its other children (recursively)."""
    if any(path == p for p in protected):
        return []
    inside = [p for p in protected if p.is_relative_to(path)]
    if not inside or not path.is_dir():
        return [path]
    if depth > 12:  # a protected path that deep under a system root: grant nothing of that branch
        return []
    granted: list[Path] = []
    try:
        children = sorted(path.iterdir())
    except OSError:
        return []
    for child in children:
        real = Path(os.path.realpath(child))
        if not real.exists():
            continue
        granted += _grant_except(real, protected, depth + 1)
    return granted


def readable_paths(protected: list[str], device: str, site: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What a child may read: the interpreter, its search path and the system libraries, minus ``protected``.

    ``protected`` (the repository, the batch's folders) is never granted, even when it lies inside a
    system folder: that folder is then granted child by child around it. Inside a protected folder,
    only the interpreter's own prefix and ``site`` (a virtual environment kept in the repository, its
    site-packages) are granted.
    """
    fences = [Path(os.path.realpath(p)) for p in protected]
    prefixes = {
        Path(os.path.realpath(p))
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site)
    }
    prefixes = {p for p in prefixes if not any(fence.is_relative_to(p) for fence in fences)}
    candidates = list(SYSTEM_ROOTS) + list(SYSTEM_FILES) + [str(p) for p in prefixes]
    candidates += [os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [p for p in sys.path if p]
    granted: dict[Path, None] = {}
    for candidate in candidates:
        real = Path(os.path.realpath(candidate))
        if real == Path("/") or not real.exists():
            continue
        fenced_in = any(real.is_relative_to(fence) for fence in fences)
        if fenced_in and not any(real.is_relative_to(prefix) for prefix in prefixes):
            continue  # inside the repository (or a batch's folder) and not the interpreter's own: never
        for path in _grant_except(real, fences):
            granted[path] = None
    devices = [p for p in DEVICE_FILES if os.path.exists(p)]
    if device in ("cuda", "auto") and os.path.isdir("/dev"):
        devices += sorted(
            str(p)
            for p in Path("/dev").iterdir()
            if p.name.startswith(CUDA_DEVICE_PREFIXES) and not p.is_dir()
        )
    return {"readable": sorted(str(p) for p in granted), "devices": devices}


# ---------------------------------------------------------------------------------------- seccomp
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
DENIED_SYSCALLS = {  # name -> number, per architecture
    "x86_64": {
        "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
    },
    "aarch64": {
        "socket": 198, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "name_to_handle_at": 264, "open_by_handle_at": 265, "bpf": 280, "perf_event_open": 241,
        "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218,
    },
}  # fmt: skip
X32_SYSCALL_BIT = 0x40000000
AF_UNIX = 1
_BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_JGE_K, _BPF_RET_K = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
_RET_EPERM = 0x00050000 | errno.EPERM


def seccomp_supported() -> bool:
    return platform.machine() in AUDIT_ARCH


def deny_syscalls(allow_unix_sockets: bool = False) -> list[str]:
    """Install the seccomp filter (needs no_new_privs); returns the system calls it refuses.

    ``allow_unix_sockets`` lets ``socket(AF_UNIX, ...)`` through (the CUDA driver may want one; only
    granted to a child with a uid of its own, which no root daemon trusts).
    """
    machine = platform.machine()
    denied = dict(DENIED_SYSCALLS[machine])
    socket_nr = denied.pop("socket")

    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    program = [
        op(_BPF_LD_W_ABS, 4),  # seccomp_data.arch
        op(_BPF_JEQ_K, AUDIT_ARCH[machine], 1, 0),
        op(_BPF_RET_K, _RET_KILL_PROCESS),  # a foreign ABI (int 0x80 on x86_64): no filter applies there
        op(_BPF_LD_W_ABS, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        program += [op(_BPF_JGE_K, X32_SYSCALL_BIT, 0, 1), op(_BPF_RET_K, _RET_EPERM)]
    for number in denied.values():
        program += [op(_BPF_JEQ_K, number, 0, 1), op(_BPF_RET_K, _RET_EPERM)]
    if allow_unix_sockets:  # socket(): allowed for AF_UNIX (args[0], low word at offset 16), else EPERM
        program += [
            op(_BPF_JEQ_K, socket_nr, 0, 4),
            op(_BPF_LD_W_ABS, 16),
            op(_BPF_JEQ_K, AF_UNIX, 0, 1),
            op(_BPF_RET_K, _RET_ALLOW),
            op(_BPF_RET_K, _RET_EPERM),
        ]
    else:
        program += [op(_BPF_JEQ_K, socket_nr, 0, 1), op(_BPF_RET_K, _RET_EPERM)]
    program.append(op(_BPF_RET_K, _RET_ALLOW))
    code = b"".join(program)
    filters = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("=HxxxxxxQ", len(program), ctypes.addressof(filters))  # struct sock_fprog
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    prctl(PR_SET_SECCOMP, 2, ctypes.addressof(fprog_buffer))  # SECCOMP_MODE_FILTER
    return sorted([*denied, "socket (but AF_UNIX)" if allow_unix_sockets else "socket"])


# ---------------------------------------------------------------------------------------- identity
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _set_capabilities(keep: set[int]) -> None:
    """Effective and permitted = ``keep``, nothing inheritable, nothing ambient."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    for cap in keep:
        word, bit = divmod(cap, 32)
        data[word].effective |= 1 << bit
        data[word].permitted |= 1 << bit
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass


def _drop_bounding_set(keep: set[int]) -> None:
    for cap in range(CAP_LAST + 1):
        if cap in keep:
            continue
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as err:
            # EINVAL: no such capability on this kernel; EPERM: no CAP_SETPCAP (a container), where
            # no_new_privs already keeps execve from granting any capability
            if err.errno not in (errno.EINVAL, errno.EPERM):
                raise


def drop_identity(uid: int | None, keep_read_search: bool) -> dict[str, Any]:
    """Become ``uid`` (root only), keeping CAP_DAC_READ_SEARCH alone if asked; else shed root's powers."""
    if os.geteuid() != 0:
        return {"uid": os.getuid(), "capabilities": "none (not root)"}
    keep = {CAP_DAC_READ_SEARCH} if keep_read_search and uid is not None else set()
    _drop_bounding_set(keep)
    if uid is not None:
        if keep:
            prctl(PR_SET_KEEPCAPS, 1)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _set_capabilities(keep)
        if keep:
            prctl(PR_SET_KEEPCAPS, 0)
        return {"uid": uid, "capabilities": "CAP_DAC_READ_SEARCH" if keep else "none"}
    # uid 0 without capabilities: SECBIT_NOROOT and friends, locked, so nothing regains them
    try:
        prctl(
            PR_SET_SECUREBITS, 0x2F
        )  # NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP | ..._LOCKED | KEEP_CAPS_LOCKED
    except OSError:
        pass
    _set_capabilities(set())
    return {"uid": 0, "capabilities": "none"}


def uid_for(pid: int) -> int:
    return UID_BASE + pid


def chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


# ---------------------------------------------------------------------------------------- namespaces
def new_network_namespace() -> str:
    """A private network namespace: only a loopback, down. Returns how, or raises OSError."""
    if os.geteuid() == 0:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        return "network namespace"
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare(CLONE_NEWUSER | CLONE_NEWNET)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        try:
            Path(f"/proc/self/{name}").write_text(text)
        except OSError:
            pass
    return "user and network namespace"


# ---------------------------------------------------------------------------------------- rlimits
def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    old_soft, old_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, old_hard), min(hard, old_hard)
    resource.setrlimit(kind, (soft, hard))


def address_space_in_use() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def tasks_of_uid(uid: int) -> int:
    """Threads of every process of ``uid`` (what RLIMIT_NPROC counts)."""
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields.get("Uid", "-1").split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
    return count


def apply_limits(limits: dict[str, Any], own_uid: bool) -> None:
    """CPU seconds, no core, file size, address space (CPU only: CUDA maps far more than it uses), tasks."""
    cpu = int(limits["cpu_s"])
    _limit(resource.RLIMIT_CPU, cpu, cpu + 5)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 2**20)
    if limits.get("memory_mb"):
        _limit(resource.RLIMIT_AS, address_space_in_use() + int(limits["memory_mb"]) * 2**20)
    tasks = int(limits["processes"])
    if own_uid:
        _limit(resource.RLIMIT_NPROC, tasks)
    elif os.geteuid() != 0:  # shared with the grader's own uid: what it runs now, plus the child's share
        _limit(resource.RLIMIT_NPROC, tasks_of_uid(os.getuid()) + tasks)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails with an error instead


# ---------------------------------------------------------------------------------------- all of it
def detect_own_uid(readable: list[str], reach: tuple[str, ...] = ()) -> dict[str, Any]:
    """In a throwaway fork: can a fresh uid be taken, and can it read the interpreter without help?

    ``reach``: paths the uid must also get to (the children's folders: every folder above them must
    let it pass). Where it cannot, the child keeps CAP_DAC_READ_SEARCH, which reads but never writes.
    """
    if os.geteuid() != 0:
        return {"own_uid": False, "keep_read_search": False}
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        answer = b"none"
        try:
            os.setgroups([])
            os.setresgid(uid_for(os.getpid()), uid_for(os.getpid()), uid_for(os.getpid()))
            os.setresuid(uid_for(os.getpid()), uid_for(os.getpid()), uid_for(os.getpid()))
            answer = b"uid"
            for path in readable:
                if os.path.isdir(path):
                    os.listdir(path)
                else:
                    os.stat(path)
            for path in reach:
                os.stat(path)
            answer = b"uid-reads"
        except OSError:
            pass
        os.write(write, answer)
        os._exit(0)
    os.close(write)
    answer = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    if answer == b"none":
        return {"own_uid": False, "keep_read_search": False}
    return {"own_uid": True, "keep_read_search": answer != b"uid-reads"}


def _works_in_fork(action: Any) -> bool:
    """Whether ``action()`` returns without an error in a throwaway fork (a fence tried, then thrown away)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            action()
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def detect_seccomp() -> bool:
    """Whether a seccomp filter can be installed here (a container's own profile may refuse it)."""
    if not seccomp_supported():
        return False

    def install() -> None:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        deny_syscalls()

    return _works_in_fork(install)


def detect_network_namespace() -> bool:
    """Whether a fresh network namespace can be made here (root, or unprivileged user namespaces)."""
    return _works_in_fork(new_network_namespace)


FENCES = ("landlock", "seccomp", "netns", "uid", "cgroup")  # the ones a platform may lack
WITHOUT_ENV = "AUTOGRADER_WITHOUT"  # comma-separated FENCES: grade as a platform without them would


def without_fences(value: str | None = None) -> tuple[str, ...]:
    """The fences to leave down, from ``value`` (default: the AUTOGRADER_WITHOUT environment variable).

    Only for testing what a platform that lacks a fence gets (tests/test_hostile.py); real grading
    never sets it. Unknown names are refused, so a typo cannot pass for a weaker sandbox.
    """
    value = os.environ.get(WITHOUT_ENV, "") if value is None else value
    names = tuple(sorted({name.strip() for name in value.split(",") if name.strip()}))
    unknown = [name for name in names if name not in FENCES]
    if unknown:
        raise ValueError(f"{WITHOUT_ENV} names unknown fences {unknown}; the fences are {list(FENCES)}")
    return names


def platform_plan(
    protected: list[str],
    device: str,
    site: tuple[str, ...] = (),
    without: tuple[str, ...] = (),
    reach: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What this machine lets the zygote's children be fenced with (detected once, in the zygote).

    ``without``: fences (of :data:`FENCES`) left down although the machine has them (tests only);
    ``reach``: paths a child must get to (its folder's parents), see :func:`detect_own_uid`.
    """
    paths = readable_paths(protected, device, site)
    plan: dict[str, Any] = {
        **paths,
        "landlock_abi": 0 if "landlock" in without else landlock_abi(),
        "seccomp": "seccomp" not in without and detect_seccomp(),
        "network_namespace": "netns" not in without and detect_network_namespace(),
        "root": os.geteuid() == 0,
    }
    if "uid" in without:
        plan.update(own_uid=False, keep_read_search=False)
    else:
        plan.update(detect_own_uid(paths["readable"], reach))
    return plan


def confine(plan: dict[str, Any], limits: dict[str, Any], home: Path) -> dict[str, Any]:
    """Fence this process (a fresh child, still the zygote's uid) before any student code runs.

    Returns what is in force, for the grader's record. A fence the platform offered but that fails
    here raises: a child is never left less fenced than the plan promised.
    """
    applied: dict[str, Any] = {}
    uid = uid_for(os.getpid()) if plan["own_uid"] else None
    apply_limits(limits, own_uid=uid is not None)
    applied["limits"] = {k: limits[k] for k in sorted(limits)}
    if plan["network_namespace"]:
        applied["network"] = new_network_namespace()
    if uid is not None:
        chown_tree(home, uid)
    os.chmod(home, 0o700)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if plan["landlock_abi"]:
        applied["landlock"] = restrict_filesystem(
            plan["landlock_abi"], plan["readable"], plan["devices"], [str(home)]
        ) | {"abi": plan["landlock_abi"]}
    if plan["seccomp"]:
        cuda = any("nvidia" in path for path in plan["devices"])
        applied["seccomp_denies"] = deny_syscalls(allow_unix_sockets=cuda and uid is not None)
    applied.update(drop_identity(uid, plan["keep_read_search"]))
    set_parent_death_signal()
    if os.getppid() == 1:  # the zygote died before the signal was armed
        os._exit(70)
    return applied
