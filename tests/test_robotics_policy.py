"""The policies (diffusion and MSE baseline), their configuration and their training windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusion_models import DiffusionModel, scaled_linear_betas
from diffusion_models.robotics import (
    PolicyConfig,
    RegressionPolicy,
    build_policy,
    generate_demonstrations,
    policy_dataset,
)

TINY = PolicyConfig(down_dims=(8, 16), denoising_steps=10)


@pytest.fixture(autouse=True)
def one_thread():
    """Small kernels: a second thread gains little and stalls badly when the cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_diffusion_policy_has_the_homeworks_shapes():
    model = build_policy(4, 2, PolicyConfig(), device="cpu")
    assert type(model) is DiffusionModel and model.sequential
    assert model.input_shape == (16, 2) and model.condition_dim == 2 * 4
    assert float(model.noise_scheduler.alpha_bars[-1]) < 1e-3, "x_{T-1} should be nearly pure noise"
    tiny = build_policy(4, 2, TINY, device="cpu")
    sample = tiny.generate_sample(torch.zeros(3, 8), generator=torch.Generator().manual_seed(0))
    assert sample.shape == (3, 16, 2)


def test_scaled_betas_match_ddpm_at_1000_steps():
    assert scaled_linear_betas(1000) == pytest.approx((1e-4, 0.02))
    assert scaled_linear_betas(100) == pytest.approx((1e-3, 0.2))


@pytest.mark.parametrize("regression", [False, True])
def test_policies_sample_with_the_schedule_stretched_to_t(regression):
    model = build_policy(4, 2, TINY, device="cpu", regression=regression)
    beta_start, beta_end = scaled_linear_betas(TINY.denoising_steps)
    betas = model.noise_scheduler.betas
    assert model.noise_scheduler.num_steps == TINY.denoising_steps
    assert float(betas[0]) == pytest.approx(beta_start) and float(betas[-1]) == pytest.approx(beta_end)


def test_horizons_the_network_cannot_take_fail_early():
    with pytest.raises(ValueError, match="multiple of 4"):
        build_policy(4, 2, PolicyConfig(action_horizon=10, num_actions=8), device="cpu")
    with pytest.raises(ValueError, match="num_actions"):
        PolicyConfig(action_horizon=8, num_actions=9)


def test_policy_dataset_is_normalized_windows():
    buffer = generate_demonstrations(4, seed=0)
    dataset, state_normalizer, action_normalizer = policy_dataset(buffer, state_horizon=2, action_horizon=16)
    samples, conds = dataset.tensors
    assert samples.shape == (len(buffer.states), 16, 2) and conds.shape == (len(buffer.states), 8)
    assert samples.dtype == conds.dtype == torch.float32
    assert samples.abs().max() <= 1 + 1e-6 and conds.abs().max() <= 1 + 1e-6
    assert samples.min() == pytest.approx(-1) and conds.max() == pytest.approx(1)
    np.testing.assert_allclose(
        action_normalizer.unnormalize(samples[0, 0].numpy()), buffer.actions[0], atol=1e-6
    )
    np.testing.assert_allclose(
        state_normalizer.unnormalize(conds[0, 4:].numpy()), buffer.states[0], atol=1e-6
    )


@pytest.mark.slow
def test_the_mse_baseline_averages_two_modes():
    """Half the targets are +0.8, half -0.8, under the same condition: MSE's optimum is their mean, 0."""
    torch.manual_seed(0)
    model = build_policy(4, 2, TINY, device="cpu", regression=True)
    assert isinstance(model, RegressionPolicy)
    cond = torch.zeros(64, 8)
    data = torch.full((64, 16, 2), 0.8)
    data[::2] *= -1
    losses = model.train([(data, cond)], epochs=150, lr=1e-2, warmup_steps=10, progress=False)
    assert losses[-1] < losses[0]
    assert losses[-1] == pytest.approx(0.64, abs=0.05)  # the variance of +-0.8 left unexplained
    plan = model.generate_sample(torch.zeros(1, 8))
    assert plan.shape == (1, 16, 2)
    assert plan.abs().max() < 0.2, "the regressor should predict the mean of the two modes"
    torch.testing.assert_close(model.generate_sample(torch.zeros(1, 8)), plan)
