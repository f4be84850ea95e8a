"""NoiseScheduler (tasks 2.1.1a, 2.1.1b, 2.1.2, 2.3.2): spec properties and the diffusers oracle."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMScheduler
from diffusion_models import NoiseScheduler
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import batch_shapes, num_steps, schedules, seeds

FAST = settings(max_examples=15, deadline=None, derandomize=True)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- task 2.1.1a: the schedule
@FAST
@given(schedules())
def test_schedule_is_zero_indexed_float32_and_cumulative(schedule):
    t, beta_start, beta_end = schedule
    s = NoiseScheduler(t, beta_start, beta_end, device="cpu")
    for name in ("betas", "alphas", "alpha_bars"):
        tensor = getattr(s, name)
        assert tensor.shape == (t,) and tensor.dtype == torch.float32, name
    assert s.betas[0].item() == pytest.approx(beta_start, rel=1e-6)
    assert s.betas[-1].item() == pytest.approx(beta_end, rel=1e-6)
    torch.testing.assert_close(s.alphas, 1 - s.betas)
    torch.testing.assert_close(s.alpha_bars, torch.cumprod(s.alphas, 0))
    assert (s.alpha_bars > 0).all() and (s.alpha_bars < 1).all()
    assert (s.alpha_bars[1:] < s.alpha_bars[:-1]).all()


def test_known_values_of_the_original_homework():
    assert NoiseScheduler(100, device="cpu").alphas[0].item() == pytest.approx(0.9999)
    assert NoiseScheduler(100, device="cpu").alpha_bars[-1].item() == pytest.approx(0.363563, abs=1e-6)
    assert NoiseScheduler(50, device="cpu").alpha_bars[-1].item() == pytest.approx(0.602952, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"num_steps": 0}, "num_steps"),
        ({"beta_start": 0.0}, "beta_start"),
        ({"beta_end": 1.5}, "beta_end"),
        ({"beta_start": 0.1, "beta_end": 0.01}, "beta_start"),
    ],
)
def test_bad_schedule_names_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        NoiseScheduler(device="cpu", **kwargs)


# ---------------------------------------------------------------- task 2.1.1b: add_noise, eq. 4
@FAST
@given(num_steps, batch_shapes, seeds)
def test_add_noise_is_the_closed_form(t_max, shape, seed):
    s = NoiseScheduler(t_max, device="cpu")
    g = _gen(seed)
    x0, eps = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    t = torch.randint(0, t_max, (shape[0],), generator=g)
    abar = s.alpha_bars.double()[t].view(-1, *([1] * (len(shape) - 1)))
    expected = abar.sqrt() * x0.double() + (1 - abar).sqrt() * eps.double()
    torch.testing.assert_close(s.add_noise(x0, eps, t).double(), expected, rtol=1e-5, atol=1e-6)


def test_add_noise_preserves_unit_variance_and_t0_stays_close():
    s = NoiseScheduler(100, device="cpu")
    g = _gen(0)
    x0, eps = torch.randn(20000, 2, generator=g), torch.randn(20000, 2, generator=g)
    for t in (0, 37, 99):
        x_t = s.add_noise(x0, eps, torch.full((20000,), t))
        assert x_t.var().item() == pytest.approx(1.0, abs=0.03)
    x_0 = s.add_noise(x0, eps, torch.zeros(20000, dtype=torch.int64))
    assert (x_0 - x0).abs().max().item() < 0.05


def test_add_noise_rejects_out_of_range_timesteps_and_batch_mismatch():
    s = NoiseScheduler(10, device="cpu")
    x = torch.zeros(3, 2)
    with pytest.raises(IndexError, match="timesteps holds 10.*zero-indexed"):
        s.add_noise(x, x, torch.tensor([0, 5, 10]))
    with pytest.raises(IndexError, match="timesteps holds -1"):
        s.add_noise(x, x, torch.tensor([0, -1, 2]))
    with pytest.raises(ValueError, match="batch sizes disagree: original_samples has 3, timesteps has 2"):
        s.add_noise(x, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="noise has"):
        s.add_noise(x, torch.zeros(3, 3), torch.tensor([0, 1, 2]))


# ---------------------------------------------------------------- tasks 2.1.2 and 2.3.2: denoise_step
def _algorithm2_mean(s, eps, t, x_t):
    beta, alpha, abar = (v.double()[t] for v in (s.betas, s.alphas, s.alpha_bars))
    return (x_t.double() - beta / (1 - abar).sqrt() * eps.double()) / alpha.sqrt()


@FAST
@given(num_steps, batch_shapes, seeds, st.booleans())
def test_step_at_t0_is_deterministic_and_thresholded_step_returns_clamped_x0(t_max, shape, seed, threshold):
    s = NoiseScheduler(t_max, device="cpu")
    g = _gen(seed)
    eps, x_t = torch.randn(shape, generator=g), 2 * torch.randn(shape, generator=g)
    first = s.denoise_step(eps, 0, x_t, threshold=threshold, generator=_gen(1))
    second = s.denoise_step(eps, 0, x_t, threshold=threshold, generator=_gen(2))
    torch.testing.assert_close(first, second)
    if threshold:
        abar = s.alpha_bars.double()[0]
        x0_hat = ((x_t.double() - (1 - abar).sqrt() * eps.double()) / abar.sqrt()).clamp(-1, 1)
        torch.testing.assert_close(first.double(), x0_hat, rtol=1e-5, atol=1e-5)
    else:
        torch.testing.assert_close(first.double(), _algorithm2_mean(s, eps, 0, x_t), rtol=1e-5, atol=1e-5)


def test_step_spread_is_sqrt_beta_and_mean_is_algorithm2():
    s = NoiseScheduler(100, device="cpu")
    t, n = 40, 40000
    eps, x_t = torch.full((n, 1), 0.3), torch.full((n, 1), 0.5)
    out = s.denoise_step(eps, t, x_t, generator=_gen(0)).double()
    mean = _algorithm2_mean(s, eps[:1], t, x_t[:1]).item()
    sigma = s.betas[t].double().sqrt().item()
    assert out.mean().item() == pytest.approx(mean, abs=4 * sigma / n**0.5)
    assert out.std().item() == pytest.approx(sigma, rel=0.02)


def test_generator_is_honoured_and_accepts_tensor_t():
    s = NoiseScheduler(20, device="cpu")
    eps, x_t = torch.randn(4, 3), torch.randn(4, 3)
    a = s.denoise_step(eps, 7, x_t, generator=_gen(5))
    b = s.denoise_step(eps, torch.tensor(7), x_t, generator=_gen(5))
    c = s.denoise_step(eps, 7, x_t, generator=_gen(6))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


@FAST
@given(num_steps, seeds, st.data())
def test_thresholded_mean_equals_plain_mean_where_nothing_is_clamped(t_max, seed, data):
    s = NoiseScheduler(t_max, device="cpu")
    t = data.draw(st.integers(0, t_max - 1))
    g = _gen(seed)
    x0 = torch.rand(3, 4, generator=g) * 1.6 - 0.8  # |x0_hat| <= 0.8: no clamping
    eps = torch.randn(3, 4, generator=g)
    x_t = s.add_noise(x0, eps, torch.full((3,), t))
    plain = s.denoise_step(eps, t, x_t, generator=_gen(seed + 1))
    thresholded = s.denoise_step(eps, t, x_t, threshold=True, generator=_gen(seed + 1))
    torch.testing.assert_close(plain, thresholded, rtol=1e-4, atol=1e-4)


def test_denoise_step_rejects_bad_t():
    s = NoiseScheduler(10, device="cpu")
    x = torch.zeros(2, 2)
    with pytest.raises(IndexError, match="t=10 is outside"):
        s.denoise_step(x, 10, x)
    with pytest.raises(IndexError, match="t=-1"):
        s.denoise_step(x, -1, x)
    with pytest.raises(TypeError, match="t must be a Python int"):
        s.denoise_step(x, 2.0, x)


# ---------------------------------------------------------------- the independent oracle: diffusers
def _oracle(t_max: int, clip: bool) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=t_max,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        variance_type="fixed_large",
        clip_sample=clip,
        clip_sample_range=1.0,
        prediction_type="epsilon",
    )


@pytest.mark.parametrize("t_max", [10, 100, 1000])
def test_add_noise_matches_diffusers(t_max):
    s, oracle = NoiseScheduler(t_max, device="cpu"), _oracle(t_max, clip=False)
    g = _gen(t_max)
    x0, eps = torch.randn(16, 3, 4, 4, generator=g), torch.randn(16, 3, 4, 4, generator=g)
    t = torch.cat([torch.tensor([0, t_max - 1]), torch.randint(0, t_max, (14,), generator=g)])
    torch.testing.assert_close(s.add_noise(x0, eps, t), oracle.add_noise(x0, eps, t), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("threshold", [False, True])
@pytest.mark.parametrize("t_max", [10, 100, 1000])
def test_denoise_step_mean_matches_diffusers(t_max, threshold):
    s, oracle = NoiseScheduler(t_max, device="cpu"), _oracle(t_max, clip=threshold)
    g = _gen(t_max + threshold)
    random_ts = torch.randint(1, t_max - 1, (3,), generator=g).tolist()
    for t in [0, t_max - 1, *random_ts]:
        eps, x_t = torch.randn(4, 3, 8, 8, generator=g), 1.5 * torch.randn(4, 3, 8, 8, generator=g)
        z = torch.randn(x_t.shape, generator=_gen(t))  # the z both draw from a generator in this state
        sigma = 0.0 if t == 0 else s.betas[t].sqrt()
        ours = s.denoise_step(eps, t, x_t, threshold=threshold, generator=_gen(t)) - sigma * z
        theirs = oracle.step(eps, t, x_t, generator=_gen(t)).prev_sample - sigma * z
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5, msg=f"t={t}")
