"""Tasks 2.1.1a (NoiseScheduler.__init__) and 2.1.1b (add_noise, eq. 4): probes and public checks.

Probes run where the student's code runs; checks are judged with numpy in the grader's process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given

from . import strategies as sts
from .core import Session, check
from .judge import (
    Failure,
    Misconception,
    array,
    assert_close,
    case_text,
    check_finite,
    check_shape,
    fmt,
    schedule_for_probe,
    stand_in_schedule,
    variance_ratio_bounds,
)
from .probe import ProbeContext, probe

NAMES = ("betas", "alphas", "alpha_bars")


# ================================================================================= probes
@probe("scheduler.init")
def init_probe(ctx: ProbeContext, num_steps: int, beta_start: float, beta_end: float) -> dict[str, Any]:
    """NoiseScheduler(num_steps, beta_start, beta_end, device): each schedule array, its dtype and device."""
    scheduler = ctx.module("noise_scheduler").NoiseScheduler(
        num_steps, beta_start, beta_end, device=ctx.device
    )
    out: dict[str, Any] = {"device": ctx.device.type}
    for name in NAMES:
        value = getattr(scheduler, name, None)
        if isinstance(value, ctx.torch.Tensor):
            out[name] = {
                "values": value.detach().to("cpu", ctx.torch.float64).numpy().copy(),
                "dtype": str(value.dtype).replace("torch.", ""),
                "device": value.device.type,
            }
        else:
            out[name] = {"type": type(value).__name__ if hasattr(scheduler, name) else "missing"}
    return out


@probe("scheduler.add_noise")
def add_noise_probe(
    ctx: ProbeContext,
    schedule: dict[str, np.ndarray],
    x0: np.ndarray,
    noise: np.ndarray,
    timesteps: np.ndarray,
) -> dict[str, Any]:
    """add_noise(x0, noise, timesteps) on a scheduler holding the judge's schedule arrays."""
    num_steps = int(schedule["betas"].shape[0])
    scheduler = ctx.scheduler(num_steps, float(schedule["betas"][0]), float(schedule["betas"][-1]), schedule)
    x0_t, noise_t = ctx.tensor(x0), ctx.tensor(noise)
    x_t = scheduler.add_noise(x0_t, noise_t, ctx.tensor(timesteps, ctx.torch.int64))
    return {
        "x_t": ctx.array(x_t, "add_noise"),
        "x0_after": ctx.array(x0_t, "x0"),
        "noise_after": ctx.array(noise_t, "noise"),
    }


# ================================================================================= helpers for the judge
def init_arrays(out: dict[str, Any], case: dict[str, Any]) -> dict[str, np.ndarray]:
    """The three schedule arrays as float64, after checking each is a float32 (T,) tensor on the device."""
    arrays = {}
    for name in NAMES:
        info = out[name]
        if "values" not in info:
            got = "no such attribute" if info["type"] == "missing" else f"a {info['type']}"
            raise Failure(
                f"NoiseScheduler.{name} should be a torch.Tensor after __init__; got {got} ({case_text(case)})."
            )
        values = array(info["values"], f"NoiseScheduler.{name}")
        check_shape(values, (case["T"],), f"NoiseScheduler.{name}", case)
        if info["dtype"] != "float32":
            raise Failure(
                f"NoiseScheduler.{name} has dtype {info['dtype']}; the spec stores the schedule as float32 "
                f"({case_text(case)}). Store them as float32 (float64 maths is fine if you cast at the end)."
            )
        if info["device"] != out["device"]:
            raise Failure(
                f"NoiseScheduler.{name} lives on {info['device']} but the scheduler was built with device="
                f"{out['device']!r}: create it with device=self.device ({case_text(case)})."
            )
        check_finite(values, f"NoiseScheduler.{name}", case)
        arrays[name] = values
    return arrays


def add_noise_inputs(seed: int, shape: tuple[int, ...], num_steps: int) -> dict[str, np.ndarray]:
    rng = sts.rng(seed)
    return {
        "x0": rng.standard_normal(shape).astype(np.float32),
        "noise": rng.standard_normal(shape).astype(np.float32),
        "timesteps": rng.integers(0, num_steps, size=shape[0]).astype(np.int64),
    }


# ================================================================================= public checks: 2.1.1a
INIT_HINT = (
    "The schedule is zero-indexed: the paper's beta_1 ... beta_T are betas[0] ... betas[T-1], evenly "
    "spaced from beta_start to beta_end; alpha_t = 1 - beta_t, and alpha_bar_t is the running product of "
    "the alphas up to and including t (eq. 4's definition). All three are float32 vectors of length T on "
    "the scheduler's device."
)


