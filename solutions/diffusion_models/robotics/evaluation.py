"""Evaluating a policy: closed-loop rollouts from seeded starts that no demonstration used."""

from __future__ import annotations

import torch

from .normalizer import Normalizer
from .policy import PolicyConfig
from .rollout import Environment, Rollout, SequencePolicy, rollout

EVAL_SEED_OFFSET = 10_000  # evaluation episodes never reuse a demonstration's start


def rollout_episodes(
    env: Environment,
    policy: SequencePolicy,
    state_normalizer: Normalizer,
    action_normalizer: Normalizer,
    config: PolicyConfig,
    episodes: int,
    max_steps: int,
    seed_offset: int = EVAL_SEED_OFFSET,
) -> list[Rollout]:
    """``episodes`` rollouts of ``policy``: episode k starts from ``env.reset(seed=seed_offset + k)`` and
    samples its plans with ``torch.Generator().manual_seed(k)``, so two policies meet the same starts."""
    return [
        rollout(
            env,
            policy,
            state_normalizer,
            action_normalizer,
            config.state_horizon,
            config.action_horizon,
            config.num_actions,
            max_steps=max_steps,
            seed=seed_offset + episode,
            generator=torch.Generator().manual_seed(episode),
        )
        for episode in range(episodes)
    ]
