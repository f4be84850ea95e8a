"""The DDPM noise schedule: forward noising q(x_t | x_0) and one reverse step p(x_{t-1} | x_t).

Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models" (arXiv 2006.11239).
Timesteps are zero-indexed: t runs over 0 ... T-1 and t = 0 is the last denoising step, so the
paper's beta_1 is ``betas[0]`` here.
"""

from __future__ import annotations

import torch

from .device import resolve_device
from .randomness import randn
from .validation import check_positive_int, check_same_batch, check_timestep, check_timesteps


class NoiseScheduler:
    """Linear variance schedule beta_t and the quantities derived from it.

    Attributes (each float32, shape (num_steps,), on ``device``):
        betas: beta_t = linspace(beta_start, beta_end, T)
        alphas: alpha_t = 1 - beta_t
        alpha_bars: alpha_bar_t = prod_{s <= t} alpha_s
    """

    def __init__(
        self,
        num_steps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        device: str | torch.device | None = None,
    ) -> None:
        check_positive_int(num_steps, "num_steps")
        for name, beta in (("beta_start", beta_start), ("beta_end", beta_end)):
            if not 0.0 < float(beta) < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {beta!r}")
        if beta_start > beta_end:
            raise ValueError(
                f"beta_start={beta_start!r} > beta_end={beta_end!r}: the noise variance must not shrink; "
                "swap them"
            )
        self.num_steps = num_steps
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        self.device = resolve_device(device)

        # TODO task 2.1.1a: betas, alphas and alpha_bars of the linear schedule (Sec. 2)
        raise NotImplementedError("task 2.1.1a: betas, alphas and alpha_bars of the linear schedule (Sec. 2)")

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """Sample x_t ~ q(x_t | x_0) in closed form (eq. 4).

        Args:
            original_samples: x_0, shape (B, *S), any trailing shape S.
            noise: eps ~ N(0, I), shape (B, *S).
            timesteps: t, shape (B,), integers in [0, T-1].

        Returns:
            x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps, shape (B, *S).
        """
        if original_samples.shape != noise.shape:
            raise ValueError(
                f"original_samples has shape {tuple(original_samples.shape)} but noise has "
                f"{tuple(noise.shape)}: they must match"
            )
        check_same_batch(original_samples=original_samples, timesteps=timesteps)
        if timesteps.dim() != 1:
            raise ValueError(f"timesteps must have shape (B,), got {tuple(timesteps.shape)}")
        check_timesteps(timesteps, self.num_steps)

        # TODO task 2.1.1b: forward process q(x_t | x_0), eq. 4
        raise NotImplementedError("task 2.1.1b: forward process q(x_t | x_0), eq. 4")

    def denoise_step(
        self,
        model_prediction: torch.Tensor,
        t: int | torch.Tensor,
        x_t: torch.Tensor,
        threshold: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One reverse step: sample x_{t-1} ~ p(x_{t-1} | x_t).

        Args:
            model_prediction: the predicted noise eps_theta(x_t, t), shape (B, *S).
            t: the current timestep, a Python int (or 0-d integer tensor) in [0, T-1].
            x_t: the current sample, shape (B, *S).
            threshold: if True, clamp the x_0 estimate of eq. 15 to [-1, 1] and use the posterior
                mean of eq. 7 (task 2.3.2); else the mean of Algorithm 2 (task 2.1.2).
            generator: draws z ~ N(0, I); the same generator state gives the same output.

        Returns:
            x_{t-1} = mean + sqrt(beta_t) * z for t > 0, and the mean alone for t = 0; shape (B, *S).
        """
        if model_prediction.shape != x_t.shape:
            raise ValueError(
                f"model_prediction has shape {tuple(model_prediction.shape)} but x_t has "
                f"{tuple(x_t.shape)}: they must match"
            )
        t = check_timestep(t, self.num_steps)

        if threshold:
            # TODO task 2.3.2: thresholded x0_hat (eq. 15) and posterior mean (eq. 7)
            raise NotImplementedError("task 2.3.2: thresholded x0_hat (eq. 15) and posterior mean (eq. 7)")
        else:
            # TODO task 2.1.2: mean of the reverse step, Algorithm 2 line 4
            raise NotImplementedError("task 2.1.2: mean of the reverse step, Algorithm 2 line 4")

        # TODO task 2.1.2: add sigma_t z with sigma_t^2 = beta_t, none at t = 0
        raise NotImplementedError("task 2.1.2: add sigma_t z with sigma_t^2 = beta_t, none at t = 0")


def scaled_linear_betas(num_steps: int) -> tuple[float, float]:
    """(beta_start, beta_end) of DDPM's linear schedule (1e-4 ... 0.02 at T = 1000) stretched to ``num_steps``.

    Ho et al.'s ends were set for T = 1000. With fewer steps they leave signal in x_{T-1}
    (alpha_bar_{T-1} = 0.13 at T = 200, 0.6 at T = 50), while sampling starts from pure noise. Scaling
    both ends by 1000 / T keeps alpha_bar_{T-1} near 4e-5 for any T (Nichol & Dhariwal 2021, Sec. 3.2;
    improved-diffusion's ``get_named_beta_schedule("linear", T)``); at T = 1000 it is the spec's default.
    """
    num_steps = check_positive_int(num_steps, "num_steps")
    scale = 1000.0 / num_steps
    beta_end = min(0.02 * scale, 0.999)
    return min(1e-4 * scale, beta_end), beta_end