@check(
    "2.1.1a",
    "schedule arrays: shape (T,), float32, on the device",
    points=2,
    hint=INIT_HINT,
    public=True,
    vacuous=True,
)
@given(schedule=sts.schedules())
@example(schedule=sts.DEFAULT_SCHEDULE)
def init_layout(session: Session, schedule: tuple[int, float, float]) -> None:
    num_steps, beta_start, beta_end = schedule
    case = {"T": num_steps, "beta_start": beta_start, "beta_end": beta_end}
    init_arrays(
        session.call("scheduler.init", num_steps=num_steps, beta_start=beta_start, beta_end=beta_end), case
    )


@check(
    "2.1.1a",
    "zero-indexed schedule: betas[0] = beta_start, alphas[0] = 1 - beta_start, betas[-1] = beta_end",
    points=2,
    hint=INIT_HINT,
    public=True,
)
@given(schedule=sts.schedules(min_steps=2))
@example(schedule=sts.DEFAULT_SCHEDULE)
def init_zero_indexed(session: Session, schedule: tuple[int, float, float]) -> None:
    num_steps, beta_start, beta_end = schedule
    case = {"T": num_steps, "beta_start": beta_start, "beta_end": beta_end}
    got = init_arrays(
        session.call("scheduler.init", num_steps=num_steps, beta_start=beta_start, beta_end=beta_end), case
    )
    step = (beta_end - beta_start) / num_steps
    late = Misconception(
        "a schedule that starts one step late",
        "betas[0] must be beta_start itself: timesteps are zero-indexed, so the paper's beta_1 is betas[0]",
        beta_start + step,
    )
    assert_close(got["betas"][:1], np.array([beta_start]), what="betas[0]", case=case, misconceptions=[late])
    assert_close(got["betas"][-1:], np.array([beta_end]), what="betas[-1]", case=case)
    assert_close(
        got["alphas"][:1],
        np.array([1.0 - beta_start]),
        what="alphas[0]",
        case=case,
        misconceptions=[
            Misconception("alphas = betas", "alpha_t = 1 - beta_t", beta_start),
            Misconception(
                "one-indexed alphas", "alphas[0] = 1 - betas[0] = 1 - beta_start", 1.0 - beta_start - step
            ),
        ],
    )


@check(
    "2.1.1a",
    "alpha_bars: alpha_bars[0] = alphas[0], alpha_bars[t] = alpha_bars[t-1] * alphas[t], strictly decreasing in (0, 1)",
    points=2,
    hint=INIT_HINT,
    public=True,
)
@given(schedule=sts.schedules(min_steps=2))
@example(schedule=sts.DEFAULT_SCHEDULE)
def init_alpha_bars_product(session: Session, schedule: tuple[int, float, float]) -> None:
    num_steps, beta_start, beta_end = schedule
    case = {"T": num_steps, "beta_start": beta_start, "beta_end": beta_end}
    got = init_arrays(
        session.call("scheduler.init", num_steps=num_steps, beta_start=beta_start, beta_end=beta_end), case
    )
    alphas, alpha_bars = got["alphas"], got["alpha_bars"]
    misconceptions = [
        Misconception(
            "cumsum instead of cumprod",
            "alpha_bar_t is the running product of the alphas up to t, not their sum",
            np.cumsum(alphas),
        ),
        Misconception(
            "an exclusive product",
            "alpha_bars[0] must already include alphas[0]",
            np.concatenate([[1.0], np.cumprod(alphas)[:-1]]),
        ),
    ]
    assert_close(
        alpha_bars[:1],
        alphas[:1],
        what="alpha_bars[0]",
        case=case,
        misconceptions=[
            Misconception(m.name, m.explanation, np.asarray(m.values)[:1]) for m in misconceptions
        ],
    )
    if not ((alpha_bars > 0).all() and (alpha_bars < 1).all()):
        bad = int(np.argmax((alpha_bars <= 0) | (alpha_bars >= 1)))
        named = (
            " This looks like cumsum instead of cumprod."
            if np.allclose(alpha_bars, np.cumsum(alphas), rtol=1e-4)
            else ""
        )
        raise Failure(
            f"alpha_bars[{bad}] = {fmt(alpha_bars[bad])} is outside (0, 1) ({case_text(case)}); a product of numbers "
            f"in (0, 1) stays in (0, 1).{named}"
        )
    steps = np.diff(alpha_bars)
    if not (steps < 0).all():
        bad = int(np.argmax(steps >= 0)) + 1
        raise Failure(
            f"alpha_bars must decrease strictly, but alpha_bars[{bad}] = {fmt(alpha_bars[bad])} >= alpha_bars[{bad - 1}] "
            f"= {fmt(alpha_bars[bad - 1])} ({case_text(case)})."
        )
    # the product rule, relative to each entry: alpha_bars[t] = alpha_bars[t-1] * alphas[t]
    assert_close(
        alpha_bars[1:] / alpha_bars[:-1],
        alphas[1:],
        what="alpha_bars[t] / alpha_bars[t-1] (should equal alphas[t])",
        case=case,
        rtol=1e-5 + 2e-7 * num_steps,
    )


