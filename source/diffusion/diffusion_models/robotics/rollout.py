"""Receding-horizon control with a policy that plans action sequences (Chi et al. 2023, Sec. 3.1).

Every re-plan: take the last ``state_horizon`` observations, normalize them and flatten them into
the condition, sample a plan of ``action_horizon`` actions, map it back to the environment's units,
execute its first ``num_actions`` actions open loop, then plan again from the new history. Planning
more than is executed keeps consecutive plans consistent; executing fewer than planned keeps the
robot reactive. The history starts as ``state_horizon`` copies of the first observation, just as the
training windows pad an episode's start.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ..validation import check_positive_int
from .normalizer import Normalizer
from .windows import check_horizons


class SequencePolicy(Protocol):
    """Anything that plans like :class:`~diffusion_models.DiffusionModel` does."""

    def generate_sample(self, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """cond (B, state_horizon * S) normalized -> plan (B, action_horizon, A) normalized."""
        ...


class Environment(Protocol):
    def reset(self, *, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]: ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]: ...


@dataclass
class Rollout:
    """One episode under a policy.

    Attributes:
        states: (L + 1, S) every observation, from reset's to the last step's.
        actions: (L, A) the executed actions, in environment units.
        rewards: (L,)
        plans: each re-plan's full plan, (action_horizon, A) in environment units.
        info: the environment's info after the last step (reset's when no step was taken).
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    plans: list[np.ndarray] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_steps(self) -> int:
        return len(self.actions)

    @property
    def success(self) -> bool:
        return bool(self.info.get("success", False))

    @property
    def collision(self) -> bool:
        return bool(self.info.get("collision", False))


def rollout(
    env: Environment,
    policy: SequencePolicy,
    state_normalizer: Normalizer,
    action_normalizer: Normalizer,
    state_horizon: int,
    action_horizon: int,
    num_actions: int,
    max_steps: int,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Rollout:
    """Run one episode with re-planning every ``num_actions`` steps.

    Args:
        env: reset(seed=) -> (obs (S,), info);
            step(action (A,)) -> (obs, reward, terminated, truncated, info).
        policy: ``generate_sample(cond, generator=)`` with cond a float32 tensor (1, state_horizon * S),
            the normalized history flattened oldest first, returning a normalized plan (1, action_horizon, A), e.g. a sequential DiffusionModel.
        state_normalizer: statistics of the states (S features).
        action_normalizer: statistics of the actions (A features).
        state_horizon: h, observations in the condition, oldest first.
        action_horizon: H, actions per plan.
        num_actions: actions executed from each plan, 1 <= num_actions <= H.
        max_steps: the step limit of the episode.
        seed: passed to ``env.reset``.
        generator: passed to every ``generate_sample`` call.

    Returns:
        the Rollout; it stops as soon as the environment terminates (success or collision) or
        truncates, or after ``max_steps`` actions, even in the middle of a plan.
    """
    check_horizons(state_horizon, action_horizon, num_actions)
    check_positive_int(max_steps, "max_steps")
    observation, info = env.reset(seed=seed)
    history = deque([observation] * state_horizon, maxlen=state_horizon)  # h x (S,), padded at the start
    # per executed step append to states, actions, rewards (keep `observation` and `info` the last
    # step's); per re-plan append the unnormalized plan (H, A) to plans
    states, actions, rewards, plans = [observation], [], [], []
    done = False
    # TODO task 2.4.2: normalize history, generate_sample, unnormalize, run num_actions, re-plan
    raise NotImplementedError("task 2.4.2: normalize history, generate_sample, unnormalize, run num_actions, re-plan")
    state_dim = np.shape(observation)[-1]
    action_dim = action_normalizer.dim
    return Rollout(
        states=np.asarray(states, dtype=np.float32).reshape(-1, state_dim),
        actions=np.asarray(actions, dtype=np.float32).reshape(-1, action_dim),
        rewards=np.asarray(rewards, dtype=np.float32),
        plans=plans,
        info=dict(info),
    )
