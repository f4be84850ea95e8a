"""Stand-ins that take the place of other tasks' code while one task is graded, and record every call.

- :class:`RecordingNetwork` replaces eps_theta: it records (x_t, t, cond), the training flag and
  whether gradients are on, and returns w * (tanh(gain * x_t + phase[t]) + feature(cond)) with
  judge-chosen phase, gain and feature table, which the judge recomputes in float64
  (:func:`..judge_maths.network_output`).
- :class:`AffineScheduler` replaces the NoiseScheduler inside DiffusionModel: its add_noise and
  denoise_step are affine maps whose coefficients the judge chooses and records every call. It holds
  no solution of any task, only the numbers it is given.
- :class:`DropSpy` replaces ``model.drop_condition`` to see that compute_loss_on_batch uses it.
- :class:`ScalarNetwork` is a one-parameter network (w * x_t) for the image generator's model, so its
  weights can be saved and loaded without building a U-Net.
- For the rollout (task 2.4.2): :class:`ScriptedEnv` (known dynamics, records every step),
  :class:`PlanRecorder` (a policy returning the judge's plans, recording each generate_sample call) and
  :class:`AffineNormalizer` (in place of the Normalizer of task 2.4.1).

Each validates its inputs like the kit's own code, so a misuse fails with the kit's message.
This module needs torch and is only imported where student code runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .judge import scaled


def _numpy(value: torch.Tensor) -> np.ndarray:
    return value.detach().to("cpu").numpy().copy()


def _timesteps_error(name: str, value: Any, num_steps: int) -> str:
    return (
        f"{name} holds {value}, outside [0, {num_steps - 1}]: timesteps are zero-indexed, t = 0 is the last "
        f"denoising step and t = {num_steps - 1} the first"
    )


class RecordingNetwork(nn.Module):
    """eps_theta(x_t, t, cond) = w * (tanh(gain * x_t + phase[t]) + feature(cond)); records each call.

    feature(cond) is ``table[cond]`` for class labels (B,) and ``cond @ table`` for condition vectors
    (B, condition_dim), reshaped to one sample's shape. ``w`` is the only parameter (1.0).
    """

    def __init__(
        self, input_shape: tuple[int, ...], labels: bool, phase: np.ndarray, gain: float, table: np.ndarray
    ) -> None:
        super().__init__()
        self.input_shape = tuple(int(n) for n in input_shape)
        self.labels = bool(labels)
        self.gain = float(gain)
        self.w = nn.Parameter(torch.ones(()))
        self.register_buffer("phase", torch.as_tensor(np.asarray(phase), dtype=torch.float32))
        self.register_buffer("table", torch.as_tensor(np.asarray(table), dtype=torch.float32))
        self.records: list[dict[str, Any]] = []

    def _validate(self, x_t: Any, t: Any, cond: Any) -> None:
        call = "the network is called as net(x_t, t, cond)"
        if not isinstance(x_t, torch.Tensor) or tuple(x_t.shape[1:]) != self.input_shape or x_t.dim() < 2:
            got = tuple(x_t.shape) if isinstance(x_t, torch.Tensor) else type(x_t).__name__
            raise ValueError(
                f"{call} with x_t of shape (B, {', '.join(map(str, self.input_shape))}), got {got}"
            )
        batch = x_t.shape[0]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (batch,):
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"{call} with t a (B,) = ({batch},) int64 tensor, one timestep per sample; got {got}"
            )
        if t.dtype.is_floating_point or t.dtype == torch.bool:
            raise ValueError(f"{call} with t an int64 tensor; got dtype {t.dtype}")
        num_steps = self.phase.shape[0]
        if batch and (int(t.min()) < 0 or int(t.max()) >= num_steps):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            raise IndexError(_timesteps_error("t", bad, num_steps))
        if not isinstance(cond, torch.Tensor):
            raise ValueError(f"{call} with cond a tensor, got {type(cond).__name__}")
        condition_dim = self.table.shape[0]
        if self.labels:
            if tuple(cond.shape) != (batch,) or cond.dtype.is_floating_point:
                raise ValueError(
                    f"{call} with cond a ({batch},) int64 tensor of labels; got {cond.dtype} {tuple(cond.shape)}"
                )
            if batch and (int(cond.min()) < 0 or int(cond.max()) >= condition_dim):
                raise IndexError(
                    f"cond holds a label outside [0, {condition_dim}): condition_dim must be number of classes + 1, "
                    "0 is the null token"
                )
        elif tuple(cond.shape) != (batch, condition_dim):
            raise ValueError(
                f"{call} with cond of shape (B, condition_dim) = ({batch}, {condition_dim}); got {tuple(cond.shape)}"
            )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        self._validate(x_t, t, cond)
        self.records.append(
            {
                "x_t": _numpy(x_t),
                "t": _numpy(t).astype(np.int64),
                "t_dtype": str(t.dtype),
                "cond": _numpy(cond),
                "training": bool(self.training),
                "grad_enabled": bool(torch.is_grad_enabled()),
            }
        )
        batch = x_t.shape[0]
        t = t.to(self.phase.device, torch.int64)
        cond = cond.to(self.table.device)
        feature = self.table[cond.long()] if self.labels else cond.float() @ self.table  # (B, D)
        shape = (batch, *([1] * len(self.input_shape)))
        hidden = torch.tanh(self.gain * x_t.float() + self.phase[t].view(shape))  # (B, *S)
        return self.w * (hidden + feature.view(batch, *self.input_shape))


class AffineScheduler:
    """A NoiseScheduler stand-in: add_noise = A[t] x0 + S[t] eps, denoise_step = a[t] x_t + b[t] eps.

    The schedule arrays (betas, alphas, alpha_bars) are there for code that reads them; the judge
    sets A and S consistently with them when it matters.
    """

    def __init__(
        self,
        schedule: dict[str, np.ndarray],
        device: torch.device,
        noise_coefs: tuple[np.ndarray, np.ndarray] | None = None,
        step_coefs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        def tensor(values: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(values), dtype=torch.float32, device=device)

        self.device = device
        self.betas, self.alphas, self.alpha_bars = (
            tensor(schedule[k]) for k in ("betas", "alphas", "alpha_bars")
        )
        self.num_steps = int(self.betas.shape[0])
        self.beta_start, self.beta_end = float(schedule["betas"][0]), float(schedule["betas"][-1])
        ones = np.ones(self.num_steps)
        self._noise = tuple(tensor(c) for c in (noise_coefs or (ones, ones)))
        self._step = tuple(tensor(c) for c in (step_coefs or (ones, ones)))
        self.expected_generator: torch.Generator | None = None
        self.add_noise_calls = 0
        self.steps: list[dict[str, Any]] = []

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        if tuple(original_samples.shape) != tuple(noise.shape):
            raise ValueError(
                f"original_samples has shape {tuple(original_samples.shape)} but noise has {tuple(noise.shape)}"
            )
        if not isinstance(timesteps, torch.Tensor) or tuple(timesteps.shape) != (original_samples.shape[0],):
            got = tuple(timesteps.shape) if isinstance(timesteps, torch.Tensor) else type(timesteps).__name__
            raise ValueError(f"timesteps must have shape (B,) = ({original_samples.shape[0]},), got {got}")
        if timesteps.dtype.is_floating_point or timesteps.dtype == torch.bool:
            raise ValueError(f"timesteps must be integers (int64), got dtype {timesteps.dtype}")
        if timesteps.numel() and (int(timesteps.min()) < 0 or int(timesteps.max()) >= self.num_steps):
            bad = int(timesteps.min()) if int(timesteps.min()) < 0 else int(timesteps.max())
            raise IndexError(_timesteps_error("timesteps", bad, self.num_steps))
        self.add_noise_calls += 1
        signal, spread = self._noise
        t = timesteps.to(self.device, torch.int64)
        shape = (-1, *([1] * (original_samples.dim() - 1)))
        return signal[t].view(shape) * original_samples + spread[t].view(shape) * noise

    def denoise_step(
        self,
        model_prediction: torch.Tensor,
        t: int | torch.Tensor,
        x_t: torch.Tensor,
        threshold: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if isinstance(t, torch.Tensor):
            if t.numel() != 1 or t.dtype.is_floating_point:
                raise ValueError(
                    f"t must be a Python int or a 0-d integer tensor, got {t.dtype} {tuple(t.shape)}"
                )
            t = int(t.item())
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise TypeError(f"t must be a Python int, got {type(t).__name__}")
        t = int(t)
        if not 0 <= t < self.num_steps:
            raise IndexError(_timesteps_error("t", t, self.num_steps))
        if tuple(model_prediction.shape) != tuple(x_t.shape):
            raise ValueError(
                f"model_prediction has shape {tuple(model_prediction.shape)} but x_t has {tuple(x_t.shape)}"
            )
        if generator is None:
            given = "none"
        else:
            given = "same" if generator is self.expected_generator else "other"
        self.steps.append(
            {
                "t": t,
                "x_t": _numpy(x_t),
                "eps": _numpy(model_prediction),
                "threshold": bool(threshold),
                "generator": given,
            }
        )
        keep, mix = self._step
        return keep[t] * x_t + mix[t] * model_prediction


class DropSpy:
    """Stands in for ``model.drop_condition``: zeros the rows the judge chose and counts its calls.

    Any calling pattern works: the whole batch at once, or a part of it (one sample, as a row or as a
    0-d label) at a time, in order; the mask is read on from where the last call stopped.
    """

    def __init__(self, mask: np.ndarray | None) -> None:
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.calls = 0
        self.offset = 0

    def __call__(
        self, cond: torch.Tensor, generator: torch.Generator | None = None, *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        self.calls += 1
        if self.mask is None:
            return cond.clone()
        rows = 1 if cond.dim() == 0 else cond.shape[0]
        chosen = np.resize(
            np.roll(self.mask, -self.offset), rows
        )  # the mask from where the last call stopped
        self.offset = (self.offset + rows) % len(self.mask)
        keep = torch.as_tensor(~chosen, device=cond.device).to(cond.dtype)  # 1 keeps a row, 0 nulls it
        keep = keep.reshape(()) if cond.dim() == 0 else keep.view(-1, *([1] * (cond.dim() - 1)))
        return cond * keep


# ------------------------------------------------------------------------------------ robotics (2.4.2)
def _plain(value: Any) -> np.ndarray:
    """float64 numpy copy of an array-like or a tensor (on any device)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64)
    return np.array(value, dtype=np.float64)


