"""Task 2.4.1: min-max normalization to [-1, 1] and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusion_models.robotics import Normalizer
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


def test_min_maps_to_minus_one_and_max_to_one_per_feature():
    data = np.array([[0.0, -5.0, 10.0], [2.0, 5.0, 30.0], [1.0, 0.0, 20.0]], dtype=np.float32)
    normalizer = Normalizer.fit(data)
    normalized = normalizer.normalize(data)
    np.testing.assert_allclose(normalized.min(axis=0), [-1, -1, -1], atol=1e-6)
    np.testing.assert_allclose(normalized.max(axis=0), [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(normalized[2], [0, 0, 0], atol=1e-6)  # the midpoints


@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=arrays(np.float32, st.tuples(st.integers(2, 20), st.integers(1, 5)), elements=finite))
def test_normalize_then_unnormalize_round_trips(data):
    normalizer = Normalizer.fit(data)
    normalized = normalizer.normalize(data)
    assert np.all(normalized >= -1 - 1e-5) and np.all(normalized <= 1 + 1e-5)
    scale = np.abs(data).max() + 1.0
    np.testing.assert_allclose(normalizer.unnormalize(normalized), data, atol=1e-5 * scale)


def test_unnormalize_then_normalize_round_trips():
    normalizer = Normalizer(minimum=[-3.0, 0.0, 100.0], maximum=[5.0, 0.25, 400.0])
    points = np.linspace(-1, 1, 7, dtype=np.float32)[:, None].repeat(3, axis=1)  # (7, 3)
    unnormalized = normalizer.unnormalize(points)
    np.testing.assert_allclose(unnormalized[0], [-3.0, 0.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(unnormalized[-1], [5.0, 0.25, 400.0], rtol=1e-6)
    np.testing.assert_allclose(normalizer.normalize(unnormalized), points, atol=1e-6)


def test_tensors_keep_their_type_and_batch_shape():
    normalizer = Normalizer(minimum=[0.0, -1.0], maximum=[4.0, 1.0])
    x = torch.tensor([[[2.0, 0.5]], [[4.0, -1.0]]], dtype=torch.float64)  # (2, 1, 2)
    y = normalizer.normalize(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float64 and y.shape == (2, 1, 2)
    torch.testing.assert_close(y, torch.tensor([[[0.0, 0.5]], [[1.0, -1.0]]], dtype=torch.float64))
    torch.testing.assert_close(normalizer.unnormalize(y), x)


def test_a_constant_feature_maps_to_zero_and_back():
    data = np.array([[1.0, 3.0], [2.0, 3.0]], dtype=np.float32)
    normalizer = Normalizer.fit(data)
    normalized = normalizer.normalize(data)
    np.testing.assert_allclose(normalized[:, 1], [0.0, 0.0])
    np.testing.assert_allclose(normalizer.unnormalize(normalized), data)


def test_wrong_feature_count_and_bad_statistics_raise():
    normalizer = Normalizer(minimum=[0.0, 0.0], maximum=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        normalizer.normalize(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="maximum"):
        Normalizer(minimum=[1.0], maximum=[0.0])
    with pytest.raises(ValueError, match="data"):
        Normalizer.fit(np.zeros((0, 3)))
