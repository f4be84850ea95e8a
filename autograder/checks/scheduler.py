"""Hidden checks of tasks 2.1.1a (the schedule) and 2.1.1b (add_noise, eq. 4), and their group."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from .. import closed_forms as cf
from ..public import scheduler as public
from ..public import strategies as sts
from ..public.core import Session, check
from ..public.judge import (
    Failure,
    Misconception,
    array,
    assert_close,
    case_text,
    schedule_for_probe,
)
from . import Group


# ================================================================================= 2.1.1a
@check(
    "2.1.1a",
    "betas, alphas, alpha_bars equal the linear schedule's closed form",
    points=4,
    hint=public.INIT_HINT,
    public=False,
)
@given(schedule=sts.schedules(min_steps=2) | sts.visible_schedules())
@example(schedule=sts.DEFAULT_SCHEDULE)
@example(schedule=(1, 0.01, 0.01))
def init_closed_form(session: Session, schedule: tuple[int, float, float]) -> None:
    num_steps, beta_start, beta_end = schedule
    case = {"T": num_steps, "beta_start": beta_start, "beta_end": beta_end}
    got = public.init_arrays(
        session.call("scheduler.init", num_steps=num_steps, beta_start=beta_start, beta_end=beta_end), case
    )
    want = cf.linear_schedule(num_steps, beta_start, beta_end)
    wider = np.linspace(beta_start, beta_end, num_steps + 1)
    assert_close(
        got["betas"],
        want["betas"],
        what="betas",
        case=case,
        misconceptions=[
            Misconception(
                "betas running backwards",
                "betas = linspace(beta_start, beta_end, T) increases",
                want["betas"][::-1],
            ),
            Misconception(
                "one-indexed betas", "linspace with T points, starting at beta_start (t = 0)", wider[1:]
            ),
            Misconception(
                "T + 1 points", "linspace(beta_start, beta_end, T) has exactly T points", wider[:-1]
            ),
            Misconception(
                "a geometric schedule",
                "the DDPM schedule is linear: torch.linspace",
                np.geomspace(beta_start, beta_end, num_steps),
            ),
        ],
    )
    assert_close(
        got["alphas"],
        want["alphas"],
        what="alphas",
        case=case,
        misconceptions=[
            Misconception("alphas = betas", "alpha_t = 1 - beta_t", want["betas"]),
            Misconception(
                "sqrt(1 - beta_t)", "alpha_t = 1 - beta_t, no square root", np.sqrt(want["alphas"])
            ),
        ],
    )
    cumprod_rtol = 1e-5 + 2e-7 * num_steps  # float32 products accumulate about one rounding per step
    assert_close(
        got["alpha_bars"],
        want["alpha_bars"],
        what="alpha_bars",
        case=case,
        rtol=cumprod_rtol,
        misconceptions=[
            Misconception(
                "cumsum instead of cumprod",
                "alpha_bar_t = prod_{s<=t} alpha_s: torch.cumprod",
                np.cumsum(want["alphas"]),
            ),
            Misconception(
                "the product of betas",
                "alpha_bars multiplies the alphas, not the betas",
                np.cumprod(want["betas"]),
            ),
            Misconception(
                "an exclusive product (one-indexed alpha_bars)",
                "alpha_bars[0] = alphas[0]: the product includes alpha_t itself",
                np.concatenate([[1.0], want["alpha_bars"][:-1]]),
            ),
            Misconception("1 - cumprod", "alpha_bars is the product itself", 1.0 - want["alpha_bars"]),
            Misconception(
                "alpha_bars = alphas",
                "alpha_bars is the running product torch.cumprod(alphas, dim=0)",
                want["alphas"],
            ),
        ],
    )


# ================================================================================= 2.1.1b
def _broadcast_along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = values.shape[0]
    return values.reshape(shape)


@check(
    "2.1.1b",
    "add_noise equals eq. 4 on random shapes and timesteps",
    points=5,
    hint=public.ADD_NOISE_HINT,
    public=False,
    examples=8,
)
@given(schedule=sts.visible_schedules(), shape=sts.sample_shapes(max_dims=3), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, shape=(4, 3, 8, 8), seed=1)
@example(schedule=(10, 0.01, 0.3), shape=(3, 3, 3), seed=2)
@example(schedule=(10, 0.01, 0.3), shape=(5, 7), seed=3)
def add_noise_closed_form(
    session: Session, schedule: tuple[int, float, float], shape: tuple[int, ...], seed: int
) -> None:
    num_steps = schedule[0]
    probe_schedule = schedule_for_probe(cf.linear_schedule(*schedule))
    s = {k: v.astype(np.float64) for k, v in probe_schedule.items()}
    inputs = public.add_noise_inputs(seed, shape, num_steps)
    if shape[0] >= 2:  # both ends of the range in every batch
        inputs["timesteps"][:2] = (0, num_steps - 1)
    t = inputs["timesteps"]
    x0, eps = inputs["x0"].astype(np.float64), inputs["noise"].astype(np.float64)
    case = {"T": num_steps, "timesteps": t.tolist(), "x0": inputs["x0"]}
    x_t = session.call("scheduler.add_noise", schedule=probe_schedule, **inputs)["x_t"]
    expected, scale = cf.q_sample(x0, eps, t, s["alpha_bars"])
    ab = s["alpha_bars"]
    ndim = x0.ndim

    def with_bar(bar: np.ndarray) -> np.ndarray:
        return cf.q_sample(x0, eps, np.arange(shape[0]), bar)[0]

    wrong = [
        Misconception(
            "one-indexed timesteps (alpha_bars[t + 1])",
            "alpha_bars[t] with t as given: timesteps are zero-indexed",
            with_bar(ab[np.minimum(t + 1, num_steps - 1)]),
        ),
        Misconception(
            "one-indexed timesteps (alpha_bars[t - 1])",
            "alpha_bars[t] with t as given: timesteps are zero-indexed",
            with_bar(ab[(t - 1) % num_steps]),
        ),
        Misconception(
            "no square roots",
            "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps",
            cf.per_sample(ab[t], ndim) * x0 + (1 - cf.per_sample(ab[t], ndim)) * eps,
        ),
        Misconception(
            "1 - sqrt(alpha_bar_t) as the noise weight",
            "the noise weight is sqrt(1 - alpha_bar_t)",
            np.sqrt(cf.per_sample(ab[t], ndim)) * x0 + (1 - np.sqrt(cf.per_sample(ab[t], ndim))) * eps,
        ),
        Misconception(
            "alpha_t instead of alpha_bar_t",
            "eq. 4 uses the cumulative product alpha_bars[t]",
            with_bar(s["alphas"][t]),
        ),
        Misconception(
            "one timestep for the whole batch",
            "each sample uses its own timesteps[i]",
            with_bar(np.full(shape[0], ab[t[0]])),
        ),
    ]
    for axis in range(1, ndim):
        if shape[axis] == shape[0]:
            bar = _broadcast_along(ab[t], axis, ndim)
            wrong.append(
                Misconception(
                    "alpha_bar not broadcast over the batch",
                    "reshape alpha_bars[t] from (B,) to (B, 1, ..., 1) so it multiplies whole samples",
                    np.sqrt(bar) * x0 + np.sqrt(1 - bar) * eps,
                )
            )
    assert_close(x_t, expected, what="add_noise(x0, noise, t)", case=case, scale=scale, misconceptions=wrong)


@check(
    "2.1.1b",
    "add_noise leaves its inputs x0 and noise unchanged",
    points=1,
    hint=public.ADD_NOISE_HINT,
    public=False,
    vacuous=True,
    examples=3,
)
@given(shape=sts.sample_shapes(max_dims=2), seed=sts.seeds)
def add_noise_inputs_untouched(session: Session, shape: tuple[int, ...], seed: int) -> None:
    probe_schedule = schedule_for_probe(cf.linear_schedule(50, 1e-3, 0.2))
    inputs = public.add_noise_inputs(seed, shape, 50)
    out = session.call("scheduler.add_noise", schedule=probe_schedule, **inputs)
    for name, after in (("x0", out["x0_after"]), ("noise", out["noise_after"])):
        if not np.array_equal(array(after, name), inputs[name].astype(np.float64)):
            raise Failure(
                f"add_noise changed its argument {name} in place ({case_text({'x0': inputs['x0']})}): the caller's "
                "tensors must stay as they were. Use out-of-place operations (x * a, not x.mul_(a) or x *= a)."
            )


GROUP = Group(
    "scheduler", public.CHECKS + (init_closed_form, add_noise_closed_form, add_noise_inputs_untouched)
)
