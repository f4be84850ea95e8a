"""nbgrader's ``Execute`` with the notebook's kernel fenced by the autograder's own confinement.

nbgrader runs each submitted notebook in a Jupyter kernel as the user who runs ``nbgrader autograde``
(jupyter/nbgrader#483): the student's code could read the other students' folders, rewrite
``gradebook.db`` or the kit, or reach the network. :class:`FencedExecute` takes nbgrader's ``Execute``
place among the Autograde preprocessors (``nbgrader_config.py``); its :class:`FencedKernelManager` starts
the kernel through :mod:`autograder.nbgrader.launcher`, which fences itself with
:mod:`autograder.sandbox.confine` before ipykernel runs (the fences of the grader's children, see
``autograder/sandbox/README.md``):

- a uid of its own, where nbgrader runs as root (the autograded folder is the kernel's while it runs,
  and given back to the course folder's owner after);
- a network namespace whose only loopback is down;
- Landlock: it reads the interpreter and its libraries, the system's, and the public checks
  (``autograder/public/``); it writes its own autograded folder and a private folder (its HOME and
  TMPDIR, its connection file and the unix sockets of its channels) and nothing else: no gradebook, no
  other student, nothing of ``solutions/``, ``reference/``, ``source/`` or the hidden checks; no TCP;
- seccomp: once ipykernel has bound its channels, ``socket()`` fails for every family;
- an environment of its own: none of the instructor's variables but the locale, ``PATH`` and the
  accelerator's and nbgrader's own.

nbgrader's log says, for each notebook, the fences its kernel is held by, and warns about each one this
platform lacks (as grade-all's children, the kernel is fenced with what the machine has).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import List, Unicode

from autograder.nbgrader.submitted_outputs import is_autograded
from autograder.sandbox import confine

KIT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding autograder/
PUBLIC_CHECKS = KIT_ROOT / "autograder" / "public"  # the public checks: students have them too
KERNEL_MODULES = ("autograder.nbgrader.cells", "autograder.nbgrader.launcher", confine.__name__)
SYSTEM_EXTRAS = ("/etc/fonts",)  # fontconfig's configuration (matplotlib)
KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "NBGRADER_EXECUTION", "JPY_PARENT_PID")
KEPT_PREFIXES = ("LC_", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "DIFFUSION_", "JPY_")
# Where the kernel's own uid cannot read the Python it runs or the folders it works in (a Python under
# /root, mode 0700, as pyenv's there), it keeps the one capability CAP_DAC_READ_SEARCH: it may read past
# file modes, never write; Landlock still decides what it reads.
READ_SEARCH_NOTE = (
    "it keeps CAP_DAC_READ_SEARCH, reading past file modes but never writing, because that uid cannot "
    "read this Python or its folders; Landlock still limits what it reads"
)
MISSING = {  # fence -> what a kernel without it can do, for nbgrader's log
    "own uid": "runs as the user running nbgrader (without capabilities, where that is root)",
    "network namespace": "shares the machine's network (seccomp and Landlock still refuse what they can)",
    "Landlock": "can read and write whatever the user running nbgrader can: the gradebook, other "
    "students' folders, the kit",
    "seccomp": "can open sockets",
}


def kernel_plan(folder: Path, private: Path, protected: list[str]) -> dict[str, Any]:
    """What the kernel of the notebook in ``folder`` will be fenced with on this machine.

    ``confine.platform_plan`` (the grader's own probes, honouring ``AUTOGRADER_WITHOUT``) with nothing of
    ``protected`` (the course folder) or the kit readable but the public checks; the kernel writes
    ``folder`` and ``private`` only.
    """
    fences = [*protected, str(KIT_ROOT)]
    writable = [str(folder), str(private)]
    plan = confine.platform_plan(fences, "auto", without=confine.without_fences(), reach=tuple(writable))
    plan["readable"] = [*plan["readable"], *SYSTEM_EXTRAS, str(PUBLIC_CHECKS), *kit_files()]
    plan.update(writable=writable, private=str(private), kit=str(KIT_ROOT))
    return plan


def kit_files() -> list[str]:
    """The kit's files the kernel runs (:data:`KERNEL_MODULES` and their packages' ``__init__.py``):
    readable, so that ``%autoreload`` can check them; nothing else of ``autograder/`` but the public
    checks."""
    parts = [name.split(".") for name in KERNEL_MODULES]
    names = {".".join(part[:depth]) for part in parts for depth in range(1, len(part) + 1)}
    files = set()
    for name in sorted(names):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            files.add(spec.origin)
    return sorted(files)


def describe(plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(the fences in force, the ones missing on this platform) as nbgrader's log names them."""
    up: list[str] = []
    if plan["own_uid"]:
        up.append("own uid" + (f" ({READ_SEARCH_NOTE})" if plan["keep_read_search"] else ""))
    if plan["network_namespace"]:
        up.append("network namespace")
    if plan["landlock_abi"]:
        tcp = ", no TCP" if plan["landlock_abi"] >= 4 else ""
        up.append(f"Landlock ABI {plan['landlock_abi']} (writes its folder and a private tmp only{tcp})")
    if plan["seccomp"]:
        up.append("seccomp (no socket)")
    found = {
        "own uid": plan["own_uid"],
        "network namespace": plan["network_namespace"],
        "Landlock": plan["landlock_abi"] > 0,
        "seccomp": plan["seccomp"],
    }
    return up, [name for name, present in found.items() if not present]


