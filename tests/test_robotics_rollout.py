"""Task 2.4.2: the receding-horizon rollout, driven by stand-in policies whose plans are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusion_models import DiffusionModel
from diffusion_models.networks import ConditionalUNet1D
from diffusion_models.robotics import (
    EVAL_SEED_OFFSET,
    Normalizer,
    PlanarReachEnv,
    PolicyConfig,
    rollout,
    rollout_episodes,
)

# deliberately not the identity on [-1, 1], so a plan that is not unnormalized lands elsewhere
STATES = Normalizer(minimum=[0.0, 0.0, -1.0, -1.0], maximum=[1.0, 1.0, 1.0, 1.0])
ACTIONS = Normalizer(minimum=[0.0, 0.0], maximum=[1.0, 0.5])


class RecordingPolicy:
    """Returns, normalized, the plan ``plan_in_env_units(call, cond)``; records every call."""

    def __init__(self, plan_in_env_units, horizon: int) -> None:
        self.plan_in_env_units = plan_in_env_units
        self.horizon = horizon
        self.conds: list[torch.Tensor] = []
        self.generators: list[torch.Generator | None] = []
        self.plans: list[np.ndarray] = []

    def generate_sample(self, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        assert isinstance(cond, torch.Tensor) and cond.dtype == torch.float32
        self.conds.append(cond.clone())
        self.generators.append(generator)
        plan = np.asarray(self.plan_in_env_units(len(self.plans), cond), dtype=np.float32)  # (H, 2)
        assert plan.shape == (self.horizon, 2)
        self.plans.append(plan)
        return torch.as_tensor(ACTIONS.normalize(plan))[None]  # (1, H, 2)


def creeping_plan(call: int, _cond) -> np.ndarray:
    """Targets near the start band's left edge, distinct per call and per step, never near the obstacle."""
    steps = np.arange(6)
    return np.stack([0.1 + 0.01 * steps, 0.1 + 0.02 * call + 0.001 * steps], axis=1)  # (6, 2)


def test_executes_num_actions_of_each_plan_in_environment_units():
    policy = RecordingPolicy(creeping_plan, horizon=6)
    result = rollout(PlanarReachEnv(), policy, STATES, ACTIONS, 2, 6, num_actions=4, max_steps=10, seed=0)
    assert len(policy.plans) == 3, "10 steps at 4 actions per plan need 3 plans (4 + 4 + 2)"
    expected = np.concatenate([policy.plans[0][:4], policy.plans[1][:4], policy.plans[2][:2]])
    np.testing.assert_allclose(result.actions, expected, atol=1e-6)
    assert result.states.shape == (11, 4) and result.rewards.shape == (10,)
    assert len(result.plans) == 3
    np.testing.assert_allclose(result.plans[1], policy.plans[1], atol=1e-6)


def test_the_condition_is_the_normalized_history_oldest_first():
    policy = RecordingPolicy(creeping_plan, horizon=6)
    result = rollout(PlanarReachEnv(), policy, STATES, ACTIONS, 2, 6, num_actions=4, max_steps=10, seed=0)
    s = result.states
    expected_first = STATES.normalize(np.stack([s[0], s[0]])).reshape(1, 8)  # padded with the first state
    expected_second = STATES.normalize(np.stack([s[3], s[4]])).reshape(1, 8)
    expected_third = STATES.normalize(np.stack([s[7], s[8]])).reshape(1, 8)
    for got, expected in zip(policy.conds, [expected_first, expected_second, expected_third], strict=True):
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_state_horizon_one_and_the_generator_is_passed_through():
    policy = RecordingPolicy(creeping_plan, horizon=6)
    generator = torch.Generator().manual_seed(0)
    rollout(PlanarReachEnv(), policy, STATES, ACTIONS, 1, 6, 3, max_steps=5, seed=0, generator=generator)
    assert [tuple(c.shape) for c in policy.conds] == [(1, 4), (1, 4)]
    assert all(g is generator for g in policy.generators)