class ScaledNormalizer:
    """A Normalizer stand-in for the rollout: normalize(x) = gain * (x - shift), unnormalize its inverse, per
    feature (an arbitrary invertible map, so a plan left normalized lands somewhere else).

    The judge chooses shift (D,) and gain (D,) != 0. Numpy in gives numpy out (float32 for float32 input),
    a tensor in gives a tensor of its dtype on its device, as the kit's Normalizer does.
    """

    def __init__(self, shift: np.ndarray, gain: np.ndarray) -> None:
        self.shift = np.asarray(shift, dtype=np.float64).reshape(-1)
        self.gain = np.asarray(gain, dtype=np.float64).reshape(-1)

    @property
    def dim(self) -> int:
        return len(self.shift)

    def _apply(self, x: Any, forward: bool) -> Any:
        if tuple(np.shape(x))[-1:] != (self.dim,):
            raise ValueError(f"x must have shape (..., {self.dim}), got {tuple(np.shape(x))}")
        out = scaled(_plain(x), self.shift, self.gain, forward)
        if isinstance(x, torch.Tensor):
            dtype = x.dtype if x.dtype.is_floating_point else torch.float32
            return torch.as_tensor(out, dtype=dtype, device=x.device)
        return out.astype(np.result_type(np.asarray(x).dtype, np.float32))

    def normalize(self, x: Any) -> Any:
        return self._apply(x, True)

    def unnormalize(self, x: Any) -> Any:
        return self._apply(x, False)


