"""The class at a glance: ``summary.png`` of a ``grade-all`` run.

Left, the histogram of total scores of the graded submissions (mean and median marked); right, for
each task, the share of graded submissions that lost points on it, so the tasks the class struggled
with stand out.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any


def failure_rates(rows: list[dict[str, Any]], tasks: list[str]) -> dict[str, float]:
    """task -> share of graded submissions that earned less than the task's points."""
    graded = [row for row in rows if row["status"] == "graded" and row.get("_possible")]
    rates = {}
    for task in tasks:
        held = [row for row in graded if task in row["_possible"] and row[task] != ""]
        if held:
            lost = sum(float(row[task]) < row["_possible"][task] for row in held)
            rates[task] = lost / len(held)
    return rates


def plot_summary(rows: list[dict[str, Any]], target: Path) -> Path:
    """Write the two panels to ``target`` (a PNG); returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    graded = [row for row in rows if row["status"] == "graded" and row["score"] != ""]
    scores = [float(row["score"]) for row in graded]
    possible = max((float(row["max_score"]) for row in graded if row["max_score"] != ""), default=0.0)
    tasks = [key for key in rows[0] if key not in ("submission", "status", "score", "max_score", "_possible")]
    rates = failure_rates(rows, tasks)

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    if scores:
        bins = max(5, min(20, int(possible) // 5 or 5))
        left.hist(
            scores, bins=bins, range=(0, possible or max(scores) or 1), color="#4c72b0", edgecolor="white"
        )
        mean, median = statistics.fmean(scores), statistics.median(scores)
        left.axvline(mean, color="#dd8452", linestyle="--", label=f"mean {mean:.1f}")
        left.axvline(median, color="#55a868", linestyle=":", label=f"median {median:.1f}")
        left.legend(loc="upper center")
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        left.text(0.5, 0.5, "nothing graded yet", ha="center", va="center", transform=left.transAxes)
    left.set_xlabel(f"score (out of {possible:g})")
    left.set_ylabel("submissions")
    left.set_title(f"Scores of {len(scores)} graded submissions ({len(rows) - len(scores)} not graded)")

    names = list(rates)
    values = [100 * rates[name] for name in names]
    bars = right.barh(names[::-1], values[::-1], color="#c44e52")
    right.bar_label(bars, labels=[f"{v:.0f}%" for v in values[::-1]], padding=3)
    right.set_xlim(0, 110)
    right.set_xlabel("submissions that lost points on the task (%)")
    right.set_title("Where the class struggled")
    target = Path(target)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
