"""Grading a whole class: ``python -m autograder grade-all DIR --out OUT --workers N``.

DIR is nbgrader's ``submitted/`` folder (``submitted/<student>/diffusion/...``; the course folder that
holds it works too), or a flat folder of zips (``<student>.zip``) or of submission folders. OUT gets:

- ``results/<student>/results.json``: Gradescope's results, written (atomically) as each submission
  finishes, with ``grading.json`` beside it: which submission (its fingerprint), how it went, how long;
- ``grades.csv``: one row per submission (status, score, points per task, then the notebook's verdict:
  ``notebook`` is ok, missing, unreadable or incomplete, ``notebook_problems`` says what and how to
  recover; the written answers themselves are graded elsewhere), in the order of the
  students' names, so two runs over the same submissions write the same file; rewritten (atomically)
  each time a result lands, so it always holds every result finished so far;
- ``summary.png``: the histogram of scores and the share of submissions that lost points on each
  task (which tasks the class struggled with).

N workers (processes, each with its own grader and zygote) grade in parallel, with a progress bar.
The batch can be stopped at any time (Ctrl-C, a kill, a reboot) and resumed by running the same
command: a submission whose results.json is complete and whose fingerprint still matches is not
graded again, and one that was half-graded has no results.json, so it is. The resume key holds the
grader's fingerprint too (:mod:`autograder.provenance`: its code, the given package, the locked
versions): after a fix to a check, a change of points or of the hint policy, a rerun regrades every
submission and writes ``changes.csv`` and ``changes.md`` (:mod:`autograder.classroom.changes`): whose
points moved, per task, and the checks that moved them. ``keep_grades`` refuses that instead: it grades
only what was never graded and names the submissions whose grades are outdated. One submission's failure
never stops the batch: a grader error on it is retried once with a fresh zygote, a worker that dies
is replaced and its submission retried once; what still fails gets a results.json of 0 points saying
so (status ``error``, graded again on the next run). The batch stops only if the grader's own files
change under it (which only a submission escaping its sandbox could do): it trusts nothing after that.

``--shard K/N`` grades only the K-th of N shards of the class (:mod:`autograder.classroom.shards`: which
shard a student is in follows from the id alone), into a folder of its own with ``shard.json`` beside;
``grade-all merge`` joins the N folders into what one run over the class writes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..provenance import fingerprints, grader_files, short
from ..report import failure_results, read_json, write_atomically
from .changes import compare, regrade_labels, task_points, write_report
from .shards import Shard, shard_record, write_record

AUTOGRADER_DIR = Path(__file__).resolve().parent.parent
HIDDEN = {"__pycache__", ".ipynb_checkpoints", ".git", "__MACOSX", ".DS_Store"}
FINGERPRINT_BYTES = 256 * 2**20  # read at most this much of a submission; sizes and times for the rest
TAMPERED_EXIT = 3


@dataclass(frozen=True)
class Submission:
    id: str  # the student's name, as a safe folder name
    path: Path  # a zip or a folder


# ------------------------------------------------------------------------------------ finding them
def safe_id(name: str) -> str:
    """``name`` as a folder name: runs of anything but letters, digits, ``._-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def discover(folder: Path, assignment: str = "diffusion") -> list[Submission]:
    """The submissions in ``folder``, sorted by name; ValueError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    if (folder / "submitted").is_dir():  # nbgrader's course folder
        folder = folder / "submitted"
    if (folder / "diffusion_models").is_dir():
        raise ValueError(f"{folder} is one submission: grade it with `python -m autograder grade {folder}`")
    found: list[Submission] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if entry.name in HIDDEN or entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_file() and entry.suffix.lower() == ".zip":
            name, path = entry.stem, entry
        elif entry.is_dir():
            name, path = entry.name, (entry / assignment if (entry / assignment).is_dir() else entry)
        else:
            continue
        ident, n = safe_id(name), 2
        while ident.lower() in taken:
            ident, n = f"{safe_id(name)}-{n}", n + 1
        taken.add(ident.lower())
        found.append(Submission(ident, path))
    if not found:
        raise ValueError(f"no submissions (zips or folders) in {folder}")
    return found


def fingerprint(path: Path) -> str:
    """sha256 of a submission's names and bytes (links as their targets' names, caches skipped)."""
    digest, budget = hashlib.sha256(), FINGERPRINT_BYTES

    def add_file(file: Path, name: str) -> None:
        nonlocal budget
        info = file.lstat()
        digest.update(f"\0{name}\0{info.st_size}\0".encode("utf-8", "surrogateescape"))
        if budget <= 0:
            digest.update(str(info.st_mtime_ns).encode())
            return
        with open(file, "rb") as handle:
            while budget > 0 and (chunk := handle.read(min(1 << 20, budget))):
                digest.update(chunk)
                budget -= len(chunk)

    path = Path(path)
    if path.is_file():
        add_file(path, path.name)
        return digest.hexdigest()
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in HIDDEN)
        for name in sorted(files):
            file = Path(folder, name)
            relative = file.relative_to(path).as_posix()
            if file.is_symlink():
                digest.update(f"\0{relative}\0link\0{os.readlink(file)}".encode("utf-8", "surrogateescape"))
            elif file.is_file():
                add_file(file, relative)
    return digest.hexdigest()


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The files added, removed or changed between two :func:`grader_files` snapshots."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


# ------------------------------------------------------------------------------------ one result
def result_dir(out: Path, submission: Submission) -> Path:
    return out / "results" / submission.id


def finished(out: Path, submission: Submission, print_: str, grader: str) -> bool:
    """Graded before, completely, from the very same files (``print_`` is their fingerprint) by the very
    same grader (``grader``: its fingerprint)."""
    grading = graded_before(out, submission, print_)
    return grading is not None and grading.get("grader") == grader


def graded_before(out: Path, submission: Submission, print_: str) -> dict[str, Any] | None:
    """The grading.json of a complete grading of the very same files, by whichever grader; else None."""
    folder = result_dir(out, submission)
    results, grading = read_json(folder / "results.json"), read_json(folder / "grading.json")
    complete = (
        results is not None
        and isinstance(results.get("tests"), list)
        and grading is not None
        and grading.get("fingerprint") == print_
        and grading.get("status") == "graded"
    )
    return grading if complete else None


def record(folder: Path, grading: dict[str, Any], results: dict[str, Any]) -> None:
    """grading.json, then results.json: a results.json on disk always has its grading.json."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "grading.json", json.dumps(grading, indent=2) + "\n")
    write_atomically(folder / "results.json", json.dumps(results, indent=2) + "\n")


