"""Demonstrations in the replay-buffer layout of the Diffusion Policy code base (Chi et al. 2023).

All episodes are concatenated along the first axis; ``meta/episode_ends`` holds the exclusive end
index of each one, so episode i spans ``[episode_ends[i-1], episode_ends[i])`` with
``episode_ends[-1]`` = number of steps:

    data/state         (N, state_dim)   the observation before each action
    data/action        (N, action_dim)
    meta/episode_ends  (E,) int         cumulative, strictly increasing

The loader reads that layout from a zarr store (the Push-T file ``pusht_cchi_v7_replay.zarr`` is
one: its states are (N, 5) = agent x, y, block x, y, angle), from an ``.npz`` file, or from a dict
keyed either ``"data/state"`` or ``{"data": {"state": ...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KEYS = {"states": "data/state", "actions": "data/action", "episode_ends": "meta/episode_ends"}


@dataclass
class ReplayBuffer:
    """Concatenated episodes: states (N, S) float32, actions (N, A) float32, episode_ends (E,) int64."""

    states: np.ndarray
    actions: np.ndarray
    episode_ends: np.ndarray

    def __post_init__(self) -> None:
        self.states = np.asarray(self.states, dtype=np.float32)
        self.actions = np.asarray(self.actions, dtype=np.float32)
        self.episode_ends = np.asarray(self.episode_ends, dtype=np.int64)
        check_episodes(len(self.states), self.episode_ends)
        if self.states.ndim != 2 or self.actions.ndim != 2:
            raise ValueError(
                f"states and actions must be 2-D (N, dim), got {self.states.shape} and {self.actions.shape}"
            )
        if len(self.actions) != len(self.states):
            raise ValueError(f"states has {len(self.states)} steps but actions has {len(self.actions)}")

    @property
    def num_episodes(self) -> int:
        return len(self.episode_ends)

    @property
    def episode_starts(self) -> np.ndarray:
        """(E,) the first index of each episode."""
        return np.concatenate([[0], self.episode_ends[:-1]])

    def episode(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(states (L, S), actions (L, A)) of episode ``index``."""
        start, end = self.episode_starts[index], self.episode_ends[index]
        return self.states[start:end], self.actions[start:end]


def check_episodes(num_steps: int, episode_ends: np.ndarray, name: str = "episode_ends") -> None:
    """episode_ends must be 1-D, strictly increasing, positive, and end at num_steps."""
    ends = np.asarray(episode_ends)
    if ends.ndim != 1 or len(ends) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of end indices, got shape {ends.shape}")
    if not np.issubdtype(ends.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {ends.dtype}")
    if ends[0] < 1 or np.any(np.diff(ends) < 1):
        raise ValueError(f"{name} must be positive and strictly increasing (no empty episode), got {ends}")
    if ends[-1] != num_steps:
        raise ValueError(
            f"{name}[-1] = {ends[-1]} must equal the number of steps {num_steps}: the ends are exclusive "
            "and cumulative, as in the Diffusion Policy replay buffer"
        )


def load_replay_buffer(source: str | Path | Mapping[str, Any]) -> ReplayBuffer:
    """Read data/state, data/action and meta/episode_ends.

    Args:
        source: a path to a zarr store (directory, zarr format 2 or 3) or to an ``.npz`` file; or a
            mapping such as an opened zarr group, ``np.load`` result, or dict, keyed by the full
            paths ``"data/state"`` or nested as ``{"data": {"state": ...}, "meta": {...}}``.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no replay buffer at {str(path)!r}")
        if path.suffix == ".npz":
            with np.load(path) as archive:
                return _from_mapping(archive, str(path))
        import zarr  # only needed for zarr stores

        return _from_mapping(zarr.open_group(str(path), mode="r"), str(path))
    return _from_mapping(source, type(source).__name__)


def _from_mapping(root: Any, where: str) -> ReplayBuffer:
    arrays = {field: np.asarray(_lookup(root, key, where)) for field, key in KEYS.items()}
    return ReplayBuffer(**arrays)


def _lookup(root: Any, key: str, where: str) -> Any:
    try:
        return root[key]
    except (KeyError, ValueError, TypeError):
        pass
    node = root
    for part in key.split("/"):
        try:
            node = node[part]
        except (KeyError, ValueError, TypeError):
            raise KeyError(
                f"{where} has no {key!r}: a replay buffer needs data/state, data/action and meta/episode_ends"
            ) from None
    return node


def save_replay_buffer(buffer: ReplayBuffer, path: str | Path) -> Path:
    """Write ``buffer`` as a zarr store (in the installed zarr's default format) at ``path``."""
    import zarr

    path = Path(path)
    root = zarr.open_group(str(path), mode="w")
    for field, key in KEYS.items():
        group_name, name = key.split("/")
        group = root.require_group(group_name)
        data = getattr(buffer, field)
        if hasattr(group, "create_array"):  # zarr >= 3
            group.create_array(name, data=data)
        else:  # zarr 2
            group.create_dataset(name, data=data)
    return path
