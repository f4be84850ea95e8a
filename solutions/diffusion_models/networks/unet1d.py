"""A FiLM-conditioned 1D U-Net over action sequences (Chi et al. 2023, "Diffusion Policy").

The condition (a flattened state history) and the time embedding form one global vector; each
residual block turns it into a per-channel scale and bias (FiLM, Perez et al. 2018). Convolutions
run along the horizon, which is halved once per level but the last.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .embeddings import SinusoidalTimeEmbedding


def _groups(channels: int) -> int:
    return min(8, channels)


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(_groups(out_channels), out_channels),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class FiLMResidualBlock1D(nn.Module):
    """Two conv blocks; the global condition scales and shifts the first one's output (FiLM)."""

    def __init__(self, in_channels: int, out_channels: int, global_dim: int, kernel_size: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.conv1 = Conv1dBlock(in_channels, out_channels, kernel_size)
        self.conv2 = Conv1dBlock(out_channels, out_channels, kernel_size)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(global_dim, 2 * out_channels))
        self.skip = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, global_cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)  # (B, C_out, L)
        scale, bias = self.film(global_cond).unsqueeze(-1).chunk(2, dim=1)  # 2 x (B, C_out, 1)
        h = self.conv2(scale * h + bias)
        return h + self.skip(x)


class ConditionalUNet1D(nn.Module):
    """eps_theta(x_t, t, cond) for action sequences.

    Args:
        action_dim: features per step of the sequence.
        condition_dim: size of the flattened condition (state_horizon * state_dim).
        down_dims: channels per level; the horizon must be divisible by 2^(len(down_dims) - 1).
        kernel_size: of every convolution along the horizon.
        time_emb_dim: size of the sinusoidal time embedding.

    forward(x_t: (B, horizon, action_dim), t: (B,) int64, cond: (B, condition_dim)) -> (B, horizon, action_dim)
    """

    def __init__(
        self,
        action_dim: int,
        condition_dim: int,
        down_dims: Sequence[int] = (64, 128, 256),
        kernel_size: int = 5,
        time_emb_dim: int = 64,
    ) -> None:
        super().__init__()
        self.condition_dim = condition_dim
        self.num_downsamples = len(down_dims) - 1
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(time_emb_dim),
            nn.Linear(time_emb_dim, 4 * time_emb_dim),
            nn.Mish(),
            nn.Linear(4 * time_emb_dim, time_emb_dim),
        )
        global_dim = time_emb_dim + condition_dim
        dims = [action_dim, *down_dims]
        self.down = nn.ModuleList()
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            last = i == len(down_dims) - 1
            self.down.append(
                nn.ModuleList(
                    [
                        FiLMResidualBlock1D(d_in, d_out, global_dim, kernel_size),
                        FiLMResidualBlock1D(d_out, d_out, global_dim, kernel_size),
                        nn.Identity() if last else nn.Conv1d(d_out, d_out, 3, stride=2, padding=1),
                    ]
                )
            )
        mid = down_dims[-1]
        self.mid = nn.ModuleList([FiLMResidualBlock1D(mid, mid, global_dim, kernel_size) for _ in range(2)])
        self.up = nn.ModuleList()
        for d_in, d_out in reversed(list(zip(down_dims[:-1], down_dims[1:], strict=True))):
            self.up.append(
                nn.ModuleList(
                    [
                        FiLMResidualBlock1D(2 * d_out, d_in, global_dim, kernel_size),
                        FiLMResidualBlock1D(d_in, d_in, global_dim, kernel_size),
                        nn.ConvTranspose1d(d_in, d_in, 4, stride=2, padding=1),
                    ]
                )
            )
        self.final = nn.Sequential(
            Conv1dBlock(down_dims[0], down_dims[0], kernel_size), nn.Conv1d(down_dims[0], action_dim, 1)
        )

    def check_input_shape(self, input_shape: Sequence[int]) -> None:
        """(horizon, action_dim): the horizon must halve num_downsamples times; ValueError otherwise."""
        if len(input_shape) != 2:
            raise ValueError(
                f"input_shape must be (horizon, action_dim) for sequences, got {tuple(input_shape)}"
            )
        factor = 2**self.num_downsamples
        horizon = input_shape[0]
        if horizon < factor or horizon % factor:
            raise ValueError(
                f"input_shape={tuple(input_shape)}: the horizon {horizon} must be a positive multiple of "
                f"{factor} for a 1D U-Net with {self.num_downsamples} downsamplings; use e.g. "
                f"{max(factor, horizon + (-horizon) % factor)}"
            )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        global_cond = torch.cat([self.time_embedding(t), cond.to(x_t.dtype)], dim=-1)  # (B, global_dim)
        h = x_t.transpose(1, 2)  # (B, action_dim, horizon)
        skips = []
        for res1, res2, downsample in self.down:
            h = res2(res1(h, global_cond), global_cond)
            skips.append(h)
            h = downsample(h)
        for block in self.mid:
            h = block(h, global_cond)
        for res1, res2, upsample in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = upsample(res2(res1(h, global_cond), global_cond))
        return self.final(h).transpose(1, 2)  # (B, horizon, action_dim)
