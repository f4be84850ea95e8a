"""Trajectories drawn over the map of the task: obstacle, goal region, start band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .environment import PlanarReachConfig

OUTCOME_COLOURS = {"success": "tab:blue", "collision": "tab:red", "timeout": "tab:orange"}


def outcome(info: dict) -> str:
    """'success', 'collision' or 'timeout' from an episode's final info."""
    if info.get("success"):
        return "success"
    return "collision" if info.get("collision") else "timeout"


def plot_trajectories(
    ax,
    trajectories: Sequence[np.ndarray],
    outcomes: Sequence[str] | None = None,
    config: PlanarReachConfig | None = None,
    title: str | None = None,
):
    """Draw the map on a matplotlib ``ax`` and each trajectory (L, >=2) of positions over it.

    Args:
        ax: a matplotlib Axes.
        trajectories: each (L, 2) (or (L, S) with x, y first) in time order.
        outcomes: one of OUTCOME_COLOURS' keys per trajectory (colours the line), or None for grey.
        config: the environment's geometry.
        title: the axes' title.

    Returns:
        ax.
    """
    from matplotlib import patches

    cfg = config or PlanarReachConfig()
    (x0, y0), (x1, y1) = cfg.start_low, cfg.start_high
    ax.add_patch(patches.Rectangle((x0, y0), x1 - x0, y1 - y0, color="0.9", zorder=0))
    ax.add_patch(patches.Circle(cfg.obstacle_center, cfg.obstacle_radius, color="0.45", zorder=1))
    ax.add_patch(patches.Circle(cfg.goal, cfg.goal_radius, color="tab:green", alpha=0.5, zorder=1))
    for i, trajectory in enumerate(trajectories):
        trajectory = np.asarray(trajectory)
        colour = "0.3" if outcomes is None else OUTCOME_COLOURS[outcomes[i]]
        ax.plot(trajectory[:, 0], trajectory[:, 1], color=colour, lw=0.8, alpha=0.7, zorder=2)
        ax.plot(trajectory[-1, 0], trajectory[-1, 1], "o", color=colour, ms=2.5, zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax
