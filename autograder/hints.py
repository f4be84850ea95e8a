"""Code-level hints of every task: never shipped to students, shown only at hint level ``code``.

Each is most of the task's solution, so it is attached only to the feedback of hidden checks, and only
when the instructor sets ``HINTS = "code"`` in :mod:`autograder.policy` (or ``--hints code``). Public
checks carry concept hints alone (``Check.hint``), since students run them and read their source.
"""

from __future__ import annotations

from dataclasses import replace

from .policy import hint_level
from .public.core import Outcome

CODE_HINTS: dict[str, str] = {
    "2.1.1a": (
        "In NoiseScheduler.__init__ set betas = torch.linspace(beta_start, beta_end, num_steps), alphas = 1 - betas "
        "and alpha_bars = torch.cumprod(alphas, dim=0), each float32 of shape (num_steps,) on self.device."
    ),
    "2.1.1b": (
        "add_noise returns sqrt(alpha_bars[t]) * x0 + sqrt(1 - alpha_bars[t]) * noise (eq. 4), with alpha_bars[t] of "
        "shape (B,) reshaped to (B, 1, ..., 1) so each sample uses its own timestep, whatever the trailing shape."
    ),
    "2.1.2": (
        "denoise_step: mean = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t) (Algorithm 2, line 4); "
        "return mean + sqrt(beta_t) * z with z = randn(x_t.shape, generator=generator) for t > 0, and the mean "
        "alone at t = 0."
    ),
    "2.3.2": (
        "threshold=True: x0_hat = (x_t - sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_bar_t) (eq. 15), clamped to "
        "[-1, 1]; mean = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) * x0_hat + sqrt(alpha_t) (1 - "
        "alpha_bar_{t-1}) / (1 - alpha_bar_t) * x_t (eq. 7) with alpha_bar_{-1} = 1; then the same noise as the "
        "plain step."
    ),
    "2.2.1": (
        "compute_loss_on_batch: t = randint(0, T, (B,)), eps = randn(data.shape), x_t = self.noise_scheduler."
        "add_noise(data, eps, t), cond = self.drop_condition(cond, generator), loss = F.mse_loss(self."
        "noise_pred_net(x_t, t, cond), eps) (Algorithm 1), each draw with the generator."
    ),
    "2.2.2": (
        "drop_condition: one coin per sample, drop = rand(B, generator=generator) < p_uncond; return a new tensor "
        "that is zeros_like(cond) where drop (reshaped to (B, 1, ...)) and cond elsewhere, e.g. "
        "torch.where(drop, zeros, cond)."
    ),
    "2.2.3": (
        "generate_sample: x = randn((B, *input_shape), generator=generator); for t = T-1 down to 0: t_batch = "
        "full((B,), t), eps = (1 + w) * net(x, t_batch, cond) - w * net(x, t_batch, zeros_like(cond)) (CFG eq. 6), "
        "x = self.noise_scheduler.denoise_step(eps, t, x, threshold=threshold, generator=generator); return x."
    ),
    "2.3.1": (
        "In ImageGenerator.__init__: height, width, channels = self.data.images.shape[1:]; self.input_shape = "
        "(channels, height, width); self.condition_dim = len(self.class_ids) + 1 (labels 1..K, 0 the null token); "
        "self.policy = DiffusionModel(self.input_shape, self.condition_dim, sequential=False, noise_scheduler="
        "noise_scheduler, p_uncond=p_uncond, weights_path=weights_path, device=device, network=network)."
    ),
    "2.4.1": (
        "make_windows: for each step n of episode [start, end), the condition is states[max(start, n-h+1 ... n)] "
        "flattened (oldest first) and the sample is actions[min(end-1, n ... n+H-1)] (index arrays t + arange(...) "
        "clamped with np.maximum/np.minimum per episode). Normalizer: normalize returns 2 * (x - minimum) / span - 1 "
        "and unnormalize (x + 1) / 2 * span + minimum, elementwise."
    ),
    "2.4.2": (
        "rollout: while not done and fewer than max_steps actions: cond = torch.as_tensor(state_normalizer.normalize("
        "np.stack(history)).reshape(1, -1), dtype=torch.float32); plan = action_normalizer.unnormalize(policy."
        "generate_sample(cond, generator=generator)[0].cpu().numpy()); for action in plan[:num_actions]: step, "
        "append to states/actions/rewards and history, and stop at once when terminated, truncated or at max_steps."
    ),
}


def at_level(outcome: Outcome, level: str | None = None) -> Outcome:
    """``outcome`` with the hint the policy allows: none, the concept hint, or (hidden checks) concept + code."""
    chosen = hint_level(level)
    if not outcome.hint:  # passed, or a failure no hint applies to
        return outcome
    if chosen == "none":
        return replace(outcome, hint="")
    if chosen == "code" and not outcome.check.public and outcome.check.task in CODE_HINTS:
        return replace(outcome, hint=f"{outcome.hint}\n  In code: {CODE_HINTS[outcome.check.task]}")
    return outcome
