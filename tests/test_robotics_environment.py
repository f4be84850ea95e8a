"""The planar reach task: gymnasium-style API, determinism under a seed, contact, success, rendering."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion_models.robotics import PlanarReachConfig, PlanarReachEnv


def run(env: PlanarReachEnv, seed: int, actions: np.ndarray):
    observation, _ = env.reset(seed=seed)
    trace = [observation]
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append(observation)
        if terminated or truncated:
            break
    return np.stack(trace)


def test_reset_and_step_follow_the_gymnasium_api():
    env = PlanarReachEnv()
    observation, info = env.reset(seed=3)
    cfg = env.config
    assert observation.shape == (4,) and observation.dtype == np.float32
    assert np.all(observation[:2] >= cfg.start_low) and np.all(observation[:2] <= cfg.start_high)
    np.testing.assert_array_equal(observation[2:], [0.0, 0.0])
    assert set(info) == {"success", "collision", "distance_to_goal"}
    observation, reward, terminated, truncated, info = env.step(np.array([0.1, 0.1]))
    assert observation.shape == (4,) and isinstance(reward, float)
    assert isinstance(terminated, bool) and isinstance(truncated, bool)


def test_same_seed_same_episode_and_other_seeds_differ():
    actions = np.random.default_rng(0).uniform(0, 1, size=(20, 2))
    first = run(PlanarReachEnv(), 7, actions)
    second = run(PlanarReachEnv(), 7, actions)
    np.testing.assert_array_equal(first, second)
    starts = {tuple(PlanarReachEnv().reset(seed=s)[0][:2]) for s in range(10)}
    assert len(starts) == 10


def test_reset_without_a_seed_continues_the_seeded_stream():
    env_a, env_b = PlanarReachEnv(), PlanarReachEnv()
    env_a.reset(seed=11)
    env_b.reset(seed=11)
    np.testing.assert_array_equal(env_a.reset()[0], env_b.reset()[0])


def test_the_pd_controller_settles_on_the_target():
    env = PlanarReachEnv()
    env.reset(seed=0, options={"start": (0.1, 0.1)})
    for _ in range(20):
        observation, *_ = env.step(np.array([0.2, 0.3]))
    np.testing.assert_allclose(observation[:2], [0.2, 0.3], atol=1e-3)
    np.testing.assert_allclose(observation[2:], [0.0, 0.0], atol=1e-2)


def test_driving_straight_at_the_obstacle_is_a_collision():
    env = PlanarReachEnv()
    env.reset(seed=0, options={"start": (0.5, 0.1)})
    for _ in range(30):
        observation, reward, terminated, truncated, info = env.step(np.array([0.5, 0.9]))  # the goal
        if terminated:
            break
    assert terminated and info["collision"] and not info["success"] and reward == 0.0
    cfg = env.config
    gap = np.linalg.norm(observation[:2] - np.array(cfg.obstacle_center))
    assert gap < cfg.obstacle_radius + cfg.robot_radius + 0.01
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.5, 0.5]))


def test_reaching_the_goal_is_a_success_with_reward_one():
    env = PlanarReachEnv()
    env.reset(seed=0, options={"start": (0.15, 0.6)})  # beside the obstacle, a clear line to the goal
    for _ in range(30):
        _, reward, terminated, truncated, info = env.step(np.array([0.5, 0.9]))
        if terminated:
            break
    assert terminated and info["success"] and not info["collision"] and reward == 1.0


def test_truncation_after_max_episode_steps():
    env = PlanarReachEnv(PlanarReachConfig(max_episode_steps=5))
    env.reset(seed=0, options={"start": (0.1, 0.1)})
    flags = [env.step(np.array([0.1, 0.1]))[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]


def test_bad_actions_raise_naming_the_action():
    env = PlanarReachEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([np.nan, 0.2]))


def test_render_is_an_rgb_array_that_shows_the_robot():
    env = PlanarReachEnv(PlanarReachConfig(render_size=100))
    env.reset(seed=0, options={"start": (0.2, 0.3)})
    image = env.render()
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8
    row, col = 100 - 1 - int(0.3 * 100), int(0.2 * 100)  # y points up
    assert tuple(image[row, col]) == (40, 90, 220)
    assert tuple(image[50, 50]) == (110, 110, 110)  # the obstacle in the middle
    assert tuple(image[2, 2]) == (255, 255, 255)
    np.testing.assert_array_equal(image, env.render())
