"""``nbgrader autograde`` of a whole class, N students at once: ``make nbgrader-autograde WORKERS=N``.

    python -m autograder.nbgrader.parallel [--course .] [--workers 2] [--force]

nbgrader autogrades one student after another (jupyter/nbgrader#174). Here N worker processes each run
nbgrader's own ``nbgrader autograde diffusion --student X`` (its ``NbGraderApp``, in the worker's process,
as nbgrader's test suite runs it: initialize, start, reset), one student at a time, so that a worker's
sandboxed grader keeps its zygote from one student to the next (:mod:`autograder.nbgrader.scores`). Every
kernel is nbgrader's fenced one (``nbgrader_config.py``; its "Kernel of X fenced" line is in the log).

The gradebook (one SQLite writer), the course folder's ``gradebook.db`` (nbgrader's default
``db_url``): a worker never writes it. Each student is autograded
against a copy of it taken just before, into a folder of its own
(``.nbgrader-parallel/work/<n>/autograded/X/diffusion``); then this process, the only writer, merges the
copy's rows of that student into ``gradebook.db`` in one transaction (:mod:`.gradebook_merge`, which
refuses a merge that would lose or guess anything) and moves the folder to ``autograded/X/diffusion``.
The gradebook ends with the rows a serial ``nbgrader autograde`` writes, a failed student's included.

Resumable: a student is graded again only when ``autograded/X/diffusion`` is missing, the gradebook has
no submission of X, or ``submitted/X/diffusion`` changed since (its fingerprint, in
``.nbgrader-parallel/graded.json``); ``--force`` regrades every student. A class autograded serially
before is graded again once (nothing says which files those runs graded). One student's failure never
stops the others: nbgrader's own (its exit status 1) leaves that student without ``autograded/X``, as a
serial run does; a worker that dies is replaced and its student tried once more. The exit status is 1
when any student failed, 130 when interrupted (what was merged stays; rerun to go on).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.classroom.batch import Interrupted, fingerprint, raise_interrupted
from autograder.nbgrader.gradebook_merge import MergeRefused, Snapshot, merge, snapshot
from autograder.report import write_atomically

ASSIGNMENT = "diffusion"
STATE = ".nbgrader-parallel"  # in the course folder: the ledger, the lock, the workers' folders
KIT_ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------ a worker
def autograde(student: str, db: Path, autograded: str, assignment: str = ASSIGNMENT) -> int:
    """``nbgrader autograde ASSIGNMENT --student STUDENT`` in this process, against the gradebook ``db``,
    writing into ``autograded`` (relative to the course folder, the current directory); its exit status."""
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp

    argv = ["autograde", assignment, "--student", glob.escape(student)]
    argv += [
        f"--CourseDirectory.db_url=sqlite:///{db}",
        f"--CourseDirectory.autograded_directory={autograded}",
    ]
    path, app = list(sys.path), NbGraderApp.instance()
    try:
        app.initialize(argv)
        app.start()
        status = 0
    except NoStart:  # how NbGraderApp ends once its subcommand has run (nbgrader.tests.run_nbgrader)
        status = 0
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    except Exception:  # nbgrader's own failure: the student fails, the worker goes on
        app.log.exception("nbgrader autograde %s --student %s failed", assignment, student)
        status = 1
    finally:
        app.reset()
        sys.path[:] = path  # nbgrader and nbgrader_config.py put the course first, once per run
    return status


def worker_main(parent: int) -> int:
    """Autograde the students named on stdin (one JSON job a line); answer each with one line on stdout."""
    from autograder.sandbox import set_parent_death_signal

    set_parent_death_signal()  # the driver died: so does this worker, and its grader's zygote
    if os.getppid() != parent:
        return 0
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # nbgrader's prints go to the log, never into the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        job = json.loads(line)
        started = time.monotonic()
        status = autograde(job["student"], Path(job["db"]), job["autograded"], job["assignment"])
        answers.write(json.dumps({"status": status, "seconds": time.monotonic() - started}) + "\n")
    return 0


class Worker:
    """One worker process and the job it is on."""

    def __init__(self, course: Path) -> None:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader's alembic
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(KIT_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.nbgrader.parallel", "--worker", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=course,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.job: Job | None = None
        self.buffer = b""

    def send(self, job: Job) -> None:
        self.job = job
        line = {"student": job.student, "db": str(job.snapshot.path), "autograded": job.autograded}
        line["assignment"] = job.assignment
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(line) + "\n").encode())
        self.process.stdin.flush()

    def answers(self) -> Iterator[dict[str, Any]] | None:
        """The answers complete now; None when the worker has ended."""
        assert self.process.stdout is not None
        chunk = os.read(self.process.stdout.fileno(), 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return iter([json.loads(line) for line in lines if line.strip()])

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ------------------------------------------------------------------------------------ the class
@dataclass
class Job:
    student: str
    number: int
    assignment: str
    snapshot: Snapshot
    tries: int = 1

    @property
    def autograded(self) -> str:
        return f"{STATE}/work/{self.number}/autograded"


@dataclass
class ParallelAutograde:
    course: Path
    workers: int = 2
    force: bool = False
    assignment: str = ASSIGNMENT
    failed: dict[str, str] = field(default_factory=dict)  # student -> why
    graded: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.course = Path(self.course).resolve()
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        if not (self.course / "nbgrader_config.py").is_file():
            raise ValueError(f"--course {self.course} holds no nbgrader_config.py: give the course folder")
        self.state = self.course / STATE
        self.gradebook = self.course / "gradebook.db"
        self.ledger_path = self.state / "graded.json"
        self.jobs = 0

    # -------------------------------------------------------------- which students
    def students(self) -> list[str]:
        """Every student with a folder ``submitted/X/<assignment>``, sorted."""
        folders = sorted((self.course / "submitted").glob(f"*/{self.assignment}"))
        return [f.parent.name for f in folders if f.is_dir() and not f.parent.name.startswith(".")]

    def ledger(self) -> dict[str, str]:
        try:
            value = json.loads(self.ledger_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _submitted(self, student: str) -> Path:
        return self.course / "submitted" / student / self.assignment

    def _autograded(self, student: str) -> Path:
        return self.course / "autograded" / student / self.assignment

    def done_before(self, student: str, ledger: dict[str, str], in_gradebook: set[str]) -> bool:
        """Autograded before from the very same submitted files, and still in autograded/ and the gradebook."""
        return (
            ledger.get(student) == fingerprint(self._submitted(student))
            and self._autograded(student).is_dir()
            and student in in_gradebook
        )

    def _in_gradebook(self) -> set[str]:
        import sqlite3

        db = sqlite3.connect(self.gradebook)
        try:
            query = (
                "SELECT s.student_id FROM submitted_assignment s JOIN assignment a ON s.assignment_id = a.id "
                "WHERE a.name = ?"
            )
            return {row[0] for row in db.execute(query, (self.assignment,))}
        finally:
            db.close()

    # -------------------------------------------------------------- the run
    def run(self) -> int:
        if not self.gradebook.is_file():
            raise ValueError(f"no gradebook.db in {self.course}: run `make nbgrader-setup` first")
        self.state.mkdir(exist_ok=True)
        with open(self.state / "lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"another parallel autograde runs in {self.course}: wait for it") from None
            shutil.rmtree(self.state / "work", ignore_errors=True)  # the folders of a run that was killed
            (self.state / "work").mkdir()
            return self._run_locked()

    def _run_locked(self) -> int:
        students, ledger, in_gradebook = self.students(), self.ledger(), self._in_gradebook()
        pending = [s for s in students if self.force or not self.done_before(s, ledger, in_gradebook)]
        workers = min(self.workers, len(pending))
        print(
            f"{len(students)} students in {self.course / 'submitted'}: {len(students) - len(pending)} "
            f"autograded before, {len(pending)} to autograde with {workers} workers",
            file=sys.stderr,
            flush=True,
        )
        previous = {s: signal.signal(s, raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._grade(pending, workers)
        except Interrupted as why:
            print(f"stopped ({why}): what was merged is kept; run the same command to go on", file=sys.stderr)
            return 130
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        shutil.rmtree(self.state / "work", ignore_errors=True)
        for student, why in sorted(self.failed.items()):
            print(f"not autograded: {student}: {why}", file=sys.stderr)
        print(
            f"autograded {len(self.graded)} students, {len(self.failed)} failed"
            + (f" ({', '.join(sorted(self.failed))})" if self.failed else ""),
            file=sys.stderr,
        )
        return 1 if self.failed else 0

    def _job(self, student: str, tries: int = 1) -> Job:
        self.jobs += 1
        folder = self.state / "work" / str(self.jobs)
        folder.mkdir(parents=True)
        taken = snapshot(self.gradebook, folder / "gradebook.db", student, self.assignment)
        return Job(student, self.jobs, self.assignment, taken, tries)

    def _grade(self, pending: list[str], workers: int) -> None:
        queue = list(pending)
        running: list[Worker] = []
        selector = selectors.DefaultSelector()

        def hand_out(worker: Worker, job: Job | None = None) -> None:
            worker.job = None
            if job is None and queue:
                job = self._job(queue.pop(0))
            if job is not None:
                worker.send(job)

        def start() -> Worker:
            worker = Worker(self.course)
            assert worker.process.stdout is not None
            selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
            running.append(worker)
            return worker

        try:
            for _ in range(workers):
                hand_out(start())
            while any(w.job is not None for w in running):
                for key, _ in selector.select(timeout=1.0):
                    worker: Worker = key.data
                    answers = worker.answers()
                    if answers is None:
                        self._replace_dead(worker, selector, running, start, hand_out)
                        continue
                    for answer in answers:
                        assert worker.job is not None
                        self._finish(worker.job, int(answer["status"]), float(answer["seconds"]))
                        hand_out(worker)
        finally:
            for worker in running:
                worker.stop(kill=worker.job is not None)
            selector.close()

    def _replace_dead(
        self, worker: Worker, selector: Any, running: list[Worker], start: Any, hand_out: Any
    ) -> None:
        """A worker died (killed, out of memory): its student once more in a new worker, then failed."""
        selector.unregister(worker.process.stdout)
        running.remove(worker)
        job, worker.job = worker.job, None
        worker.stop(kill=True)
        if job is None:
            return
        if job.tries < 2:
            hand_out(start(), self._job(job.student, job.tries + 1))
        else:
            self._failed(job.student, f"its worker died twice (exit status {worker.process.returncode})")
            hand_out(start())

    # -------------------------------------------------------------- one student done
    def _finish(self, job: Job, status: int, seconds: float) -> None:
        """nbgrader ended for ``job``: its rows into gradebook.db (one writer: this process), then its
        folder into autograded/ and the ledger, or the student marked failed."""
        try:
            merge(self.gradebook, job.snapshot, job.student, job.assignment)
        except MergeRefused as refused:
            self._failed(job.student, str(refused))
            return
        staged = self.course / job.autograded / job.student / job.assignment
        if status != 0 or not staged.is_dir():
            self._failed(job.student, f"nbgrader autograde failed (exit status {status}): see its log above")
            return
        target = self._autograded(job.student)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.replace(target, self.course / job.autograded / job.student / f".{job.assignment}.old")
        os.replace(staged, target)
        ledger = self.ledger()
        ledger[job.student] = fingerprint(self._submitted(job.student))
        write_atomically(self.ledger_path, json.dumps(ledger, indent=1, sort_keys=True) + "\n")
        self.graded.append(job.student)
        print(f"{job.student}: autograded in {seconds:.1f} s", file=sys.stderr, flush=True)
        shutil.rmtree(self.course / job.autograded, ignore_errors=True)

    def _failed(self, student: str, why: str) -> None:
        """A failed student has no autograded folder and no ledger entry, as after a serial run."""
        self.failed[student] = why
        shutil.rmtree(self._autograded(student), ignore_errors=True)
        ledger = self.ledger()
        if ledger.pop(student, None) is not None:
            write_atomically(self.ledger_path, json.dumps(ledger, indent=1, sort_keys=True) + "\n")
        print(f"{student}: FAILED: {why}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.nbgrader.parallel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (default: here)")
    parser.add_argument("--workers", type=int, default=2, help="students autograded at once (default 2)")
    parser.add_argument("--force", action="store_true", help="autograde every student again")
    parser.add_argument("--assignment", default=ASSIGNMENT, help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # the driver's pid: run as its worker
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker_main(args.worker)
    try:
        driver = ParallelAutograde(args.course, args.workers, args.force, args.assignment)
        return driver.run()
    except ValueError as error:
        parser.error(str(error))
    return 2


if __name__ == "__main__":
    sys.exit(main())
