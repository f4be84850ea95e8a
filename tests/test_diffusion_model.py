"""DiffusionModel (tasks 2.2.1, 2.2.2, 2.2.3 and the given training loop, weights and input checks)."""

from __future__ import annotations

import pytest
import torch
from diffusion_models import DiffusionModel, NoiseScheduler
from diffusion_models.networks import ConditionalUNet1D
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.recording import RecordingNetwork

FAST = settings(max_examples=8, deadline=None, derandomize=True)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def image_model(p_uncond=0.2, steps=5, classes=3, shape=(1, 4, 4)) -> DiffusionModel:
    return DiffusionModel(
        shape,
        classes + 1,
        sequential=False,
        denoising_steps=steps,
        p_uncond=p_uncond,
        device="cpu",
        network=RecordingNetwork(),
    )


def sequence_model(p_uncond=0.2, steps=5, cond_dim=3) -> DiffusionModel:
    return DiffusionModel(
        (4, 2),
        cond_dim,
        sequential=True,
        denoising_steps=steps,
        p_uncond=p_uncond,
        device="cpu",
        network=RecordingNetwork(),
    )


# ---------------------------------------------------------------- task 2.2.1: the loss
def test_loss_timesteps_cover_0_and_last_never_T():
    model = image_model(p_uncond=0.0, steps=5)
    model.compute_loss_on_batch(torch.zeros(500, 1, 4, 4), torch.ones(500, dtype=torch.int64), _gen(0))
    t = model.noise_pred_net.calls[0]["t"]
    assert t.dtype == torch.int64 and t.shape == (500,)
    assert set(t.tolist()) == {0, 1, 2, 3, 4}


@FAST
@given(st.integers(0, 2**31 - 1))
def test_loss_is_the_mse_between_prediction_and_the_noise_that_made_x_t(seed):
    model = image_model(p_uncond=0.0, steps=10)
    x0 = torch.rand(6, 1, 4, 4, generator=_gen(seed)) * 2 - 1
    cond = torch.randint(1, 4, (6,), generator=_gen(seed))
    loss = model.compute_loss_on_batch(x0, cond, _gen(seed + 1))
    call = model.noise_pred_net.calls[0]
    abar = NoiseScheduler(10, device="cpu").alpha_bars.double()[call["t"]].view(-1, 1, 1, 1)
    eps = (call["x_t"].double() - abar.sqrt() * x0.double()) / (1 - abar).sqrt()
    prediction = RecordingNetwork.formula(call["x_t"].double(), call["t"], call["cond"])
    assert loss.dim() == 0 and loss.requires_grad
    assert loss.item() == pytest.approx(((prediction - eps) ** 2).mean().item(), rel=1e-4)
    torch.testing.assert_close(call["cond"], cond)


def test_loss_is_reproducible_under_a_generator():
    model = sequence_model()
    data, cond = torch.randn(8, 4, 2), torch.randn(8, 3)
    a = model.compute_loss_on_batch(data, cond, _gen(3))
    b = model.compute_loss_on_batch(data, cond, _gen(3))
    assert a.item() == b.item()


# ---------------------------------------------------------------- task 2.2.2: null-token dropout
@pytest.mark.parametrize("make", [image_model, sequence_model])
def test_dropout_extremes_and_mixing_and_caller_cond_untouched(make):
    n = 4000
    for p, low, high in (
        (0.0, 0, 0),
        (1.0, n, n),
        (0.3, 0.3 * n - 4 * (n * 0.21) ** 0.5, 0.3 * n + 4 * (n * 0.21) ** 0.5),
    ):
        model = make(p_uncond=p)
        if model.sequential:
            data, cond = torch.randn(n, 4, 2), torch.rand(n, 3) + 0.5
        else:
            data, cond = torch.randn(n, 1, 4, 4), torch.randint(1, 4, (n,))
        before = cond.clone()
        model.compute_loss_on_batch(data, cond, _gen(7))
        seen = model.noise_pred_net.calls[0]["cond"].reshape(n, -1)
        dropped = (seen == 0).all(dim=1)
        kept = (seen == before.reshape(n, -1)).all(dim=1)
        assert bool((dropped | kept).all()), "each sample is either kept whole or all zeros"
        assert low <= int(dropped.sum()) <= high, f"p_uncond={p}: {int(dropped.sum())} of {n} dropped"
        torch.testing.assert_close(cond, before)


