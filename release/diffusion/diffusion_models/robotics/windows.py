"""Training windows of a diffusion policy: (state history -> action sequence), one per time step.

At time t of an episode the condition is the last ``state_horizon`` states s_{t-h+1}, ..., s_t,
oldest first, flattened; the sample is the next ``action_horizon`` actions a_t, ..., a_{t+H-1}
(Chi et al. 2023, "Diffusion Policy", Sec. 3.1). Where a window runs over an episode's edge it is
padded by repeating the edge of *that* episode: its first state before the start, its last action
after the end (the robot waits before it starts and holds its last target after it finishes). So
every step of every episode gives exactly one window, and no window mixes two episodes.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..validation import check_positive_int
from .replay_buffer import check_episodes


def check_horizons(state_horizon: int, action_horizon: int, num_actions: int | None = None) -> None:
    """ValueError naming the argument unless 1 <= state_horizon, 1 <= num_actions <= action_horizon."""
    check_positive_int(state_horizon, "state_horizon")
    check_positive_int(action_horizon, "action_horizon")
    if num_actions is not None:
        if isinstance(num_actions, bool) or not isinstance(num_actions, numbers.Integral):
            raise ValueError(f"num_actions must be an int, got {num_actions!r}")
        if not 1 <= num_actions <= action_horizon:
            raise ValueError(
                f"num_actions={num_actions} must lie in [1, action_horizon={action_horizon}]: the policy can "
                "only execute actions it has planned"
            )


def make_windows(
    states: np.ndarray,
    actions: np.ndarray,
    episode_ends: np.ndarray,
    state_horizon: int,
    action_horizon: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut concatenated episodes into (condition, sample) pairs, one per step, edge-padded per episode.

    Args:
        states: (N, S) all episodes' states, concatenated.
        actions: (N, A) the action taken in each state.
        episode_ends: (E,) exclusive, cumulative end index of each episode; episode_ends[-1] == N.
        state_horizon: h, states in the condition.
        action_horizon: H, actions in the sample.

    Returns:
        conds: (N, h * S), row n = [s_{n-h+1}, ..., s_n] flattened, oldest first, where indices before
            the start of n's episode are replaced by that start.
        samples: (N, H, A), row n = [a_n, ..., a_{n+H-1}], where indices past the end of n's episode
            are replaced by its last step.
    """
    check_horizons(state_horizon, action_horizon)
    states, actions = np.asarray(states), np.asarray(actions)
    if states.ndim != 2 or actions.ndim != 2 or len(states) != len(actions):
        raise ValueError(
            f"states (N, S) and actions (N, A) must be 2-D with one N, got {states.shape} and {actions.shape}"
        )
    episode_ends = np.asarray(episode_ends)
    check_episodes(len(states), episode_ends)
    num_steps, state_dim = states.shape
    # TODO task 2.4.1: sliding windows with edge padding inside each episode
    raise NotImplementedError("task 2.4.1: sliding windows with edge padding inside each episode")
    return conds, samples