class ScriptedEnv:
    """A gymnasium-style environment with known dynamics; records every reset and step.

    s_{k+1} = decay * s_k + M a_k + offset (float64 inside, float32 observations out); the reward of
    step k (1-based) is k. ``terminate_at``/``truncate_at``: the step whose result says terminated
    (with info["success"] True) or truncated. Like the kit's environment, a step after the end raises.
    """

    def __init__(
        self,
        start: np.ndarray,
        decay: float,
        mixing: np.ndarray,
        offset: np.ndarray,
        terminate_at: int | None = None,
        truncate_at: int | None = None,
    ) -> None:
        self.start = np.asarray(start, dtype=np.float64)
        self.decay = float(decay)
        self.mixing = np.asarray(mixing, dtype=np.float64)  # (S, A)
        self.offset = np.asarray(offset, dtype=np.float64)
        self.terminate_at, self.truncate_at = terminate_at, truncate_at
        self.seeds: list[Any] = []
        self.actions: list[np.ndarray] = []
        self.observations: list[np.ndarray] = []  # every observation returned, reset's first
        self._state = self.start.copy()
        self._done = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        self.seeds.append(seed)
        self._state = self.start.copy()
        self._done = False
        self.observations.append(self._state.astype(np.float32).astype(np.float64))
        return self._state.astype(np.float32), {"success": False, "collision": False, "step": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError(
                f"step() called on a finished episode (it ended at step {len(self.actions)}): the rollout must "
                "stop as soon as env.step returns terminated or truncated, even in the middle of a plan"
            )
        action_dim = self.mixing.shape[1]
        target = _plain(action).reshape(-1)
        if target.shape != (action_dim,) or not np.all(np.isfinite(target)):
            raise ValueError(
                f"env.step takes one finite action of shape ({action_dim},), got shape {tuple(np.shape(action))}"
            )
        self.actions.append(target)
        self._state = self.decay * self._state + self.mixing @ target + self.offset
        step = len(self.actions)
        terminated = step == self.terminate_at
        truncated = not terminated and step == self.truncate_at
        self._done = terminated or truncated
        info = {"success": terminated, "collision": False, "step": step}
        self.observations.append(self._state.astype(np.float32).astype(np.float64))
        return self._state.astype(np.float32), float(step), terminated, truncated, info


class PlanRecorder:
    """A policy stand-in: generate_sample returns the judge's plan number k (cycling), records each call.

    plans: (P, H, A) normalized plans; the k-th call returns plans[k % P] as a (1, H, A) float32 tensor on
    ``device``. It validates cond as the kit's DiffusionModel does (a tensor of shape (B, condition_dim)).
    """

    def __init__(self, plans: np.ndarray, condition_dim: int, device: torch.device) -> None:
        self.plans = np.asarray(plans, dtype=np.float32)
        self.condition_dim = int(condition_dim)
        self.device = device
        self.expected_generator: torch.Generator | None = None
        self.calls: list[dict[str, Any]] = []

    def generate_sample(
        self,
        cond: torch.Tensor,
        guidance_weight: float = 0.0,
        threshold: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if not isinstance(cond, torch.Tensor):
            raise TypeError(f"cond must be a torch.Tensor, got {type(cond).__name__}")
        if cond.dim() != 2 or cond.shape[1] != self.condition_dim:
            raise ValueError(
                f"cond must have shape (B, condition_dim) = (1, {self.condition_dim}) (state_horizon * state_dim), "
                f"got {tuple(cond.shape)}"
            )
        if generator is None:
            given = "none"
        else:
            given = "same" if generator is self.expected_generator else "other"
        self.calls.append(
            {
                "cond": _numpy(cond).astype(np.float64),
                "dtype": str(cond.dtype).replace("torch.", ""),
                "generator": given,
            }
        )
        plan = self.plans[(len(self.calls) - 1) % len(self.plans)]
        return torch.as_tensor(plan, dtype=torch.float32, device=self.device)[None]  # (1, H, A)


class ScalarNetwork(nn.Module):
    """A noise-prediction stand-in with one parameter: net(x_t, t, cond) = w * x_t (w starts at 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.w * x_t