def test_drop_condition_returns_a_new_tensor():
    model = image_model(p_uncond=1.0)
    cond = torch.tensor([1, 2, 3])
    assert model.drop_condition(cond, _gen(0)).tolist() == [0, 0, 0]
    assert cond.tolist() == [1, 2, 3]


# ---------------------------------------------------------------- task 2.2.3: guided sampling
def _expected_sample(model, cond, w, threshold, seed):
    """The CFG loop recomputed from the spec, independently of generate_sample."""
    scheduler, g = model.noise_scheduler, _gen(seed)
    x = torch.randn((cond.shape[0], *model.input_shape), generator=g)
    for t in reversed(range(scheduler.num_steps)):
        tt = torch.full((cond.shape[0],), t)
        eps_c = RecordingNetwork.formula(x, tt, cond)
        eps_0 = RecordingNetwork.formula(x, tt, torch.zeros_like(cond))
        x = scheduler.denoise_step((1 + w) * eps_c - w * eps_0, t, x, threshold=threshold, generator=g)
    return x


@pytest.mark.parametrize("threshold", [False, True])
@pytest.mark.parametrize("w", [0.0, 0.5, 3.0])
def test_generate_sample_follows_cfg_eq6_from_T_minus_1_to_0(w, threshold):
    model = image_model(steps=6)
    cond = torch.tensor([1, 3, 2])
    out = model.generate_sample(cond, guidance_weight=w, threshold=threshold, generator=_gen(11))
    assert out.shape == (3, 1, 4, 4)
    torch.testing.assert_close(out, _expected_sample(model, cond, w, threshold, 11), rtol=1e-5, atol=1e-5)
    calls = model.noise_pred_net.calls
    steps_seen = [int(c["t"][0]) for c in calls]
    assert sorted(set(steps_seen), reverse=True) == [5, 4, 3, 2, 1, 0]
    assert steps_seen[0] == 5 and steps_seen[-1] == 0
    assert all(not c["training"] and not c["grad_enabled"] for c in calls)
    assert model.noise_pred_net.training, "training mode restored after sampling"


def test_generate_sample_is_deterministic_under_a_generator_and_shapes_sequences():
    model = sequence_model()
    cond = torch.randn(5, 3)
    a = model.generate_sample(cond, 1.0, generator=_gen(2))
    b = model.generate_sample(cond, 1.0, generator=_gen(2))
    assert a.shape == (5, 4, 2)
    torch.testing.assert_close(a, b)


def test_sampling_uses_ema_weights_and_restores_trained_ones():
    model = image_model()
    model.ema.shadow["scale"] = torch.tensor(0.25)
    model.generate_sample(torch.tensor([1]), generator=_gen(0))
    assert {c["scale"] for c in model.noise_pred_net.calls} == {0.25}
    assert model.noise_pred_net.scale.item() == 0.5


# ---------------------------------------------------------------- clear errors before any kernel
def test_label_outside_condition_dim_is_a_value_error_with_the_null_token_hint():
    model = image_model(classes=3)
    with pytest.raises(ValueError, match=r"label 4.*condition_dim must be number of classes \+ 1"):
        model.generate_sample(torch.tensor([1, 4]))
    with pytest.raises(ValueError, match="label -1"):
        model.compute_loss_on_batch(torch.zeros(2, 1, 4, 4), torch.tensor([-1, 2]))
    with pytest.raises(ValueError, match="integer class labels"):
        model.generate_sample(torch.tensor([1.0]))
    assert model.noise_pred_net.calls == []