def _error_results(message: str, seconds: float) -> dict[str, Any]:
    return failure_results(
        f"The autograder could not grade this submission ({message}); please tell the course staff.", seconds
    )


# ------------------------------------------------------------------------------------ a worker
def worker_main(config: dict[str, Any]) -> int:
    """Grade the submissions named on stdin, one JSON line (a job) each; answer each with one line on stdout.

    A job: ``{"id", "path", "dir", "fingerprint"}``: the submission's id, its zip or folder, the folder its
    results go to, and its fingerprint when the batch handed it out.
    """
    from ..grader import Grader
    from ..sandbox import set_parent_death_signal

    set_parent_death_signal()  # the batch died (even by SIGKILL): so does this worker, and its zygote
    if os.getppid() != config["parent"]:
        return 0
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # anything printed by accident goes to the worker's log, never into the answers
    sys.stdout = sys.stderr
    work = Path(config["work"])
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o711)
    protected = tuple(Path(p) for p in config["protected"])
    options = {key: config[key] for key in ("device", "threads", "time_scale", "memory_mb")}
    files = grader_files()
    grader = Grader(**options, protected=protected, tmp_root=work)
    try:
        for line in sys.stdin:
            job = json.loads(line)
            answer = _grade_one(grader, job)
            changed = changed_files(files, grader_files())
            if changed:  # grading it may have changed the grader: trust nothing more
                grading_path = Path(job["dir"]) / "grading.json"
                grading = read_json(grading_path) or {}
                grading.update(status="tampered", changed=changed)
                write_atomically(grading_path, json.dumps(grading, indent=2) + "\n")
                answer = {"id": job["id"], "status": "tampered", "changed": changed}
                answers.write(json.dumps(answer) + "\n")
                return TAMPERED_EXIT
            answers.write(json.dumps(answer) + "\n")
    finally:
        grader.close()
    return 0


