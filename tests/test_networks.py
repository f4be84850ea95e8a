"""The noise-prediction networks: shapes, conditioning and input checks."""

from __future__ import annotations

import pytest
import torch
from diffusion_models.networks import ClassConditionalUNet2D, ConditionalUNet1D, build_network
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.sampled_from([1, 3]), st.sampled_from([4, 8, 12]))
def test_unet2d_keeps_the_image_shape_and_uses_the_label(batch, channels, size):
    net = ClassConditionalUNet2D(channels, condition_dim=4, base_channels=8, channel_mults=(1, 2, 2))
    x, t = torch.randn(batch, channels, size, size), torch.randint(0, 10, (batch,))
    out_a = net(x, t, torch.full((batch,), 1))
    out_b = net(x, t, torch.full((batch,), 3))
    assert out_a.shape == x.shape
    assert not torch.allclose(out_a, out_b), "the class label must change the prediction"


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.sampled_from([4, 8, 16]), st.integers(1, 3))
def test_unet1d_keeps_the_sequence_shape_and_uses_the_condition(batch, horizon, action_dim):
    net = ConditionalUNet1D(action_dim, condition_dim=5, down_dims=(8, 16, 16))
    x, t = torch.randn(batch, horizon, action_dim), torch.randint(0, 10, (batch,))
    out_a, out_b = net(x, t, torch.zeros(batch, 5)), net(x, t, torch.ones(batch, 5))
    assert out_a.shape == x.shape
    assert not torch.allclose(out_a, out_b)


def test_labels_out_of_range_fail_in_the_network_too():
    net = ClassConditionalUNet2D(1, condition_dim=4, base_channels=8)
    with pytest.raises(ValueError, match="label 4.*null token"):
        net(torch.zeros(1, 1, 4, 4), torch.zeros(1, dtype=torch.int64), torch.tensor([4]))


@pytest.mark.parametrize(
    ("shape", "sequential", "message"),
    [((6, 2), True, "multiple of 4"), ((2, 2), True, "multiple of 4"), ((3, 10, 8), False, "divisible by 4")],
)
def test_build_network_rejects_shapes_it_cannot_halve(shape, sequential, message):
    with pytest.raises(ValueError, match=message):
        build_network(shape, 4, sequential)
