"""Probes: the only code that calls the student's package, and the context they run in.

A probe takes the judge's inputs (numpy arrays, numbers), calls the student's code, and returns what
came back as numpy arrays and numbers; it never decides anything. Probes run in a child process in
the autograder and in the student's own process for the public checks. torch is imported lazily, so
the judge's side (which imports this module for the ``@probe`` registry) never loads it.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "diffusion_models"
PROBES: dict[str, Callable[..., dict[str, Any]]] = {}


def probe(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register ``fn(ctx, **inputs) -> outputs`` under ``name``."""

    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        if name in PROBES and PROBES[name] is not fn:
            raise ValueError(f"probe {name!r} is registered twice")
        PROBES[name] = fn
        return fn

    return register


class WrongResult(Exception):
    """The student's code returned something unusable (a list, a wrong dtype); the message says what."""


class ProbeContext:
    """The student's package, the device, and helpers to cross between numpy and torch."""

    def __init__(self, package: Any, device: str) -> None:
        import torch

        self.torch = torch
        self.package = package
        self.device = torch.device(device)

    # -------------------------------------------------------------------- crossing
    def module(self, name: str) -> Any:
        """A module of the student's package, e.g. ``ctx.module("noise_scheduler")``."""
        return importlib.import_module(f"{PACKAGE}.{name}")

    def tensor(self, values: np.ndarray, dtype: Any = None) -> Any:
        """A fresh tensor on the grading device (float arrays become float32 unless dtype says else)."""
        values = np.asarray(values)
        if dtype is None:
            dtype = self.torch.float32 if values.dtype.kind == "f" else None
        return self.torch.as_tensor(values.copy(), device=self.device, dtype=dtype)

    def array(self, value: Any, what: str) -> np.ndarray:
        """numpy copy of a tensor the student's code returned; WrongResult when it is not a tensor."""
        if not isinstance(value, self.torch.Tensor):
            raise WrongResult(f"{what} returned a {type(value).__name__}; it must return a torch.Tensor")
        return value.detach().to("cpu").numpy().copy()

    def generator(self, seed: int) -> Any:
        return self.torch.Generator(device=self.device).manual_seed(int(seed))

    # -------------------------------------------------------------------- the student's objects
    def scheduler(
        self,
        num_steps: int,
        beta_start: float,
        beta_end: float,
        schedule: dict[str, np.ndarray] | None = None,
    ) -> Any:
        """The student's NoiseScheduler; with ``schedule``, its arrays replaced by the judge's.

        Installing the judge's arrays grades add_noise and denoise_step on their own, whatever task
        2.1.1a does: when the student's __init__ fails, the object is made without it.
        """
        cls = self.module("noise_scheduler").NoiseScheduler
        try:
            scheduler = cls(num_steps, beta_start, beta_end, device=self.device)
        except Exception:
            if schedule is None:
                raise
            scheduler = cls.__new__(cls)
            scheduler.num_steps, scheduler.device = num_steps, self.device
            scheduler.beta_start, scheduler.beta_end = float(beta_start), float(beta_end)
        if schedule is not None:
            for name in ("betas", "alphas", "alpha_bars"):
                setattr(scheduler, name, self.tensor(schedule[name]))
        return scheduler

    def model(
        self,
        *,
        sequential: bool,
        input_shape: tuple[int, ...],
        condition_dim: int,
        p_uncond: float,
        scheduler: Any,
        network: Any,
    ) -> Any:
        """The student's DiffusionModel around a stand-in scheduler and network (other tasks kept out)."""
        return self.module("diffusion_model").DiffusionModel(
            tuple(input_shape),
            int(condition_dim),
            sequential=bool(sequential),
            p_uncond=float(p_uncond),
            device=self.device,
            network=network,
            noise_scheduler=scheduler,
        )


def run_probe(ctx: ProbeContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if name not in PROBES:
        raise KeyError(f"no probe named {name!r}")
    return PROBES[name](ctx, **inputs)


def describe_exception(err: BaseException, package_dir: str | Path | None) -> dict[str, Any]:
    """kind, message and the submission's own frames ('noise_scheduler.py:52 in add_noise: <line>')."""
    kind = "WrongResult" if isinstance(err, WrongResult) else type(err).__name__
    if isinstance(err, SystemExit):
        message = f"sys.exit({err.code!r}) was called"
    else:
        message = str(err)
    frames = []
    root = str(Path(package_dir).resolve()) if package_dir is not None else None
    for frame in traceback.extract_tb(err.__traceback__):
        filename = str(Path(frame.filename).resolve()) if frame.filename else ""
        if root is not None and filename.startswith(root):
            relative = Path(filename).relative_to(Path(root).parent)
            frames.append(f"{relative}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()[:160]}")
    return {"kind": kind, "message": message[:2000], "where": frames[-5:]}
