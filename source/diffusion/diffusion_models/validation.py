"""Checks of user input that run on the host, before any device kernel can assert.

Each raises ``ValueError`` naming the argument and the fix, so a student sees
"cond holds label 4 but condition_dim is 4" instead of "CUDA error: device-side assert triggered".
"""

from __future__ import annotations

import numbers

import torch

NULL_TOKEN_HINT = "condition_dim must be number of classes + 1: 0 is the null token"


def check_positive_int(value: int, name: str) -> int:
    """A count such as T, a horizon or a number of samples: an int (or NumPy integer) >= 1, not a bool.

    Returns it as a Python int; raises ``ValueError`` naming ``name`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def check_class_labels(cond: torch.Tensor, condition_dim: int, name: str = "cond") -> None:
    """Class labels must be integers in [0, condition_dim); label 0 is the null token."""
    if not isinstance(cond, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class labels, got {type(cond).__name__}")
    if cond.dtype.is_floating_point or cond.dtype == torch.bool or cond.is_complex():
        raise ValueError(f"{name} must hold integer class labels (int64), got dtype {cond.dtype}")
    if cond.dim() != 1:
        raise ValueError(f"{name} must have shape (B,) of class labels, got shape {tuple(cond.shape)}")
    if cond.numel() == 0:
        return
    low, high = int(cond.min()), int(cond.max())
    if low < 0 or high >= condition_dim:
        bad = low if low < 0 else high
        raise ValueError(
            f"{name} holds class label {bad}, outside [0, {condition_dim}) for condition_dim="
            f"{condition_dim}. {NULL_TOKEN_HINT}, so labels 1..K need condition_dim = K + 1."
        )


def check_condition_vectors(cond: torch.Tensor, condition_dim: int, name: str = "cond") -> None:
    """A sequential model's condition is a float tensor of shape (B, condition_dim)."""
    if not isinstance(cond, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(cond).__name__}")
    if cond.dim() != 2 or cond.shape[1] != condition_dim:
        raise ValueError(
            f"{name} must have shape (B, condition_dim) = (B, {condition_dim}), got {tuple(cond.shape)}"
        )


def check_same_batch(**tensors: torch.Tensor) -> int:
    """All tensors share the leading batch dimension; returns it."""
    sizes = {name: (t.shape[0] if t.dim() > 0 else None) for name, t in tensors.items()}
    if any(size is None for size in sizes.values()):
        scalars = [name for name, size in sizes.items() if size is None]
        raise ValueError(f"{', '.join(scalars)} must have a leading batch dimension, got a 0-d tensor")
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise ValueError(f"batch sizes disagree: {listing}; give each the same first dimension B")
    return next(iter(sizes.values()))


def check_timesteps(timesteps: torch.Tensor, num_steps: int, name: str = "timesteps") -> None:
    """Timesteps are zero-indexed integers in [0, num_steps - 1]."""
    if not isinstance(timesteps, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of int64 timesteps, got {type(timesteps).__name__}")
    if timesteps.dtype.is_floating_point or timesteps.dtype == torch.bool or timesteps.is_complex():
        raise ValueError(f"{name} must be integers (int64), got dtype {timesteps.dtype}")
    if timesteps.numel() == 0:
        return
    low, high = int(timesteps.min()), int(timesteps.max())
    if low < 0 or high >= num_steps:
        bad = low if low < 0 else high
        raise IndexError(
            f"{name} holds {bad}, outside [0, {num_steps - 1}]: timesteps are zero-indexed, "
            f"t = 0 is the last denoising step and t = {num_steps - 1} the first"
        )


def check_timestep(t: int | torch.Tensor, num_steps: int, name: str = "t") -> int:
    """A single zero-indexed timestep given as a Python int or a 0-d integer tensor; returns the int."""
    if isinstance(t, torch.Tensor):
        if t.numel() != 1 or t.dtype.is_floating_point:
            raise ValueError(
                f"{name} must be a Python int or a 0-d integer tensor, got {t.dtype} {tuple(t.shape)}"
            )
        t = int(t.item())
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"{name} must be a Python int, got {type(t).__name__}")
    t = int(t)
    if not 0 <= t < num_steps:
        raise IndexError(
            f"{name}={t} is outside [0, {num_steps - 1}]: timesteps are zero-indexed, "
            f"t = 0 is the last denoising step"
        )
    return t