# ================================================================================= public checks: 2.1.1b
ADD_NOISE_HINT = (
    "Eq. 4: x_t is x_0 weighted by the square root of alpha_bar_t plus the noise weighted by the square "
    "root of one minus alpha_bar_t (the cumulative product, not alpha_t). Each sample of the batch has "
    "its own timestep, so its alpha_bar_t must line up with that sample's dimensions whatever the "
    "trailing shape."
)


@check(
    "2.1.1b",
    "add_noise: shape (B, *S) for any trailing shape; t = 0 keeps x_0, t = T-1 is almost pure noise",
    points=2,
    hint=ADD_NOISE_HINT,
    public=True,
)
@given(shape=sts.sample_shapes(max_dims=3), seed=sts.seeds)
@example(shape=(4, 3, 8, 8), seed=0)
def add_noise_ends(session: Session, shape: tuple[int, ...], seed: int) -> None:
    schedule = schedule_for_probe(stand_in_schedule(*sts.DEFAULT_SCHEDULE))
    inputs = add_noise_inputs(seed, shape, 1000)
    # one batch mixing both ends, then each end alone: every sample must use its own timestep
    mixed = np.where(np.arange(shape[0]) % 2 == 0, 0, 999).astype(np.int64)
    for timesteps in (mixed, np.zeros(shape[0], np.int64), np.full(shape[0], 999, np.int64)):
        inputs["timesteps"] = timesteps
        case = {"T": 1000, "t": timesteps, "x0": inputs["x0"]}
        x_t = array(session.call("scheduler.add_noise", schedule=schedule, **inputs)["x_t"], "add_noise")
        check_shape(x_t, shape, "add_noise(x0, noise, t)", case)
        check_finite(x_t, "add_noise(x0, noise, t)", case)
        for row, t in enumerate(timesteps):
            start, what = ("x0", "x_0") if t == 0 else ("noise", "the noise")
            gap = np.abs(x_t[row] - inputs[start][row]).max()
            if gap > 0.1:
                mixed_note = (
                    " In this batch the samples have different timesteps: each sample must use its own."
                    if len(set(timesteps.tolist())) > 1
                    else ""
                )
                raise Failure(
                    f"sample {row} has t = {int(t)} of the default schedule (T = 1000), so its x_t should be within "
                    f"0.1 of {what}, but differs by {fmt(gap)} ({case_text(case)}). alpha_bars[0] is about 1 and "
                    f"alpha_bars[T-1] about 3e-6.{mixed_note}"
                )


@check(
    "2.1.1b",
    "add_noise: unit-variance x_0 and noise give unit-variance x_t at every t",
    points=2,
    hint=ADD_NOISE_HINT,
    public=True,
    examples=3,
)
@given(schedule=sts.schedules(min_steps=2, max_steps=200), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, seed=0)
def add_noise_variance(session: Session, schedule: tuple[int, float, float], seed: int) -> None:
    num_steps = schedule[0]
    probe_schedule = schedule_for_probe(stand_in_schedule(*schedule))
    batch, size = 8, 2048
    inputs = add_noise_inputs(seed, (batch, size), num_steps)
    inputs["timesteps"] = np.linspace(0, num_steps - 1, batch).round().astype(np.int64)
    x_t = array(session.call("scheduler.add_noise", schedule=probe_schedule, **inputs)["x_t"], "add_noise")
    case = {"T": num_steps, "beta_start": schedule[1], "beta_end": schedule[2], "x0": inputs["x0"]}
    check_shape(x_t, (batch, size), "add_noise(x0, noise, t)", case)
    check_finite(x_t, "add_noise(x0, noise, t)", case)
    low, high = variance_ratio_bounds(size)  # x_t's elements are iid N(0, 1) when eq. 4 holds
    for row, t in enumerate(inputs["timesteps"]):
        if not low <= x_t[row].var() <= high:
            raise Failure(
                f"x_t at t = {int(t)} has variance {fmt(x_t[row].var())} over {size} elements, but x_0 and noise of "
                f"variance about 1 should give about 1 ({case_text(case)}): the weights of x_0 and noise must have "
                "squares that sum to 1 (alpha_bar_t + (1 - alpha_bar_t)). Did you forget a square root?"
            )


CHECKS = (init_layout, init_zero_indexed, init_alpha_bars_product, add_noise_ends, add_noise_variance)
