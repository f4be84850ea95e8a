"""A class-conditional 2D U-Net that predicts the noise eps_theta(x_t, t, c) of an image.

The class label c is embedded by ``nn.Embedding(condition_dim, emb_dim)`` (row 0 is the null token
of classifier-free guidance) and added to the sinusoidal time embedding; every residual block adds
that joint embedding to its features. Self-attention runs at the lowest resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..validation import check_class_labels
from .embeddings import SinusoidalTimeEmbedding


def _groups(channels: int) -> int:
    return min(8, channels)


class ResidualBlock2D(nn.Module):
    """GroupNorm-SiLU-Conv twice, with the embedding added in between (Ho et al. 2020, App. B)."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_channels)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # (B, C, 1, 1)
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class SelfAttention2D(nn.Module):
    """Multi-head self-attention over the H*W positions, with a residual connection."""

    def __init__(self, channels: int, num_heads: int = 4) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.attn = nn.MultiheadAttention(channels, num_heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # (B, H*W, C)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class ClassConditionalUNet2D(nn.Module):
    """eps_theta(x_t, t, c) for images.

    Args:
        in_channels: C of the images.
        condition_dim: rows of the label embedding = number of classes + 1 (0 is the null token).
        base_channels: channels of the first level; level i has base_channels * channel_mults[i].
        channel_mults: one entry per resolution; H and W must be divisible by 2^(len - 1).
        emb_dim: size of the joint time + label embedding.

    forward(x_t: (B, C, H, W) float, t: (B,) int64, cond: (B,) int64) -> (B, C, H, W)
    """

    def __init__(
        self,
        in_channels: int,
        condition_dim: int,
        base_channels: int = 32,
        channel_mults: Sequence[int] = (1, 2, 2),
        emb_dim: int = 128,
        attention: bool = True,
    ) -> None:
        super().__init__()
        if condition_dim < 2:
            raise ValueError(
                f"condition_dim={condition_dim} leaves no class besides the null token 0: "
                "condition_dim must be number of classes + 1"
            )
        self.condition_dim = condition_dim
        self.num_downsamples = len(channel_mults) - 1
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(emb_dim),
            nn.Linear(emb_dim, emb_dim),
            nn.SiLU(),
            nn.Linear(emb_dim, emb_dim),
        )
        self.label_embedding = nn.Embedding(condition_dim, emb_dim)

        widths = [base_channels * m for m in channel_mults]
        self.conv_in = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        previous = widths[0]
        for i, width in enumerate(widths):
            self.down.append(ResidualBlock2D(previous, width, emb_dim))
            last = i == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(width, width, 3, stride=2, padding=1))
            previous = width
        self.mid1 = ResidualBlock2D(previous, previous, emb_dim)
        self.mid_attn = SelfAttention2D(previous) if attention else nn.Identity()
        self.mid2 = ResidualBlock2D(previous, previous, emb_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, width in reversed(list(enumerate(widths))):
            self.up.append(ResidualBlock2D(previous + width, width, emb_dim))
            first = i == 0
            self.upsample.append(nn.Identity() if first else nn.Upsample(scale_factor=2, mode="nearest"))
            previous = width
        self.norm_out = nn.GroupNorm(_groups(previous), previous)
        self.conv_out = nn.Conv2d(previous, in_channels, 3, padding=1)

    def check_input_shape(self, input_shape: Sequence[int]) -> None:
        """(C, H, W) must be halvable num_downsamples times; raises ValueError naming input_shape."""
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (C, H, W) for images, got {tuple(input_shape)}")
        factor = 2**self.num_downsamples
        _, h, w = input_shape
        if h % factor or w % factor:
            raise ValueError(
                f"input_shape={tuple(input_shape)}: H and W must be divisible by {factor} "
                f"for a U-Net with {self.num_downsamples} downsamplings; pad or resize the images"
            )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        check_class_labels(cond, self.condition_dim)
        emb = self.time_embedding(t) + self.label_embedding(cond)  # (B, emb_dim)
        h = self.conv_in(x_t)
        skips = []
        for block, down in zip(self.down, self.downsample, strict=True):
            h = block(h, emb)
            skips.append(h)
            h = down(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for block, up in zip(self.up, self.upsample, strict=True):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h)))
