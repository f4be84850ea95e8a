"""Where tensors live: CUDA when available, else CPU, overridable everywhere by ``device=``."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """The kit's default device: the first CUDA GPU when one is visible, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn a user's ``device=`` argument into a ``torch.device``.

    ``None`` means :func:`default_device`. Asking for CUDA on a machine without it is an error that
    says so, instead of the opaque failure of the first kernel launch.
    """
    if device is None:
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a device: use 'cpu', 'cuda' or None") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA but no CUDA GPU is visible: pass device='cpu' or None"
        )
    return resolved


def same_device(a: torch.device, b: torch.device) -> bool:
    """Whether two devices are the same place: 'cuda' and 'cuda:0' are, when GPU 0 is the current one."""
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return a.index == b.index or a.index is None or b.index is None
    current = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)
