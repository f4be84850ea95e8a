"""A conditional DDPM trained with classifier-free guidance.

Training: Algorithm 1 of Ho et al. 2020 with the null-token dropout of Ho & Salimans 2022
(arXiv 2207.12598, Algorithm 1). Sampling: Algorithm 2 of Ho et al. 2020 with the guided noise
estimate of CFG eq. 6. Timesteps are zero-indexed, t = T-1 ... 0.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .device import resolve_device, same_device
from .ema import ExponentialMovingAverage
from .networks import build_network
from .noise_scheduler import NoiseScheduler
from .randomness import rand, randint, randn
from .validation import check_class_labels, check_condition_vectors, check_positive_int, check_same_batch


class DiffusionModel:
    """A noise-prediction network, its noise schedule, and CFG training and sampling.

    Args:
        input_shape: shape of one sample: (horizon, action_dim) when sequential, else (C, H, W).
        condition_dim: sequential: size of the float condition vector; images: number of classes + 1,
            label 0 being the null token.
        sequential: True for the 1D U-Net over action sequences, False for the 2D image U-Net.
        denoising_steps: T, the number of diffusion steps; None = the noise_scheduler's, or 100.
        p_uncond: probability of replacing a sample's condition by the null token in training.
        weights_path: a checkpoint from :meth:`save_weights` to load.
        device: where the network runs; None = CUDA when available, else CPU.
        network: an ``nn.Module`` to use instead of the built-in U-Net, called as ``net(x_t, t, cond)``.
        noise_scheduler: the schedule to train and sample with, on ``device``; None = DDPM's linear
            schedule over T = denoising_steps steps (``NoiseScheduler(T)``).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        condition_dim: int,
        sequential: bool = True,
        denoising_steps: int | None = None,
        p_uncond: float = 0.2,
        weights_path: str | Path | None = None,
        device: str | torch.device | None = None,
        network: nn.Module | None = None,
        noise_scheduler: NoiseScheduler | None = None,
    ) -> None:
        self.input_shape = tuple(int(s) for s in input_shape)
        expected_rank = 2 if sequential else 3
        if len(self.input_shape) != expected_rank or min(self.input_shape, default=0) < 1:
            layout = "(horizon, action_dim)" if sequential else "(C, H, W)"
            raise ValueError(f"input_shape must be {layout} of positive sizes, got {tuple(input_shape)}")
        check_positive_int(condition_dim, "condition_dim")
        if not 0.0 <= float(p_uncond) <= 1.0:
            raise ValueError(f"p_uncond is a probability and must lie in [0, 1], got {p_uncond!r}")
        self.condition_dim = condition_dim
        self.sequential = sequential
        self.p_uncond = float(p_uncond)
        self.device = resolve_device(device)
        self.noise_scheduler = self._scheduler(noise_scheduler, denoising_steps)
        if network is None:
            network = build_network(self.input_shape, condition_dim, sequential)
        self.noise_pred_net = network.to(self.device)
        self.ema = ExponentialMovingAverage(self.noise_pred_net)
        if weights_path is not None:
            self.load_weights(weights_path)

    # ------------------------------------------------------------------ input checks (given)
    def _scheduler(
        self, noise_scheduler: NoiseScheduler | None, denoising_steps: int | None
    ) -> NoiseScheduler:
        """The schedule given, checked against denoising_steps and the device; else T linear steps."""
        if denoising_steps is not None:
            denoising_steps = check_positive_int(denoising_steps, "denoising_steps")
        if noise_scheduler is None:
            return NoiseScheduler(100 if denoising_steps is None else denoising_steps, device=self.device)
        steps = getattr(noise_scheduler, "num_steps", None)
        if denoising_steps is not None and denoising_steps != steps:
            raise ValueError(
                f"denoising_steps={denoising_steps!r} but noise_scheduler has num_steps={steps!r}: "
                "give one of them, or the same T to both"
            )
        where = getattr(noise_scheduler, "device", None)
        if where is not None and not same_device(torch.device(where), self.device):
            raise ValueError(
                f"noise_scheduler is on {where} but the model runs on {self.device}: build it with "
                f"NoiseScheduler(..., device={str(self.device)!r})"
            )
        return noise_scheduler

    def _check_batch(self, data: torch.Tensor | None, cond: torch.Tensor) -> torch.Tensor:
        """Validate cond (and data) on the host, before any kernel; return cond on self.device."""
        if self.sequential:
            check_condition_vectors(cond, self.condition_dim)
        else:
            check_class_labels(cond, self.condition_dim)
        if data is not None:
            if tuple(data.shape[1:]) != self.input_shape:
                raise ValueError(
                    f"data must have shape (B, *input_shape) = (B, {', '.join(map(str, self.input_shape))}), "
                    f"got {tuple(data.shape)}"
                )
            check_same_batch(data=data, cond=cond)
        cond = cond.to(self.device)
        return cond.float() if self.sequential else cond

    @contextlib.contextmanager
    def _sampling_mode(self) -> Iterator[None]:
        """Eval mode and EMA weights while sampling; training mode and trained weights after."""
        net = self.noise_pred_net
        was_training = net.training
        net.eval()
        try:
            with self.ema.applied_to(net):
                yield
        finally:
            net.train(was_training)

    # ------------------------------------------------------------------ training (tasks 2.2.1, 2.2.2)
    def drop_condition(self, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Classifier-free guidance training: replace each sample's condition by the null token.

        Args:
            cond: (B,) int64 labels or (B, condition_dim) float vectors; never modified in place.
            generator: draws the per-sample coin flips.

        Returns:
            a new tensor like cond in which each sample independently, with probability p_uncond,
            is all zeros (the null token).
        """
        batch_size = cond.shape[0]
        drop = rand((batch_size,), device=cond.device, generator=generator) < self.p_uncond  # (B,)
        drop = drop.view(batch_size, *([1] * (cond.dim() - 1)))  # (B, 1, ...)
        return torch.where(drop, torch.zeros_like(cond), cond)

    def compute_loss_on_batch(
        self, data: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The training loss of one batch (Algorithm 1 of Ho et al. 2020, with CFG dropout).

        Args:
            data: x_0, (B, *input_shape).
            cond: (B, condition_dim) float when sequential, else (B,) int64 labels.
            generator: draws t, eps and the dropout coin flips.

        Returns:
            a differentiable scalar: mean over the batch of ||eps - eps_theta(x_t, t, c)||^2 / D.
        """
        cond = self._check_batch(data, cond)
        data = data.to(self.device, torch.float32)
        batch_size = data.shape[0]
        t = randint(0, self.noise_scheduler.num_steps, (batch_size,), device=self.device, generator=generator)
        eps = randn(data.shape, device=self.device, generator=generator)
        x_t = self.noise_scheduler.add_noise(data, eps, t)
        cond = self.drop_condition(cond, generator)
        eps_pred = self.noise_pred_net(x_t, t, cond)
        return F.mse_loss(eps_pred, eps)

    # ------------------------------------------------------------------ sampling (task 2.2.3)
    @torch.no_grad()
    def generate_sample(
        self,
        cond: torch.Tensor,
        guidance_weight: float = 0.0,
        threshold: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample x_0 with classifier-free guidance (Algorithm 2 with CFG eq. 6).

        Args:
            cond: (B, condition_dim) float when sequential, else (B,) int64 labels.
            guidance_weight: w >= 0; eps = (1 + w) eps_theta(x_t, t, c) - w eps_theta(x_t, t, null).
            threshold: clamp the x_0 estimate in each step (task 2.3.2).
            generator: draws x_T and the noise of every step.

        Returns:
            x_0, (B, *input_shape).
        """
        cond = self._check_batch(None, cond)
        w = float(guidance_weight)
        if not math.isfinite(w):
            raise ValueError(f"guidance_weight must be a finite number, got {guidance_weight!r}")
        with self._sampling_mode():
            net, scheduler = self.noise_pred_net, self.noise_scheduler
            batch_size = cond.shape[0]
            null = torch.zeros_like(cond)
            x_t = randn((batch_size, *self.input_shape), device=self.device, generator=generator)
            for t in reversed(range(scheduler.num_steps)):
                t_batch = torch.full((batch_size,), t, dtype=torch.int64, device=self.device)  # (B,)
                eps_cond = net(x_t, t_batch, cond)
                eps_null = net(x_t, t_batch, null)
                eps = (1.0 + w) * eps_cond - w * eps_null  # CFG eq. 6
                x_t = scheduler.denoise_step(eps, t, x_t, threshold=threshold, generator=generator)
            return x_t

    # ------------------------------------------------------------------ given: training loop and weights
    def train(
        self,
        data_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
        epochs: int = 1,
        lr: float = 1e-3,
        warmup_steps: int = 100,
        weight_decay: float = 1e-6,
        generator: torch.Generator | None = None,
        progress: bool = True,
    ) -> list[float]:
        """Fit the network with AdamW, a cosine learning-rate schedule with linear warm-up, and EMA.

        Args:
            data_loader: yields (data, cond) batches as :meth:`compute_loss_on_batch` takes them.
            epochs: passes over data_loader.
            lr: peak learning rate.
            warmup_steps: steps of linear warm-up before the cosine decay.
            generator: draws the timesteps, noise and dropout of every batch.
            progress: show a tqdm progress bar per epoch.

        Returns:
            the mean loss of each epoch.
        """
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        try:
            steps_per_epoch = len(data_loader)  # type: ignore[arg-type]
        except TypeError:
            steps_per_epoch = None
        total_steps = None if steps_per_epoch is None else max(1, epochs * steps_per_epoch)
        net = self.noise_pred_net
        optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)

        def lr_factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            if total_steps is None:
                return 1.0
            progress_ = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
            return 0.5 * (1.0 + math.cos(math.pi * progress_))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        net.train()
        epoch_losses = []
        for epoch in range(epochs):
            losses = []
            bar = tqdm(data_loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
            for data, cond in bar:
                loss = self.compute_loss_on_batch(data, cond, generator=generator)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                self.ema.update(net)
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
            epoch_losses.append(sum(losses) / max(1, len(losses)))
        return epoch_losses

    def save_weights(self, path: str | Path) -> None:
        """Write the network's weights, its EMA weights and the model's shape to ``path``."""
        torch.save(
            {
                "input_shape": self.input_shape,
                "condition_dim": self.condition_dim,
                "sequential": self.sequential,
                "network": self.noise_pred_net.state_dict(),
                "ema": self.ema.state_dict(),
            },
            Path(path),
        )

    def load_weights(self, path: str | Path) -> None:
        """Load a checkpoint from :meth:`save_weights`, whichever device it was saved on."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"weights_path {str(path)!r} is not a file")
        checkpoint = torch.load(path, map_location=self.device, weights_only=True)
        for key in ("input_shape", "condition_dim", "sequential"):
            saved, ours = checkpoint[key], getattr(self, key)
            if (tuple(saved) if key == "input_shape" else saved) != ours:
                raise ValueError(f"checkpoint {str(path)!r} has {key}={saved!r} but this model has {ours!r}")
        self.noise_pred_net.load_state_dict(checkpoint["network"])
        self.ema.load_state_dict(checkpoint["ema"], self.device)
