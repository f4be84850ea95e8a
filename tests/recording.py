"""A stand-in noise-prediction network that records every call, for tests of the model's loops."""

from __future__ import annotations

import torch
from torch import nn


class RecordingNetwork(nn.Module):
    """eps(x_t, t, c) = 0.5 * x_t + 0.01 * t + 0.1 * c (c summed over features), recording each call.

    It has one parameter so that optimisers and EMA have something to hold.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.calls: list[dict] = []

    @staticmethod
    def formula(
        x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, scale: float | torch.Tensor = 0.5
    ) -> torch.Tensor:
        shape = (-1, *([1] * (x_t.dim() - 1)))
        c = cond.reshape(cond.shape[0], -1).to(x_t.dtype).sum(dim=1)
        return scale * x_t + 0.01 * t.to(x_t.dtype).view(shape) + 0.1 * c.view(shape)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        self.calls.append(
            {
                "x_t": x_t.detach().clone(),
                "t": t.detach().clone(),
                "cond": cond.detach().clone(),
                "training": self.training,
                "grad_enabled": torch.is_grad_enabled(),
                "scale": self.scale.item(),
            }
        )
        return self.formula(x_t, t, cond, self.scale)