def _grade_one(grader: Any, job: dict[str, Any]) -> dict[str, Any]:
    from ..public.core import GraderError

    started = time.monotonic()
    message = ""
    for attempt in (1, 2):
        try:
            report = grader.grade(Path(job["path"]))
        except (GraderError, OSError) as err:  # the grader's own failure: once more with a fresh zygote
            message = f"{type(err).__name__}: {err}"
            print(f"grader error on {job['id']} (attempt {attempt}): {message}", file=sys.stderr, flush=True)
            grader.restart()
            continue
        report.seconds = time.monotonic() - started
        results, status = report.results_json(), "graded"
        break
    else:
        results, status = _error_results(message[:500], time.monotonic() - started), "error"
    seconds = round(time.monotonic() - started, 3)
    grading = {
        "submission": job["path"],
        "fingerprint": job["fingerprint"],
        "grader": job["grader"],
        "status": status,
        "seconds": seconds,
        "message": message[:2000],
        "sandbox": grader.sandbox,
    }
    record(Path(job["dir"]), grading, results)
    possible = sum(float(t.get("max_score", 0)) for t in results["tests"])
    return {
        "id": job["id"],
        "status": status,
        "score": results["score"],
        "max_score": possible,
        "seconds": seconds,
    }


# ------------------------------------------------------------------------------------ the batch
class Worker:
    """One worker process, the submission it is grading, and its answers."""

    def __init__(self, number: int, config: dict[str, Any], log: Path) -> None:
        self.number = number
        self.log = open(log, "ab")  # noqa: SIM115 (closed in stop())
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(AUTOGRADER_DIR.parent), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.classroom.batch", "--worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=AUTOGRADER_DIR.parent,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.submission: Submission | None = None  # the one it is grading
        self.buffer = b""

    def send(self, submission: Submission, job: dict[str, Any]) -> None:
        self.submission = submission
        self.stdin.write((json.dumps(job) + "\n").encode())
        self.stdin.flush()

    def answers(self) -> Iterator[dict[str, Any]] | None:
        """The complete answers read now; None when the worker has ended (EOF)."""
        chunk = os.read(self.stdout.fileno(), 65536)
        if not chunk:
            return None
        self.buffer += chunk
        lines = self.buffer.split(b"\n")
        self.buffer = lines.pop()
        return iter([json.loads(line) for line in lines if line.strip()])

    def stop(self) -> None:
        try:
            self.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()


class Interrupted(Exception):
    """SIGINT or SIGTERM: stop handing out work, keep what is finished."""


def raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