def test_stops_in_the_middle_of_a_plan_when_the_episode_terminates():
    def straight_at_the_obstacle(call, _cond):
        return np.tile([0.5, 0.5], (8, 1))

    policy = RecordingPolicy(straight_at_the_obstacle, horizon=8)
    result = rollout(PlanarReachEnv(), policy, STATES, ACTIONS, 2, 8, num_actions=8, max_steps=50, seed=1)
    assert result.collision and not result.success
    assert result.num_steps < 8 * len(policy.plans)
    assert len(result.states) == result.num_steps + 1


def test_a_scripted_policy_reaches_the_goal():
    def round_the_left(call, cond):
        y = STATES.unnormalize(cond.numpy().reshape(2, 4))[-1, 1]  # the newest state's y
        target = [0.5, 0.9] if y > 0.55 else [0.15, 0.6]
        return np.tile(target, (8, 1))

    policy = RecordingPolicy(round_the_left, horizon=8)
    result = rollout(PlanarReachEnv(), policy, STATES, ACTIONS, 2, 8, num_actions=4, max_steps=100, seed=2)
    assert result.success and not result.collision
    assert result.rewards[-1] == 1.0 and result.rewards[:-1].sum() == 0.0
    np.testing.assert_allclose(result.actions[-1], [0.5, 0.9], atol=1e-6)


def test_rollout_checks_its_arguments():
    policy = RecordingPolicy(creeping_plan, horizon=6)
    env = PlanarReachEnv()
    with pytest.raises(ValueError, match="num_actions"):
        rollout(env, policy, STATES, ACTIONS, 2, 6, num_actions=7, max_steps=10)
    with pytest.raises(ValueError, match="max_steps"):
        rollout(env, policy, STATES, ACTIONS, 2, 6, num_actions=4, max_steps=0)
    with pytest.raises(ValueError, match="state_horizon"):
        rollout(env, policy, STATES, ACTIONS, 0, 6, num_actions=4, max_steps=10)
    assert policy.conds == []


def test_a_diffusion_model_plans_deterministically_under_a_generator():
    torch.manual_seed(0)
    network = ConditionalUNet1D(action_dim=2, condition_dim=8, down_dims=(8, 16), time_emb_dim=8)
    model = DiffusionModel((8, 2), 8, sequential=True, denoising_steps=4, device="cpu", network=network)
    runs = [
        rollout(
            PlanarReachEnv(),
            model,
            STATES,
            ACTIONS,
            2,
            8,
            4,
            max_steps=6,
            seed=0,
            generator=torch.Generator().manual_seed(5),
        )
        for _ in range(2)
    ]
    assert runs[0].actions.shape == (6, 2) and len(runs[0].plans) == 2
    assert runs[0].plans[0].shape == (8, 2)
    np.testing.assert_array_equal(runs[0].actions, runs[1].actions)


def test_evaluation_episodes_start_from_seeded_starts_and_sample_with_seeded_generators():
    config = PolicyConfig(state_horizon=2, action_horizon=6, num_actions=4)
    policy = RecordingPolicy(creeping_plan, horizon=6)
    runs = rollout_episodes(PlanarReachEnv(), policy, STATES, ACTIONS, config, episodes=3, max_steps=5)
    assert [run.num_steps for run in runs] == [5, 5, 5]
    for episode, run in enumerate(runs):
        start, _ = PlanarReachEnv().reset(seed=EVAL_SEED_OFFSET + episode)
        np.testing.assert_array_equal(run.states[0], start)
    # two plans per episode (4 + 1 actions), each episode's generator seeded with its index
    firsts = [policy.generators[2 * episode] for episode in range(3)]
    assert len(policy.generators) == 6 and all(g is not None for g in firsts)
    draws = [g.initial_seed() for g in firsts]
    assert draws == [0, 1, 2]
