"""The sandbox: where student code runs, fenced, out of the grader's reach (README.md beside this file).

The rest of the kit imports only the names below; everything else here is the sandbox's own business,
so another runner (a container per child, say) could replace this package behind the same names:

- :class:`ZygoteHandle`: starts the zygote (one python that imports torch once) and asks it for children;
- :class:`ChildSession`: one task group's children: ``call(probe, **inputs)`` runs a public probe in a
  fenced child and returns its plain outputs, or raises what the student's code raised;
- :class:`Limits`: what one task group's children may use (time, CPU, memory, processes, files);
- :func:`set_parent_death_signal`: a process started by the grader dies with its parent;
- :mod:`confine`: the fences themselves, for the one other runner of student code that fences a
  process of its own, nbgrader's autograde kernel (:mod:`autograder.nbgrader.launcher`).

Modules, by the side of the process boundary they run on:

    host.py      the grader's side: ZygoteHandle, ChildSession, Limits (never imports torch)
    child.py     the zygote's side (ForkServer) and each child's: fence itself, import the
                 submission, answer probe requests; sent to the zygote as source text
    wire.py      the messages between the two: length-prefixed JSON, arrays as plain bytes
    confine.py   the kernel fences a child raises on itself (limits, Landlock, seccomp, namespaces, uid)
    cgroups.py   one control group per child, where the machine allows
    watchdog.py  the zygote's polling watch over each child, its output pump and the sweep after it
"""

from . import confine
from .confine import set_parent_death_signal
from .host import ChildSession, Limits, ZygoteHandle

__all__ = ["ChildSession", "Limits", "ZygoteHandle", "confine", "set_parent_death_signal"]
