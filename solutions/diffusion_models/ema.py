"""Exponential moving average (EMA) of a network's weights, used for sampling.

The averaged weights live beside the network rather than in a copy of it, and are swapped in only
while sampling (:meth:`ExponentialMovingAverage.applied_to`), so whatever calls the network sees one
and the same module object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class ExponentialMovingAverage:
    """theta_ema <- d * theta_ema + (1 - d) * theta, with a warm-up d_k = min(max_decay, 1 - (1 + k)^-power).

    The warm-up (as in diffusers' ``EMAModel``) keeps early averages from being dominated by the
    random initial weights: d is about 0.97 after 100 steps and 0.994 after 1000.
    """

    def __init__(self, network: nn.Module, max_decay: float = 0.9999, power: float = 0.75) -> None:
        if not 0.0 <= max_decay < 1.0:
            raise ValueError(f"max_decay must lie in [0, 1), got {max_decay!r}")
        self.max_decay = max_decay
        self.power = power
        self.num_updates = 0
        self.shadow = {name: p.detach().clone() for name, p in network.named_parameters()}

    def decay(self) -> float:
        """The decay used by the next update."""
        return min(self.max_decay, 1.0 - (1.0 + self.num_updates) ** -self.power)

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """Fold the network's current weights into the average."""
        d = self.decay()
        for name, p in network.named_parameters():
            self.shadow[name].lerp_(p.detach(), 1.0 - d)
        self.num_updates += 1

    @contextlib.contextmanager
    def applied_to(self, network: nn.Module) -> Iterator[nn.Module]:
        """Temporarily load the averaged weights into ``network``; the trained ones come back after."""
        saved = {name: p.detach().clone() for name, p in network.named_parameters()}
        with torch.no_grad():
            for name, p in network.named_parameters():
                p.copy_(self.shadow[name])
        try:
            yield network
        finally:
            with torch.no_grad():
                for name, p in network.named_parameters():
                    p.copy_(saved[name])

    def state_dict(self) -> dict:
        return {"num_updates": self.num_updates, "shadow": dict(self.shadow)}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        missing = set(self.shadow) ^ set(state["shadow"])
        if missing:
            raise ValueError(f"EMA checkpoint does not fit this network: parameters {sorted(missing)} differ")
        self.num_updates = int(state["num_updates"])
        self.shadow = {name: t.to(device) for name, t in state["shadow"].items()}
