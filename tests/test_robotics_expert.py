"""The scripted expert: deterministic demonstrations whose two modes cannot be averaged."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion_models.robotics import (
    LEFT,
    RIGHT,
    PlanarReachEnv,
    ScriptedExpert,
    generate_demonstrations,
    passing_side,
)


@pytest.fixture(scope="module")
def demos():
    return generate_demonstrations(40, seed=0)


def test_demonstrations_are_deterministic_under_a_seed(demos):
    again = generate_demonstrations(40, seed=0)
    np.testing.assert_array_equal(again.states, demos.states)
    np.testing.assert_array_equal(again.actions, demos.actions)
    np.testing.assert_array_equal(again.episode_ends, demos.episode_ends)
    other = generate_demonstrations(3, seed=1)
    assert not np.array_equal(other.states[:10], demos.states[:10])


def test_demonstrations_use_the_replay_buffer_layout(demos):
    assert demos.states.shape == (demos.episode_ends[-1], 4) and demos.actions.shape == (len(demos.states), 2)
    assert demos.num_episodes == 40 and np.all(np.diff(demos.episode_ends) > 0)


def test_both_modes_occur_from_the_same_start_region(demos):
    sides = np.array([passing_side(demos.episode(i)[0]) for i in range(demos.num_episodes)])
    starts_x = np.array([demos.episode(i)[0][0, 0] for i in range(demos.num_episodes)])
    assert set(sides.tolist()) == {LEFT, RIGHT}
    assert 0.3 <= np.mean(sides == LEFT) <= 0.7
    # the side does not follow from the start: both sides start on both halves of the band
    for side in (LEFT, RIGHT):
        assert np.any(starts_x[sides == side] < 0.5) and np.any(starts_x[sides == side] > 0.5)


def test_forcing_a_side_gives_a_single_mode():
    forced = generate_demonstrations(6, seed=0, side=RIGHT)
    assert {passing_side(forced.episode(i)[0]) for i in range(6)} == {RIGHT}


def test_averaging_the_two_modes_never_gets_past_the_obstacle():
    """The mean of the left and the right expert's actions, what an MSE regressor would learn from the
    two modes, heads straight at the obstacle and stalls below it or hits it."""
    for seed in range(5):
        env = PlanarReachEnv()
        observation, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        left = ScriptedExpert(env.position, LEFT, rng, action_noise=0.0)
        right = ScriptedExpert(env.position, RIGHT, rng, action_noise=0.0)
        positions = [observation[:2]]
        for _ in range(env.config.max_episode_steps):
            action = 0.5 * (left.act(observation) + right.act(observation))
            observation, _, terminated, truncated, info = env.step(action)
            positions.append(observation[:2])
            if terminated or truncated:
                break
        assert not info["success"], f"seed {seed}: the averaged expert reached the goal"
        assert passing_side(np.stack(positions)) == 0, (
            f"seed {seed}: the averaged expert got past the obstacle"
        )


def test_passing_side_reads_the_crossing_of_the_obstacle_line():
    assert passing_side(np.array([[0.5, 0.1], [0.2, 0.5], [0.5, 0.9]])) == LEFT
    assert passing_side(np.array([[0.5, 0.1], [0.8, 0.6]])) == RIGHT
    assert passing_side(np.array([[0.5, 0.1], [0.5, 0.3]])) == 0
    with pytest.raises(ValueError, match="side"):
        ScriptedExpert(np.zeros(2), 0, np.random.default_rng(0))