@dataclass
class Batch:
    source: Path
    out: Path
    workers: int = 2
    device: str = "cpu"
    threads: int = 1
    time_scale: float = 1.0
    memory_mb: int | None = None
    assignment: str = "diffusion"
    plot: bool = True
    keep_grades: bool = False  # never regrade because the grader changed (module docstring)
    shard: Shard | None = None  # grade only this shard's submissions (autograder.classroom.shards)

    def __post_init__(self) -> None:
        # Absolute, once: the children work in folders under out/ after changing directory, so a
        # relative --out (`make grade-all` passes out/class) would point nowhere for them.
        self.source = Path(self.source).resolve()
        self.out = Path(self.out).resolve()

    def run(self) -> int:
        from tqdm import tqdm

        submissions = discover(self.source, self.assignment)
        self.out.mkdir(parents=True, exist_ok=True)
        self.grader = fingerprints()["grader"]
        prints = {s.id: fingerprint(s.path) for s in submissions}
        if self.shard is not None:  # the whole class is fingerprinted: merge checks every shard saw it
            write_record(self.out, shard_record(self.shard, prints, self.grader))
            submissions = [s for s in submissions if self.shard.holds(s.id)]
        work = self.out / ".work"
        shutil.rmtree(work, ignore_errors=True)  # temporary folders of a run that was killed
        work.mkdir()
        os.chmod(work, 0o711)  # a child with a uid of its own passes through to its folder
        os.chmod(self.out, os.stat(self.out).st_mode | 0o111)
        pending = [s for s in submissions if not finished(self.out, s, prints[s.id], self.grader)]
        previous_grades = self._previous_grades(pending, prints)
        if self.keep_grades and previous_grades:
            pending = [s for s in pending if s.id not in previous_grades]
        done = len(submissions) - len(pending)
        print(
            f"{len(submissions)} submissions in {self.source}"
            + (f" (shard {self.shard} of the class of {len(prints)})" if self.shard is not None else "")
            + f": {done} graded before, {len(pending)} to grade "
            f"with {min(self.workers, len(pending))} workers",
            file=sys.stderr,
        )
        book = GradeBook(self.out, submissions, prints, self.grader)
        book.write()  # from the start: a batch killed at any point leaves a grades.csv of what is done
        bar = tqdm(
            total=len(submissions), initial=done, unit="sub", file=sys.stderr, disable=None, smoothing=0.1
        )
        previous = {s: signal.signal(s, raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            status = self._grade(pending, prints, work, bar, book)
        except Interrupted as why:
            print(
                f"\nstopped ({why}): finished results are kept; run the same command to go on",
                file=sys.stderr,
            )
            status = 130
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            bar.close()
            rows = book.write()
            if status != 130:
                shutil.rmtree(work, ignore_errors=True)
        if self.plot and status != 130 and rows:  # a shard can hold no one
            from .plots import plot_summary

            plot_summary(rows, self.out / "summary.png")
        if previous_grades and not self.keep_grades:
            self._report_changes(previous_grades)
        errors = [row["submission"] for row in rows if row["status"] != "graded"]
        print(
            f"wrote {self.out / 'grades.csv'}"
            + (f" and {self.out / 'summary.png'}" if self.plot and status != 130 and rows else "")
            + (
                f"; not graded: {', '.join(errors[:10])}" + (" ..." if len(errors) > 10 else "")
                if errors
                else ""
            ),
            file=sys.stderr,
        )
        if status == 0 and errors:
            status = 1
        if self.keep_grades and previous_grades:
            print(
                f"kept the grades of {len(previous_grades)} submissions graded by another grader "
                f"({', '.join(sorted(previous_grades)[:10])}{' ...' if len(previous_grades) > 10 else ''}): "
                f"grades.csv says outdated; rerun without --keep-grades to regrade them with grader "
                f"{short(self.grader)}",
                file=sys.stderr,
            )
            status = status or 1
        return status

    def _previous_grades(
        self, pending: list[Submission], prints: dict[str, str]
    ) -> dict[str, dict[str, Any]]:
        """The results.json of each pending submission that a different grader graded completely from
        the same files: what a regrade is compared with."""
        previous = {}
        for submission in pending:
            if graded_before(self.out, submission, prints[submission.id]) is not None:
                previous[submission.id] = read_json(result_dir(self.out, submission) / "results.json") or {}
        return previous

    def _report_changes(self, previous: dict[str, dict[str, Any]]) -> None:
        """changes.csv and changes.md: the regraded submissions, old against new."""
        regraded = {
            student: read_json(self.out / "results" / student / "results.json") or {} for student in previous
        }
        changes = compare(previous, regraded)
        write_report(changes, self.out, len(previous), *regrade_labels(self.grader))
        moved = sorted({c.student for c in changes})
        print(
            f"regraded {len(previous)} submissions graded by another grader; {len(moved)} changed"
            + (f" ({', '.join(moved[:10])}{' ...' if len(moved) > 10 else ''})" if moved else "")
            + f": {self.out / 'changes.md'}",
            file=sys.stderr,
        )

    def _grade(
        self, pending: list[Submission], prints: dict[str, str], work: Path, bar: Any, book: GradeBook
    ) -> int:
        queue = list(pending)
        tries: dict[str, int] = {}
        workers: list[Worker] = []
        selector = selectors.DefaultSelector()
        started = 0

        def start() -> Worker:
            nonlocal started
            started += 1
            config = {
                "device": self.device,
                "threads": self.threads,
                "time_scale": self.time_scale,
                "memory_mb": self.memory_mb,
                "protected": [str(self.source.resolve()), str(self.out.resolve())],
                "work": str(work / f"worker-{started}"),
                "parent": os.getpid(),
            }
            worker = Worker(started, config, work / f"worker-{started}.log")
            selector.register(worker.stdout, selectors.EVENT_READ, worker)
            workers.append(worker)
            return worker

        def hand_out(worker: Worker) -> None:
            if not queue:
                worker.submission = None
                return
            submission = queue.pop(0)
            tries[submission.id] = tries.get(submission.id, 0) + 1
            worker.send(
                submission,
                {
                    "id": submission.id,
                    "path": str(submission.path.resolve()),
                    "dir": str(result_dir(self.out, submission)),
                    "fingerprint": prints[submission.id],
                    "grader": self.grader,
                },
            )

        try:
            for _ in range(min(self.workers, len(queue))):
                hand_out(start())
            while any(w.submission is not None for w in workers):
                for key, _ in selector.select(timeout=1.0):
                    worker: Worker = key.data
                    answers = worker.answers()
                    if answers is None:  # the worker died: replace it, retry its submission once
                        selector.unregister(worker.stdout)
                        workers.remove(worker)
                        worker.kill()
                        lost = worker.submission
                        if lost is not None:
                            if tries[lost.id] < 2:
                                queue.insert(0, lost)
                            else:
                                self._give_up(lost, prints[lost.id], "its grading process died twice")
                                book.refresh(lost.id)
                                bar.update(1)
                        if queue:
                            hand_out(start())
                        continue
                    for answer in answers:
                        if answer.get("status") == "tampered":
                            print(
                                f"\nThe grader's own files changed while it graded {answer['id']} "
                                f"({', '.join(answer.get('changed', [])[:5])}): stopping. "
                                "Results before it are kept; check the grader's files before going on.",
                                file=sys.stderr,
                            )
                            return TAMPERED_EXIT
                        book.refresh(answer["id"])
                        bar.update(1)
                        line = f"{answer['id']}: {answer['score']:g}/{answer['max_score']:g} ({answer['status']}, {answer['seconds']:.1f} s)"
                        if bar.disable:
                            print(line, file=sys.stderr, flush=True)
                        else:
                            bar.set_postfix_str(line, refresh=True)
                        hand_out(worker)
        finally:
            for worker in workers:
                if worker.submission is None:
                    worker.stop()
                else:
                    worker.kill()
            selector.close()
        return 0

    def _give_up(self, submission: Submission, print_: str, why: str) -> None:
        grading = {
            "submission": str(submission.path),
            "fingerprint": print_,
            "grader": self.grader,
            "status": "error",
            "seconds": 0.0,
            "message": why,
        }
        record(result_dir(self.out, submission), grading, _error_results(why, 0.0))


# ------------------------------------------------------------------------------------ grades.csv
def task_order() -> list[str]:
    from ..checks import all_groups

    return [task for group in all_groups() for task in group.tasks]


def grade_row(
    out: Path, submission: Submission, tasks: list[str], print_: str | None = None, grader: str | None = None
) -> dict[str, Any]:
    """One row of grades.csv: status, score, possible, points per task, the grader that graded it.

    The status is ``graded``, ``error`` (the grader could not grade it; graded again on the next run),
    ``pending`` (no result yet) or ``outdated`` (graded from files that have changed since, when
    ``print_``, the submission's fingerprint now, is given, or by another grader than ``grader``, the
    grader's fingerprint now; graded again on the next run).
    """
    folder = result_dir(out, submission)
    results, grading = read_json(folder / "results.json"), read_json(folder / "grading.json") or {}
    row: dict[str, Any] = {"submission": submission.id, "status": "pending", "score": "", "max_score": ""}
    row.update(notebook="", notebook_problems="")
    row.update({task: "" for task in tasks})
    if results is None or not isinstance(results.get("tests"), list):
        return row
    row["status"] = str(grading.get("status", "graded"))
    if print_ is not None and grading.get("fingerprint") != print_:
        row["status"] = "outdated"
    if grader is not None and grading.get("grader") != grader:
        row["status"] = "outdated"
    row["grader"] = short(str(grading.get("grader", "")))
    row["score"] = f"{float(results.get('score', 0)):g}"
    notebook = (
        results.get("extra_data", {}).get("notebook") if isinstance(results.get("extra_data"), dict) else None
    )
    if isinstance(notebook, dict):
        row["notebook"] = str(notebook.get("flag", ""))
        row["notebook_problems"] = " ".join(str(p) for p in notebook.get("problems", []))
    totals = task_points(results)
    earned = {task: points for task, (points, _) in totals.items()}
    possible = {task: points for task, (_, points) in totals.items()}
    row["max_score"] = f"{sum(possible.values()):g}" if possible else ""
    for task in tasks:
        if task in earned:
            row[task] = f"{earned[task]:g}"
    row["_possible"] = possible
    return row


class GradeBook:
    """grades.csv, kept up to date: rewritten (atomically) each time a submission's result lands."""

    def __init__(
        self,
        out: Path,
        submissions: list[Submission],
        prints: dict[str, str] | None = None,
        grader: str | None = None,
    ) -> None:
        self.out, self.submissions, self.prints, self.grader = out, submissions, prints or {}, grader
        self.tasks = task_order()
        self.by_id = {s.id: s for s in submissions}
        self.rows = {s.id: self._row(s) for s in submissions}

    def _row(self, submission: Submission) -> dict[str, Any]:
        return grade_row(self.out, submission, self.tasks, self.prints.get(submission.id), self.grader)

    def refresh(self, submission_id: str) -> None:
        """Read one submission's result again (it has just been written), then rewrite grades.csv."""
        if submission_id in self.by_id:
            self.rows[submission_id] = self._row(self.by_id[submission_id])
        self.write()

    def write(self) -> list[dict[str, Any]]:
        """grades.csv, in the order of the submissions; returns its rows."""
        rows = [self.rows[s.id] for s in self.submissions]
        text = io.StringIO()
        fields = [
            "submission",
            "status",
            "score",
            "max_score",
            *self.tasks,
            "notebook",
            "notebook_problems",
            "grader",
        ]
        writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(self.out / "grades.csv", text.getvalue())
        return rows


# ------------------------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.classroom.batch --worker CONFIG`` (what the batch runs; users type grade-all)."""
    parser = argparse.ArgumentParser(
        description="a grade-all worker (started by python -m autograder grade-all)"
    )
    parser.add_argument("--worker", required=True, help="the worker's configuration, as JSON")
    args = parser.parse_args(argv)
    return worker_main(json.loads(args.worker))


if __name__ == "__main__":
    sys.exit(main())
