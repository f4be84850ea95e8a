"""Diffusion models with classifier-free guidance: the student package of the homework.

Tasks (zero-indexed timesteps throughout, see the assignment's spec):
    2.1.1a  NoiseScheduler.__init__        betas, alphas, alpha_bars
    2.1.1b  NoiseScheduler.add_noise        q(x_t | x_0), eq. 4
    2.1.2   NoiseScheduler.denoise_step     reverse step, Algorithm 2
    2.2.1   DiffusionModel.compute_loss_on_batch   Algorithm 1
    2.2.2   DiffusionModel.drop_condition   CFG null-token dropout
    2.2.3   DiffusionModel.generate_sample  CFG sampling, eq. 6
    2.3.1   computer_vision.ImageGenerator.__init__   input_shape, condition_dim, the model
    2.3.2   NoiseScheduler.denoise_step(threshold=True)   eq. 15 and eq. 7
    2.4.1   robotics.make_windows, robotics.Normalizer   windows with edge padding, min-max scaling
    2.4.2   robotics.rollout                 receding-horizon planning
"""

from .device import default_device, resolve_device
from .diffusion_model import DiffusionModel
from .noise_scheduler import NoiseScheduler, scaled_linear_betas

__all__ = ["DiffusionModel", "NoiseScheduler", "default_device", "resolve_device", "scaled_linear_betas"]
