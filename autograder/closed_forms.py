"""The judge's own maths, in float64 from the papers' closed forms (never by calling reference/).

Ho, Jain, Abbeel 2020 (DDPM): eq. 4 (q(x_t | x_0)), Algorithm 2 (the reverse step), eq. 7 (the
posterior mean), eq. 15 (x_0 from the noise estimate). Timesteps are zero-indexed: ``t`` indexes
the arrays directly and alpha_bar_{-1} = 1. Each function returns the values and the scale of the
terms that made them (for the tolerance rule of :mod:`autograder.public.judge`).

The scale also carries the conditioning of the float32 schedule: betas, alphas and alpha_bars are
known to about one float32 ulp of 1, so 1 - alpha_bar_t (about 1e-4 at t = 0 of the default
schedule) is known only to a relative 1e-3, and two correct programs (one using betas[t], one
1 - alphas[t]) differ by that much. A term divided by such a small difference gets a scale that
allows it.

Hidden: this module never ships to students.
"""

from __future__ import annotations

import numpy as np

from .public.judge import cond

Schedule = dict[str, np.ndarray]


def linear_schedule(num_steps: int, beta_start: float, beta_end: float) -> Schedule:
    """The spec's schedule in float64 (task 2.1.1a): betas = linspace, alphas = 1 - betas, alpha_bars = cumprod."""
    betas = np.linspace(beta_start, beta_end, num_steps, dtype=np.float64)
    alphas = 1.0 - betas
    return {"betas": betas, "alphas": alphas, "alpha_bars": np.cumprod(alphas)}


def per_sample(values: np.ndarray, ndim: int) -> np.ndarray:
    """(B,) -> (B, 1, ..., 1) with ndim dimensions in all."""
    return values.reshape(values.shape[0], *([1] * (ndim - 1)))


def q_sample(
    x0: np.ndarray, eps: np.ndarray, t: np.ndarray, alpha_bars: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """eq. 4: sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, each sample with its own t."""
    ab = per_sample(alpha_bars[t], x0.ndim)
    signal, noise = np.sqrt(ab) * x0, np.sqrt(1.0 - ab) * eps
    noise_cond = per_sample(np.array([cond(1.0 - a) for a in alpha_bars[t]]), x0.ndim)
    return signal + noise, np.abs(signal) + np.abs(noise) * (1.0 + noise_cond)


def ddpm_mean(x_t: np.ndarray, eps: np.ndarray, t: int, s: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2, line 4: (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)."""
    beta, ab = s["betas"][t], s["alpha_bars"][t]
    coef = beta / np.sqrt(1.0 - ab)
    root = np.sqrt(s["alphas"][t])
    noise_scale = np.abs(coef * eps) * (1.0 + cond(beta) + cond(1.0 - ab))
    return (x_t - coef * eps) / root, (np.abs(x_t) + noise_scale) / root


def x0_estimate(x_t: np.ndarray, eps: np.ndarray, t: int, s: Schedule) -> np.ndarray:
    """eq. 15: x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
    ab = s["alpha_bars"][t]
    return (x_t - np.sqrt(1.0 - ab) * eps) / np.sqrt(ab)


def alpha_bar_prev(t: int, s: Schedule) -> float:
    """alpha_bar_{t-1}, with alpha_bar_{-1} = 1 (zero-indexed timesteps)."""
    return float(s["alpha_bars"][t - 1]) if t > 0 else 1.0


def posterior_coefficients(t: int, s: Schedule) -> tuple[float, float]:
    """eq. 7: mu_tilde = c_x0 * x0 + c_xt * x_t."""
    beta, alpha, ab = s["betas"][t], s["alphas"][t], s["alpha_bars"][t]
    prev = alpha_bar_prev(t, s)
    return np.sqrt(prev) * beta / (1.0 - ab), np.sqrt(alpha) * (1.0 - prev) / (1.0 - ab)


def posterior_mean(x0: np.ndarray, x_t: np.ndarray, t: int, s: Schedule) -> tuple[np.ndarray, np.ndarray]:
    c_x0, c_xt = posterior_coefficients(t, s)
    small = 1.0 - s["alpha_bars"][t]
    x0_cond = 1.0 + cond(s["betas"][t]) + cond(small)
    xt_cond = 1.0 + cond(1.0 - alpha_bar_prev(t, s)) + cond(small) if t > 0 else 1.0
    return c_x0 * x0 + c_xt * x_t, np.abs(c_x0 * x0) * x0_cond + np.abs(c_xt * x_t) * xt_cond


def thresholded_mean(x_t: np.ndarray, eps: np.ndarray, t: int, s: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """eq. 15 clamped to [-1, 1], then eq. 7. The scale counts the unclamped estimate's terms too."""
    ab = s["alpha_bars"][t]
    x0 = np.clip(x0_estimate(x_t, eps, t, s), -1.0, 1.0)
    mean, scale = posterior_mean(x0, x_t, t, s)
    c_x0, _ = posterior_coefficients(t, s)
    estimate_scale = (np.abs(x_t) + np.sqrt(1.0 - ab) * np.abs(eps) * (1.0 + cond(1.0 - ab))) / np.sqrt(ab)
    return mean, scale + np.abs(c_x0) * estimate_scale


def beta_tilde(t: int, s: Schedule) -> float:
    """The posterior variance (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t (the other sigma_t^2 of DDPM)."""
    return float((1.0 - alpha_bar_prev(t, s)) / (1.0 - s["alpha_bars"][t]) * s["betas"][t])
