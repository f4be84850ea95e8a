"""A diffusion policy and its regression baseline, both on the 1D U-Net, and their training data.

The diffusion policy is a sequential :class:`~diffusion_models.DiffusionModel`: it samples a plan
x_0 (action_horizon, action_dim) conditioned on the flattened, normalized state history
(state_horizon * state_dim,). The baseline is the same network trained by plain mean squared error
to output the plan directly (a deterministic regressor: with two modes in the data, its optimum is
their average).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from ..device import resolve_device
from ..diffusion_model import DiffusionModel
from ..networks import ConditionalUNet1D
from ..noise_scheduler import NoiseScheduler, scaled_linear_betas
from .normalizer import Normalizer
from .replay_buffer import ReplayBuffer
from .windows import check_horizons, make_windows


@dataclass(frozen=True)
class PolicyConfig:
    """Horizons and model size; each default carries its reason."""

    state_horizon: int = 2  # as the homework (Push-T): position and velocity twice
    action_horizon: int = 16  # as the homework; a multiple of 4 for the 1D U-Net
    num_actions: int = 8  # executed per plan: half the plan, as Chi et al.
    denoising_steps: int = 50  # T; the betas are rescaled to it (see scaled_linear_betas)
    down_dims: tuple[int, ...] = (32, 64, 128)  # a quarter of Chi et al.'s widths: 2 CPU cores
    p_uncond: float = 0.0  # the policy samples at guidance 0: dropping the condition only slows learning

    def __post_init__(self) -> None:
        check_horizons(self.state_horizon, self.action_horizon, self.num_actions)


def policy_dataset(
    buffer: ReplayBuffer, state_horizon: int, action_horizon: int
) -> tuple[TensorDataset, Normalizer, Normalizer]:
    """Normalized training windows of a replay buffer.

    Returns:
        (dataset of (sample (H, A), cond (h * S,)) float32 pairs, as DiffusionModel.train takes them,
        state normalizer, action normalizer).
    """
    state_normalizer = Normalizer.fit(buffer.states)
    action_normalizer = Normalizer.fit(buffer.actions)
    conds, samples = make_windows(
        state_normalizer.normalize(buffer.states),
        action_normalizer.normalize(buffer.actions),
        buffer.episode_ends,
        state_horizon,
        action_horizon,
    )
    samples_t = torch.as_tensor(samples, dtype=torch.float32)  # (N, H, A)
    conds_t = torch.as_tensor(conds, dtype=torch.float32)  # (N, h * S)
    dataset = TensorDataset(samples_t, conds_t)
    return dataset, state_normalizer, action_normalizer


def build_policy(
    state_dim: int,
    action_dim: int,
    config: PolicyConfig | None = None,
    device: str | torch.device | None = None,
    regression: bool = False,
) -> DiffusionModel:
    """A sequential DiffusionModel (or, with ``regression=True``, the MSE baseline) for the task.

    input_shape = (action_horizon, action_dim); condition_dim = state_horizon * state_dim.
    """
    config = config or PolicyConfig()
    condition_dim = config.state_horizon * state_dim
    network = ConditionalUNet1D(action_dim, condition_dim, down_dims=config.down_dims)
    network.check_input_shape((config.action_horizon, action_dim))
    steps = config.denoising_steps
    scheduler = NoiseScheduler(steps, *scaled_linear_betas(steps), device=resolve_device(device))
    cls = RegressionPolicy if regression else DiffusionModel
    model = cls(
        (config.action_horizon, action_dim),
        condition_dim,
        sequential=True,
        p_uncond=config.p_uncond,
        device=device,
        network=network,
        noise_scheduler=scheduler,
    )
    return model


class RegressionPolicy(DiffusionModel):
    """The baseline: eps_theta's network used as a plain regressor cond -> plan, trained by MSE.

    It is called as ``net(0, 0, cond)``: the input sequence and timestep are constant, so it is a
    function of the condition alone. Training (:meth:`DiffusionModel.train`: AdamW, cosine schedule,
    EMA) and sampling mode (EMA weights, eval) are inherited, so both policies are trained the same way.
    """

    def _predict(self, cond: torch.Tensor) -> torch.Tensor:
        batch_size = cond.shape[0]
        x = torch.zeros((batch_size, *self.input_shape), device=self.device)  # (B, H, A)
        t = torch.zeros(batch_size, dtype=torch.int64, device=self.device)  # (B,)
        return self.noise_pred_net(x, t, cond)  # (B, H, A)

    def compute_loss_on_batch(
        self, data: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """mean ||plan - net(0, 0, cond)||^2 / D over the batch; data (B, H, A), cond (B, h * S)."""
        cond = self._check_batch(data, cond)
        return F.mse_loss(self._predict(cond), data.to(self.device, torch.float32))

    @torch.no_grad()
    def generate_sample(
        self,
        cond: torch.Tensor,
        guidance_weight: float = 0.0,
        threshold: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The regressed plan (B, H, A) for cond (B, h * S); deterministic, the other arguments unused."""
        cond = self._check_batch(None, cond)
        with self._sampling_mode():
            return self._predict(cond)
