"""Solution markers in the .py files of ``solutions/``, and the two ways of resolving them.

A solution region is

    ### BEGIN SOLUTION task 2.1.2: mean of the reverse step, Algorithm 2
    ...the instructor's code...
    ### END SOLUTION

The student stub replaces it by a TODO and ``raise NotImplementedError("task 2.1.2: ...")`` at the
marker's indentation; the reference keeps the code and drops the two marker lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\b(?P<rest>.*)$")
END = re.compile(r"^[ \t]*### END SOLUTION\b(?P<rest>.*)$")
NAMED = re.compile(r"^ task (?P<task>\d+(?:\.\d+)*[a-z]?):\s*(?P<what>\S.*?)\s*$")


class MarkerError(ValueError):
    """A malformed solution marker, reported as ``file:line: problem``."""

    def __init__(self, path: Path | str, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem = path, line, problem


@dataclass(frozen=True)
class Region:
    """One solution region: 1-based line numbers of its two markers, its task and description."""

    begin: int
    end: int
    task: str
    what: str
    indent: str


def find_regions(text: str, path: Path | str = "<text>") -> list[Region]:
    """Every solution region of ``text``; MarkerError on unbalanced, nested or unnamed markers."""
    regions: list[Region] = []
    open_at: tuple[int, str, str, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(
                    path, number, f"BEGIN SOLUTION nested inside the region opened on line {open_at[0]}"
                )
            named = NAMED.match(begin["rest"])
            if named is None:
                raise MarkerError(
                    path,
                    number,
                    "BEGIN SOLUTION must name its task and say what it is, e.g. "
                    "'### BEGIN SOLUTION task 2.1.2: reverse step, Algorithm 2'",
                )
            open_at = (number, named["task"], named["what"], begin["indent"])
        elif end:
            if open_at is None:
                raise MarkerError(path, number, "END SOLUTION without a BEGIN SOLUTION before it")
            if end["rest"].strip():
                raise MarkerError(path, number, "END SOLUTION takes nothing after it")
            first, task, what, indent = open_at
            if first + 1 == number:
                raise MarkerError(path, number, f"the region of task {task} opened on line {first} is empty")
            regions.append(Region(first, number, task, what, indent))
            open_at = None
    if open_at is not None:
        raise MarkerError(
            path, open_at[0], f"BEGIN SOLUTION task {open_at[1]} is never closed by END SOLUTION"
        )
    return regions


def _rewrite(text: str, path: Path | str, replace) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    cursor = 0
    for region in find_regions(text, path):
        out.extend(lines[cursor : region.begin - 1])
        out.extend(replace(region, lines[region.begin : region.end - 1]))
        cursor = region.end
    out.extend(lines[cursor:])
    return "".join(out)


def to_stub(text: str, path: Path | str = "<text>") -> str:
    """The student version: each region becomes a TODO and a NotImplementedError naming its task."""

    def stub(region: Region, _body: list[str]) -> list[str]:
        message = f"task {region.task}: {region.what}"
        quoted = '"' + message.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return [
            f"{region.indent}# TODO {message}\n",
            f"{region.indent}raise NotImplementedError({quoted})\n",
        ]

    return _rewrite(text, path, stub)


def to_reference(text: str, path: Path | str = "<text>") -> str:
    """The instructor version: the marker lines removed, the solutions kept."""
    return _rewrite(text, path, lambda _region, body: body)
