"""Noise-prediction networks eps_theta(x_t, t, cond) and the factory that picks one."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .unet1d import ConditionalUNet1D
from .unet2d import ClassConditionalUNet2D

__all__ = ["ClassConditionalUNet2D", "ConditionalUNet1D", "build_network"]


def build_network(input_shape: Sequence[int], condition_dim: int, sequential: bool) -> nn.Module:
    """The built-in network for a model: a 1D U-Net over (horizon, action_dim) when sequential,
    else a 2D U-Net over (C, H, W). Raises ValueError when input_shape does not fit it."""
    if sequential:
        network = ConditionalUNet1D(action_dim=input_shape[-1], condition_dim=condition_dim)
    else:
        network = ClassConditionalUNet2D(in_channels=input_shape[0], condition_dim=condition_dim)
    network.check_input_shape(input_shape)
    return network
