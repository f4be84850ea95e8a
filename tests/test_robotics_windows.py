"""Task 2.4.1: windows (state history -> next actions) with edge padding inside each episode."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion_models.robotics import check_horizons, make_windows
from hypothesis import given, settings
from hypothesis import strategies as st


def traced_episodes(lengths: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """states[n] = (n, 1000 + n), actions[n] = (-n, 2000 + n): every value names its global step."""
    n = int(sum(lengths))
    steps = np.arange(n, dtype=np.float32)
    states = np.stack([steps, 1000 + steps], axis=1)  # (N, 2)
    actions = np.stack([-steps, 2000 + steps], axis=1)  # (N, 2)
    return states, actions, np.cumsum(lengths)


def loop_windows(states, actions, ends, h, horizon):
    """An independent oracle: one window per step, written as plainly as possible."""
    conds, samples = [], []
    start = 0
    for end in ends:
        for t in range(start, end):
            history = [states[max(start, t - k)] for k in reversed(range(h))]
            future = [actions[min(end - 1, t + k)] for k in range(horizon)]
            conds.append(np.concatenate(history))
            samples.append(np.stack(future))
        start = end
    return np.stack(conds), np.stack(samples)


def test_one_window_per_step_with_documented_shapes():
    states, actions, ends = traced_episodes([5, 7, 3])
    conds, samples = make_windows(states, actions, ends, state_horizon=2, action_horizon=4)
    assert conds.shape == (15, 2 * 2)
    assert samples.shape == (15, 4, 2)


def test_interior_window_is_the_history_ending_now_and_the_actions_starting_now():
    states, actions, ends = traced_episodes([10])
    conds, samples = make_windows(states, actions, ends, state_horizon=3, action_horizon=4)
    t = 5
    np.testing.assert_array_equal(conds[t], np.concatenate([states[3], states[4], states[5]]))
    np.testing.assert_array_equal(samples[t], actions[5:9])


def test_start_of_an_episode_is_padded_with_its_own_first_state():
    states, actions, ends = traced_episodes([4, 6])
    conds, _ = make_windows(states, actions, ends, state_horizon=3, action_horizon=4)
    # first window of episode 2 (global step 4): s4 three times, never s2 or s3 from episode 1
    np.testing.assert_array_equal(conds[4], np.concatenate([states[4]] * 3))
    np.testing.assert_array_equal(conds[5], np.concatenate([states[4], states[4], states[5]]))
    np.testing.assert_array_equal(conds[0], np.concatenate([states[0]] * 3))


def test_end_of_an_episode_is_padded_with_its_own_last_action():
    states, actions, ends = traced_episodes([4, 6])
    _, samples = make_windows(states, actions, ends, state_horizon=2, action_horizon=4)
    # last window of episode 1 (global step 3): a3 repeated, never a4 from episode 2
    np.testing.assert_array_equal(samples[3], np.stack([actions[3]] * 4))
    np.testing.assert_array_equal(samples[2], np.stack([actions[2], actions[3], actions[3], actions[3]]))
    np.testing.assert_array_equal(samples[9], np.stack([actions[9]] * 4))


def test_horizons_longer_than_an_episode_still_pad_inside_it():
    states, actions, ends = traced_episodes([2, 1, 3])
    conds, samples = make_windows(states, actions, ends, state_horizon=5, action_horizon=8)
    expected_conds, expected_samples = loop_windows(states, actions, ends, 5, 8)
    np.testing.assert_array_equal(conds, expected_conds)
    np.testing.assert_array_equal(samples, expected_samples)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    h=st.integers(1, 4),
    horizon=st.integers(1, 9),
)
def test_no_window_crosses_two_episodes(lengths, h, horizon):
    states, actions, ends = traced_episodes(lengths)
    conds, samples = make_windows(states, actions, ends, h, horizon)
    episode_of = np.repeat(np.arange(len(lengths)), lengths)  # (N,)
    state_steps = conds.reshape(len(states), h, 2)[:, :, 0].astype(int)  # (N, h) global steps used
    action_steps = (-samples[:, :, 0]).astype(int)  # (N, H)
    now = np.arange(len(states))
    assert np.all(episode_of[state_steps] == episode_of[:, None]), "a state history reaches another episode"
    assert np.all(episode_of[action_steps] == episode_of[:, None]), (
        "an action sequence reaches another episode"
    )
    assert np.all(state_steps[:, -1] == now), "the newest state of window t must be s_t"
    assert np.all(action_steps[:, 0] == now), "the first action of window t must be a_t"
    expected_conds, expected_samples = loop_windows(states, actions, ends, h, horizon)
    np.testing.assert_array_equal(conds, expected_conds)
    np.testing.assert_array_equal(samples, expected_samples)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"state_horizon": 0, "action_horizon": 16}, "state_horizon"),
        ({"state_horizon": 2, "action_horizon": 0}, "action_horizon"),
        ({"state_horizon": 2.0, "action_horizon": 16}, "state_horizon"),
        ({"state_horizon": 2, "action_horizon": 16, "num_actions": 17}, "num_actions"),
        ({"state_horizon": 2, "action_horizon": 16, "num_actions": 0}, "num_actions"),
    ],
)
def test_bad_horizons_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        check_horizons(**kwargs)


def test_make_windows_checks_its_horizons_and_episode_ends():
    states, actions, ends = traced_episodes([3, 3])
    with pytest.raises(ValueError, match="state_horizon"):
        make_windows(states, actions, ends, state_horizon=0, action_horizon=4)
    with pytest.raises(ValueError, match="episode_ends"):
        make_windows(states, actions, np.array([3, 5]), 2, 4)  # does not end at N = 6
    with pytest.raises(ValueError, match="episode_ends"):
        make_windows(states, actions, np.array([3, 3, 6]), 2, 4)  # an empty episode
    with pytest.raises(ValueError, match="same N|one N"):
        make_windows(states, actions[:-1], ends, 2, 4)
