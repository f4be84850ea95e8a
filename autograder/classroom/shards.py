"""A class graded on many machines: ``grade-all DIR --shard K/N`` and ``grade-all merge``.

1. **Who is in shard K of N** is decided by the student's id alone: shard ``1 + sha256(id) mod N``.
   Every shard process agrees without talking to the others, whatever order they start in, and a
   resubmission stays in its shard.
2. **Each shard's folder** is an ordinary grade-all folder (results/, grades.csv of its own rows,
   resumable) plus ``shard.json``: the shard, the whole class in grade-all's order with each
   submission's fingerprint, the shard's members and the grader's fingerprint.
3. **Merge** reads the shard.json files and refuses what would not add up to one run: a shard missing
   or given twice, splits of different sizes, shards that saw different classes (other students,
   other files) or were graded by different graders. It then copies each member's
   ``results/<id>/`` and writes grades.csv (the class's order) and summary.png, exactly as one run
   over the whole class writes them; when the shards regraded what another grader graded, their
   changes.csv and changes.md are joined into the class's.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..provenance import short
from ..report import read_json, write_atomically

SHARD_FILE = "shard.json"
SHARD_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1 .. count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, submission_id: str) -> bool:
        return shard_of(submission_id, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"K/N"`` as a Shard; ValueError naming ``--shard`` and the fix otherwise."""
    match = SHARD_FORMAT.match(text)
    if match is None:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. --shard 1/3 for the first of three shards")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(
            f"--shard {text}: K must be between 1 and N (N at least 1), e.g. --shard 1/{max(count, 1)}"
        )
    return Shard(index, count)