def test_batch_and_shape_mismatches_name_the_argument():
    model = image_model()
    with pytest.raises(ValueError, match="batch sizes disagree: data has 3, cond has 2"):
        model.compute_loss_on_batch(torch.zeros(3, 1, 4, 4), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"data must have shape \(B, \*input_shape\) = \(B, 1, 4, 4\)"):
        model.compute_loss_on_batch(torch.zeros(3, 1, 5, 5), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"cond must have shape \(B, condition_dim\) = \(B, 3\)"):
        sequence_model().generate_sample(torch.zeros(2, 4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (10, 2), "condition_dim": 4}, "horizon 10 must be a positive multiple of 4"),
        ({"input_shape": (1, 6, 6), "condition_dim": 4, "sequential": False}, "divisible by 4"),
        ({"input_shape": (8, 2), "condition_dim": 4, "p_uncond": 1.5}, "p_uncond"),
        ({"input_shape": (1, 8, 8), "condition_dim": 1, "sequential": False}, "condition_dim"),
        ({"input_shape": (8,), "condition_dim": 4}, "input_shape"),
    ],
)
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiffusionModel(device="cpu", **kwargs)


def test_noise_scheduler_given_is_the_one_used():
    scheduler = NoiseScheduler(7, 1e-3, 0.05, device="cpu")
    model = DiffusionModel((8, 2), 4, device="cpu", noise_scheduler=scheduler)
    assert model.noise_scheduler is scheduler
    same_steps = DiffusionModel((8, 2), 4, denoising_steps=7, device="cpu", noise_scheduler=scheduler)
    assert same_steps.noise_scheduler is scheduler


def test_without_a_scheduler_the_schedule_is_t_linear_steps():
    assert DiffusionModel((8, 2), 4, device="cpu").noise_scheduler.num_steps == 100
    scheduler = DiffusionModel((8, 2), 4, denoising_steps=12, device="cpu").noise_scheduler
    reference = NoiseScheduler(12, device="cpu")
    assert scheduler.num_steps == 12 and torch.equal(scheduler.betas, reference.betas)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"denoising_steps": 5}, "denoising_steps=5 but noise_scheduler has num_steps=7"),
        ({"device": "meta"}, "noise_scheduler is on cpu but the model runs on meta"),
    ],
)
def test_a_scheduler_that_disagrees_with_the_model_is_refused(kwargs, message):
    scheduler = NoiseScheduler(7, device="cpu")
    with pytest.raises(ValueError, match=message):
        DiffusionModel((8, 2), 4, **{"device": "cpu", **kwargs}, noise_scheduler=scheduler)


@pytest.mark.parametrize("steps", [0, -3, True, 2.0, "10"])
def test_denoising_steps_must_be_a_positive_int(steps):
    with pytest.raises(ValueError, match="denoising_steps must be an int >= 1"):
        DiffusionModel((8, 2), 4, denoising_steps=steps, device="cpu")


def test_device_cuda_without_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(ValueError, match="no CUDA GPU is visible"):
        DiffusionModel((8, 2), 4, device="cuda")


# ---------------------------------------------------------------- given code: training, EMA, weights
def test_training_lowers_the_loss_and_updates_ema(tmp_path):
    torch.manual_seed(0)
    small = ConditionalUNet1D(action_dim=2, condition_dim=2, down_dims=(16, 32))
    model = DiffusionModel((8, 2), 2, sequential=True, denoising_steps=20, device="cpu", network=small)
    g = _gen(0)
    data = torch.linspace(-1, 1, 8).view(1, 8, 1).repeat(64, 1, 2)
    loader = [(data, torch.zeros(64, 2))] * 8
    losses = model.train(loader, epochs=3, lr=2e-3, warmup_steps=5, generator=g, progress=False)
    assert losses[-1] < losses[0]
    assert model.ema.num_updates == 24

    path = tmp_path / "weights.pt"
    model.save_weights(path)
    fresh = ConditionalUNet1D(action_dim=2, condition_dim=2, down_dims=(16, 32))
    again = DiffusionModel(
        (8, 2), 2, sequential=True, denoising_steps=20, device="cpu", network=fresh, weights_path=path
    )
    cond = torch.zeros(3, 2)
    torch.testing.assert_close(
        model.generate_sample(cond, generator=_gen(1)), again.generate_sample(cond, generator=_gen(1))
    )
    with pytest.raises(ValueError, match="condition_dim=2 but this model has 3"):
        DiffusionModel(
            (8, 2), 3, sequential=True, denoising_steps=20, device="cpu", network=small, weights_path=path
        )
