"""Per-feature min-max normalization to [-1, 1], the range DDPM samples live in.

Diffusion Policy (Chi et al. 2023) normalizes states and actions this way: the noise is N(0, I),
so features must share one scale, and with thresholding (task 2.3.2) samples are clamped to [-1, 1].

    x_norm = 2 (x - min) / (max - min) - 1,        x = (x_norm + 1) / 2 (max - min) + min

A feature that never varies in the data (max == min) maps to 0 and back to its constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


@dataclass
class Normalizer:
    """Min-max statistics of D features: minimum (D,), maximum (D,), both float32."""

    minimum: np.ndarray
    maximum: np.ndarray

    def __post_init__(self) -> None:
        self.minimum = np.asarray(self.minimum, dtype=np.float32).reshape(-1)
        self.maximum = np.asarray(self.maximum, dtype=np.float32).reshape(-1)
        if self.minimum.shape != self.maximum.shape:
            raise ValueError(f"minimum {self.minimum.shape} and maximum {self.maximum.shape} must match")
        if not (np.all(np.isfinite(self.minimum)) and np.all(np.isfinite(self.maximum))):
            raise ValueError("minimum and maximum must be finite")
        if np.any(self.maximum < self.minimum):
            raise ValueError(f"maximum must be >= minimum everywhere, got {self.minimum}, {self.maximum}")

    @classmethod
    def fit(cls, data: np.ndarray) -> Normalizer:
        """The per-feature min and max of data (N, D) (or (..., D): every axis but the last is pooled)."""
        data = np.asarray(data, dtype=np.float32)
        if data.ndim < 1 or data.shape[-1] == 0 or data.size == 0:
            raise ValueError(f"data must have shape (N, D) with N, D >= 1, got {data.shape}")
        flat = data.reshape(-1, data.shape[-1])  # (N, D)
        return cls(flat.min(axis=0), flat.max(axis=0))

    @property
    def dim(self) -> int:
        return len(self.minimum)

    def normalize(self, x: Array) -> Array:
        """x (..., D) in data units -> (..., D) in [-1, 1] (for data inside the fitted range).

        Numpy in, numpy out; a tensor in gives a tensor on its device and dtype.
        """
        minimum, span = self._stats_like(x)  # each (D,), broadcast against x
        # TODO task 2.4.1: min-max normalization to [-1, 1]
        raise NotImplementedError("task 2.4.1: min-max normalization to [-1, 1]")

    def unnormalize(self, x: Array) -> Array:
        """x (..., D) in [-1, 1] -> (..., D) in data units: the inverse of :meth:`normalize`."""
        minimum, span = self._stats_like(x)  # each (D,), broadcast against x
        # TODO task 2.4.1: undo the normalization, back to data units
        raise NotImplementedError("task 2.4.1: undo the normalization, back to data units")

    def _stats_like(self, x: Array) -> tuple[Array, Array]:
        """(minimum, span = maximum - minimum), each (D,) like x (..., D): numpy, or a tensor on x's
        device. A constant feature gets minimum - 1 and span 2, so it maps to 0 and back."""
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"x must have shape (..., {self.dim}), got {tuple(x.shape)}")
        span = self.maximum - self.minimum
        constant = span <= 1e-8
        span = np.where(constant, 2.0, span).astype(np.float32)  # 2 (x - (min - 1)) / 2 - 1 = 0 at x = min
        minimum = np.where(constant, self.minimum - 1.0, self.minimum).astype(np.float32)
        if isinstance(x, torch.Tensor):
            dtype = x.dtype if x.dtype.is_floating_point else torch.float32
            return (
                torch.as_tensor(minimum, dtype=dtype, device=x.device),
                torch.as_tensor(span, dtype=dtype, device=x.device),
            )
        return minimum, span

    def state_dict(self) -> dict[str, list[float]]:
        return {"minimum": self.minimum.tolist(), "maximum": self.maximum.tolist()}