def kernel_environment(environment: dict[str, str], private: Path) -> dict[str, str]:
    """The kernel's variables: the locale, PATH, CUDA's and nbgrader's; its homes in ``private``."""
    kept = {
        name: value
        for name, value in environment.items()
        if name in KEPT_VARIABLES or name.startswith(KEPT_PREFIXES)
    }
    homes = {
        "HOME": "home",
        "TMPDIR": "tmp",
        "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "matplotlib",
        "XDG_CACHE_HOME": "cache",
        "XDG_CONFIG_HOME": "config",
        "XDG_DATA_HOME": "data",
        "JUPYTER_CONFIG_DIR": "jupyter",
        "JUPYTER_DATA_DIR": "jupyter",
        "JUPYTER_RUNTIME_DIR": "jupyter",
    }
    for name, folder in homes.items():
        (private / folder).mkdir(exist_ok=True)
        kept[name] = str(private / folder)
    kept["PYTHONNOUSERSITE"] = "1"
    return kept


class FencedKernelManager(AsyncKernelManager):
    """An ipykernel started through :mod:`autograder.nbgrader.launcher`, fenced as :func:`kernel_plan`
    says, over unix sockets in a private folder (the ipc transport: the kernel has no network)."""

    protected = List(Unicode(), default_value=[], help="folders the kernel may not read (the course)")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if not self.ipykernel:
            raise ValueError(
                f"the fenced kernel runs ipykernel; the notebook asks for kernel {self.kernel_name!r}"
            )
        folder = Path(kw.get("cwd") or os.getcwd()).resolve()
        self.private = Path(tempfile.mkdtemp(prefix="nbgrader-kernel-"))
        self.transport, self.cache_ports = "ipc", False
        self.ip = str(self.private / "channel")
        self.connection_file = str(self.private / "connection.json")
        self.plan = kernel_plan(folder, self.private, list(self.protected))
        (self.private / "plan.json").write_text(json.dumps(self.plan), encoding="utf-8")
        self.folder, self.owner = folder, os.stat(folder.parent)
        up, missing = describe(self.plan)
        student = folder.parent.name
        self.log.info("Kernel of %s fenced: %s", student, "; ".join(up) or "nothing")
        for name in missing:
            self.log.warning("Kernel of %s: no %s on this platform: it %s", student, name, MISSING[name])
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = kernel_environment(kw.get("env") or dict(os.environ), self.private)
        return kernel_cmd, kw

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        start = (
            f"import sys; sys.path.insert(0, {str(KIT_ROOT)!r}); "
            "from autograder.nbgrader.launcher import main; main()"
        )
        plan = str(self.private / "plan.json")
        return [sys.executable, "-I", "-c", start, plan, "-f", self.connection_file, *(extra_arguments or [])]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self.release()

    def release(self) -> None:
        """After the kernel: every process of its uid killed, the folder back to the course's owner,
        the private folder gone."""
        private, plan = getattr(self, "private", None), getattr(self, "plan", None)
        if private is None:
            return
        if plan is not None and plan["own_uid"]:
            _kill_owners_of(private, self.folder)
            for folder, dirs, files in os.walk(self.folder):
                for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
                    os.chown(name, self.owner.st_uid, self.owner.st_gid, follow_symlinks=False)
        shutil.rmtree(private, ignore_errors=True)
        self.private = None


def _kill_owners_of(*folders: Path) -> None:
    """SIGKILL every process whose uid owns one of ``folders`` (a kernel's own uid: its leftovers)."""
    uids = {os.stat(folder).st_uid for folder in folders}
    uids = {uid for uid in uids if uid >= confine.UID_BASE}  # never a real user's
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid in uids:
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                continue


class FencedExecute(Execute):
    """nbgrader's ``Execute``, its kernel started by :class:`FencedKernelManager`, running only the
    autograded cells: every other cell keeps the outputs the student saved
    (:mod:`autograder.nbgrader.submitted_outputs`) and never runs."""

    protected = List(
        Unicode(),
        default_value=[],
        help="folders the kernel may not read or write, besides the kit's own (the course folder)",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", FencedKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self) -> FencedKernelManager:
        manager = super().create_kernel_manager()
        if not isinstance(manager, FencedKernelManager):
            raise TypeError(
                f"FencedExecute.kernel_manager_class is {type(manager).__name__}: it must be "
                "FencedKernelManager (leave Execute.kernel_manager_class unset in nbgrader_config.py)"
            )
        manager.log = self.log
        manager.protected = list(self.protected)
        return manager

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type == "code" and not is_autograded(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def preprocess(
        self, nb: NotebookNode, resources: Any = None, km: Any = None
    ) -> tuple[NotebookNode, dict[str, Any]]:
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if isinstance(self.km, FencedKernelManager):
                self.km.release()  # also when the kernel never started, or died


def with_fenced_kernel(preprocessors: list[Any]) -> list[Any]:
    """nbgrader's Autograde preprocessors with :class:`FencedExecute` in ``Execute``'s place."""
    names = [p if isinstance(p, str) else p.__name__ for p in preprocessors]
    names = [name.rsplit(".", 1)[-1] for name in names]
    if names.count("Execute") != 1:
        raise ValueError(f"nbgrader's Autograde preprocessors changed: {names}")
    chosen = list(preprocessors)
    chosen[names.index("Execute")] = FencedExecute
    return chosen
