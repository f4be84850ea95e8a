"""The replay-buffer layout (data/state, data/action, meta/episode_ends) from zarr, npz and dicts."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from diffusion_models.robotics import ReplayBuffer, load_replay_buffer, save_replay_buffer

ZARR_MAJOR = int(zarr.__version__.split(".")[0])


def tiny_pusht_like() -> dict[str, np.ndarray]:
    """Three episodes in Push-T's layout: states (N, 5), actions (N, 2), plus a key the loader ignores."""
    rng = np.random.default_rng(0)
    return {
        "data/state": rng.normal(size=(9, 5)).astype(np.float32),
        "data/action": rng.normal(size=(9, 2)).astype(np.float32),
        "data/keypoint": rng.normal(size=(9, 9, 2)).astype(np.float32),
        "meta/episode_ends": np.array([2, 6, 9], dtype=np.int64),
    }


def write_zarr_store(path, arrays: dict[str, np.ndarray], zarr_format: int | None) -> None:
    """Write with the installed zarr's own API, independently of save_replay_buffer."""
    if ZARR_MAJOR >= 3:
        root = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
        for key, value in arrays.items():
            group_name, name = key.split("/")
            root.require_group(group_name).create_array(name, data=value, chunks=value.shape)
    else:  # zarr 2 writes format 2 only
        root = zarr.open_group(str(path), mode="w")
        for key, value in arrays.items():
            root.create_dataset(key, data=value)


def assert_buffer_equals(buffer: ReplayBuffer, arrays: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(buffer.states, arrays["data/state"])
    np.testing.assert_array_equal(buffer.actions, arrays["data/action"])
    np.testing.assert_array_equal(buffer.episode_ends, arrays["meta/episode_ends"])
    assert buffer.states.dtype == np.float32 and buffer.episode_ends.dtype == np.int64


@pytest.mark.parametrize("zarr_format", [2, 3] if ZARR_MAJOR >= 3 else [None])
def test_loads_a_tiny_zarr_store(tmp_path, zarr_format):
    arrays = tiny_pusht_like()
    write_zarr_store(tmp_path / "replay.zarr", arrays, zarr_format)
    buffer = load_replay_buffer(tmp_path / "replay.zarr")
    assert_buffer_equals(buffer, arrays)
    assert buffer.num_episodes == 3
    states, actions = buffer.episode(1)
    np.testing.assert_array_equal(states, arrays["data/state"][2:6])
    np.testing.assert_array_equal(actions, arrays["data/action"][2:6])


def test_loads_an_opened_zarr_group(tmp_path):
    arrays = tiny_pusht_like()
    write_zarr_store(tmp_path / "replay.zarr", arrays, 2 if ZARR_MAJOR >= 3 else None)
    assert_buffer_equals(load_replay_buffer(zarr.open_group(str(tmp_path / "replay.zarr"), mode="r")), arrays)


def test_save_then_load_round_trips(tmp_path):
    arrays = tiny_pusht_like()
    buffer = ReplayBuffer(arrays["data/state"], arrays["data/action"], arrays["meta/episode_ends"])
    path = save_replay_buffer(buffer, tmp_path / "saved.zarr")
    assert_buffer_equals(load_replay_buffer(path), arrays)


def test_loads_npz_and_flat_or_nested_dicts(tmp_path):
    arrays = tiny_pusht_like()
    np.savez(tmp_path / "replay.npz", **arrays)
    assert_buffer_equals(load_replay_buffer(tmp_path / "replay.npz"), arrays)
    assert_buffer_equals(load_replay_buffer(dict(arrays)), arrays)
    nested = {
        "data": {"state": arrays["data/state"], "action": arrays["data/action"]},
        "meta": {"episode_ends": arrays["meta/episode_ends"]},
    }
    assert_buffer_equals(load_replay_buffer(nested), arrays)


def test_missing_keys_and_bad_episode_ends_are_named(tmp_path):
    arrays = tiny_pusht_like()
    del arrays["data/action"]
    with pytest.raises(KeyError, match="data/action"):
        load_replay_buffer(arrays)
    arrays = tiny_pusht_like()
    arrays["meta/episode_ends"] = np.array([2, 6, 8])
    with pytest.raises(ValueError, match="episode_ends"):
        load_replay_buffer(arrays)
    with pytest.raises(FileNotFoundError):
        load_replay_buffer(tmp_path / "absent.zarr")