def shard_of(submission_id: str, count: int) -> int:
    """The shard (1 .. count) that grades ``submission_id``: from its sha256, so every process agrees."""
    digest = hashlib.sha256(submission_id.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


# ------------------------------------------------------------------------------------ a shard's record
def shard_record(shard: Shard, prints: dict[str, str], grader: str) -> dict[str, Any]:
    """What shard.json holds. ``prints``: the whole class, id -> fingerprint, in grade-all's order."""
    return {
        "shard": str(shard),
        "class": [{"id": ident, "fingerprint": print_} for ident, print_ in prints.items()],
        "members": [ident for ident in prints if shard.holds(ident)],
        "grader": grader,
    }


def write_record(out: Path, record: dict[str, Any]) -> None:
    """``out/shard.json``; ValueError when ``out`` already holds another shard (each needs its own folder)."""
    previous = read_json(out / SHARD_FILE)
    if previous is not None and previous.get("shard") != record["shard"]:
        raise ValueError(
            f"{out} holds shard {previous.get('shard')}, not {record['shard']}: give each shard its own --out"
        )
    write_atomically(out / SHARD_FILE, json.dumps(record, indent=2) + "\n")


def read_record(folder: Path) -> dict[str, Any]:
    """A shard folder's shard.json; ValueError saying what to run when it is not one."""
    record = read_json(Path(folder) / SHARD_FILE)
    if record is None or not {"shard", "class", "members", "grader"} <= record.keys():
        raise ValueError(
            f"{folder} is not a shard's folder (no readable {SHARD_FILE}): "
            "give the --out folders of `grade-all DIR --shard K/N` runs"
        )
    return record


# ------------------------------------------------------------------------------------ merging
def check_shards(records: dict[Path, dict[str, Any]]) -> None:
    """ValueError unless the shards are exactly 1/N .. N/N of one class, graded by one grader."""
    shards = {folder: parse_shard(str(record["shard"])) for folder, record in records.items()}
    counts = sorted({shard.count for shard in shards.values()})
    if len(counts) > 1:
        raise ValueError(
            f"shards of different splits ({', '.join(f'N={n}' for n in counts)}): merge one split"
        )
    count = counts[0]
    seen: dict[int, Path] = {}
    for folder, shard in shards.items():
        if shard.index in seen:
            raise ValueError(f"shard {shard} given twice: {seen[shard.index]} and {folder}")
        seen[shard.index] = folder
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        raise ValueError(f"shard {', '.join(missing)} missing: give all {count} shards' folders")
    first_folder, first = next(iter(records.items()))
    for folder, record in records.items():
        if record["class"] != first["class"]:
            differ = _differences(record["class"], first["class"])
            raise ValueError(
                f"{folder} and {first_folder} saw different classes ({', '.join(differ[:10])}: other "
                "students or other files): rerun every shard on the same submissions folder (what is "
                "graded already is kept)"
            )
        if record["grader"] != first["grader"]:
            raise ValueError(
                f"{folder} was graded by grader {short(record['grader'])}, {first_folder} by "
                f"{short(first['grader'])}: regrade the shards with one grader"
            )
    members = [ident for record in records.values() for ident in record["members"]]
    everyone = [entry["id"] for entry in first["class"]]
    if sorted(members) != sorted(everyone):
        raise ValueError("the shards' members are not the class, each student once: regrade the shards")


def _differences(one: list[dict[str, str]], other: list[dict[str, str]]) -> list[str]:
    """The students whose submissions two class lists disagree on (missing from one, or other files)."""
    prints, others = ({e["id"]: e["fingerprint"] for e in entries} for entries in (one, other))
    return sorted(i for i in prints.keys() | others.keys() if prints.get(i) != others.get(i)) or [
        "their order"
    ]


def merge(out: Path, folders: list[Path], plot: bool = True) -> int:
    """Join the shards' folders into ``out`` as one grade-all run would have written it; the exit status
    of that run: 0 when every submission was graded, 1 when some were not (their rows say why)."""
    from .batch import GradeBook, Submission

    folders = [Path(folder).resolve() for folder in folders]
    out = Path(out).resolve()
    if out in folders:
        raise ValueError(f"--out {out} is one of the shards: merge into a folder of its own")
    records = {folder: read_record(folder) for folder in folders}
    check_shards(records)
    first = next(iter(records.values()))
    out.mkdir(parents=True, exist_ok=True)
    for folder, record in records.items():
        for ident in record["members"]:
            _copy_results(folder / "results" / ident, out / "results" / ident)
    submissions = [Submission(entry["id"], Path(entry["id"])) for entry in first["class"]]
    prints = {entry["id"]: entry["fingerprint"] for entry in first["class"]}
    rows = GradeBook(out, submissions, prints, first["grader"]).write()
    if plot:
        from .plots import plot_summary

        plot_summary(rows, out / "summary.png")
    _merge_changes(out, folders, first["grader"])
    not_graded = [row["submission"] for row in rows if row["status"] != "graded"]
    print(
        f"merged {len(folders)} shards of {len(submissions)} submissions into {out / 'grades.csv'}"
        + (
            f"; not graded: {', '.join(not_graded[:10])}" + (" ..." if len(not_graded) > 10 else "")
            if not_graded
            else ""
        ),
        file=sys.stderr,
    )
    return 1 if not_graded else 0


def _merge_changes(out: Path, folders: list[Path], grader: str) -> None:
    """changes.csv and changes.md of the class, when shards regraded what another grader graded: their
    reports joined, students in order, as one run's regrade would have written them."""
    from .changes import read_report, regrade_labels, write_report

    reports = [report for folder in folders if (report := read_report(folder)) is not None]
    if not reports:
        return
    found = [change for changes, _ in reports for change in changes]
    changes = sorted(
        found, key=lambda change: change.student
    )  # stable: each student's tasks keep their order
    write_report(changes, out, sum(compared for _, compared in reports), *regrade_labels(grader))


def _copy_results(source: Path, target: Path) -> None:
    """A member's results folder, replacing what an earlier merge left there; nothing when it has none
    (never graded: its row says pending)."""
    if target.exists():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target)
