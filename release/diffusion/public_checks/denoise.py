"""Tasks 2.1.2 (denoise_step, Algorithm 2) and 2.3.2 (its thresholded branch, eq. 15 and eq. 7).

Two calls with the same generator state draw the same z, so the difference of their outputs is the
difference of their means, free of noise; two calls with different states on the same inputs differ
by sqrt(beta_t) (z_a - z_b) alone, free of the mean. The checks use both, so the noise and the mean
are judged apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from . import strategies as sts
from .core import Session, check
from .judge import (
    RTOL,
    Failure,
    array,
    as_used,
    assert_close,
    case_text,
    check_finite,
    check_shape,
    close,
    cond,
    fmt,
    mean_bound,
    schedule_for_probe,
    stand_in_schedule,
    variance_ratio_bounds,
)
from .probe import ProbeContext, probe


# ================================================================================= probe
@probe("denoise.steps")
def steps_probe(
    ctx: ProbeContext,
    schedule: dict[str, np.ndarray],
    t: int,
    x_t: np.ndarray,
    eps: np.ndarray,
    seeds: list[int],
    thresholds: list[bool],
) -> dict[str, Any]:
    """K calls of denoise_step(eps[k], t, x_t[k], threshold=thresholds[k], generator seeded seeds[k] or None)."""
    num_steps = int(schedule["betas"].shape[0])
    scheduler = ctx.scheduler(num_steps, float(schedule["betas"][0]), float(schedule["betas"][-1]), schedule)
    outputs = []
    for k, seed in enumerate(seeds):
        generator = ctx.generator(seed) if seed >= 0 else None
        x_prev = scheduler.denoise_step(
            ctx.tensor(eps[k]), int(t), ctx.tensor(x_t[k]), threshold=bool(thresholds[k]), generator=generator
        )
        outputs.append(ctx.array(x_prev, "denoise_step"))
    return {"x_prev": np.stack(outputs)}


# ================================================================================= helpers for the judge
def run_steps(
    session: Session,
    schedule32: dict[str, np.ndarray],
    t: int,
    x_t: list[np.ndarray],
    eps: list[np.ndarray],
    seeds: list[int],
    thresholds: list[bool],
    case: dict[str, Any],
) -> np.ndarray:
    """The K outputs as float64, after checking each has x_t's shape and is finite."""
    out = session.call(
        "denoise.steps",
        schedule=schedule32,
        t=int(t),
        x_t=np.stack(x_t).astype(np.float32),
        eps=np.stack(eps).astype(np.float32),
        seeds=[int(s) for s in seeds],
        thresholds=[bool(b) for b in thresholds],
    )
    x_prev = array(out["x_prev"], "denoise_step")
    if x_prev.shape[1:] != x_t[0].shape:
        check_shape(x_prev[0], x_t[0].shape, "denoise_step(eps, t, x_t) (should have x_t's shape)", case)
    check_finite(x_prev, "denoise_step(eps, t, x_t)", case)
    return x_prev


def normal_pair(seed: int, shape: tuple[int, ...], spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = sts.rng(seed)
    return (spread * rng.standard_normal(shape)).astype(np.float32), rng.standard_normal(shape).astype(
        np.float32
    )


def noisy_from(
    seed: int, shape: tuple[int, ...], t: int, s: dict[str, np.ndarray], low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_0 uniform in +-[low, high] (clear of the clamp edges), eps ~ N(0, I), x_t by eq. 4: (x0, x_t, eps)."""
    rng = sts.rng(seed)
    x0 = rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)
    eps = rng.standard_normal(shape).astype(np.float32).astype(np.float64)
    ab = s["alpha_bars"][t]
    x_t = (np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps).astype(np.float32)
    return x0, x_t, eps.astype(np.float32)


def step_case(schedule: tuple[int, float, float], t: int, x_t: np.ndarray, threshold: bool) -> dict[str, Any]:
    return {
        "T": schedule[0],
        "beta_start": schedule[1],
        "beta_end": schedule[2],
        "t": t,
        "threshold": threshold,
        "x_t": x_t,
    }


@st.composite
def schedule_and_t(
    draw: st.DrawFn, low: int = 1, high: int | None = None
) -> tuple[tuple[int, float, float], int]:
    """A schedule and a timestep in [low, min(high, T - 1)]."""
    schedule = draw(sts.visible_schedules(min_steps=max(2, low + 1)))
    top = schedule[0] - 1 if high is None else min(high, schedule[0] - 1)
    return schedule, draw(st.integers(low, top))


# ================================================================================= public checks: 2.1.2
STEP_HINT = (
    "Algorithm 2, line 4: the mean subtracts the noise estimate scaled by beta_t over the square root of "
    "(1 - alpha_bar_t), then divides by the square root of alpha_t (the one-step alpha, not the "
    "cumulative one); sigma_t is the square root of beta_t, with fresh standard normal noise for every "
    "element drawn from the given generator, and no noise at all at t = 0."
)


@check(
    "2.1.2",
    "denoise_step at t = 0 adds no noise (the same output for any generator) and keeps x_t's shape",
    points=2,
    hint=STEP_HINT,
    public=True,
    vacuous=True,
)
@given(schedule=sts.visible_schedules(min_steps=1), shape=sts.sample_shapes(), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, shape=(4, 3, 8, 8), seed=0)
def step_t0_no_noise(
    session: Session, schedule: tuple[int, float, float], shape: tuple[int, ...], seed: int
) -> None:
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    x_t, eps = normal_pair(seed, shape)
    case = step_case(schedule, 0, x_t, False)
    out = run_steps(session, schedule32, 0, [x_t] * 3, [eps] * 3, [seed, seed + 1, -1], [False] * 3, case)
    for k in (1, 2):
        if not close(out[k], out[0], np.abs(out[0]) + 1.0).all():
            gap = np.abs(out[k] - out[0]).max()
            raise Failure(
                f"at t = 0 denoise_step gave different outputs for different generators (largest difference "
                f"{fmt(gap)}; {case_text(case)}). This matches a known mistake, noise added at t = 0: "
                "the last step returns the mean alone (z = 0 when t = 0)."
            )


@check(
    "2.1.2",
    "denoise_step honours the generator: the same state gives the same x_{t-1}, another state another",
    points=1,
    hint=STEP_HINT,
    public=True,
    examples=4,
)
@given(pair=schedule_and_t(), shape=sts.sample_shapes(), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 500), shape=(4, 16, 2), seed=0)
def step_generator(
    session: Session, pair: tuple[tuple[int, float, float], int], shape: tuple[int, ...], seed: int
) -> None:
    schedule, t = pair
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    x_t, eps = normal_pair(seed, shape)
    case = step_case(schedule, t, x_t, False)
    out = run_steps(session, schedule32, t, [x_t] * 3, [eps] * 3, [seed, seed, seed + 1], [False] * 3, case)
    sigma = float(np.sqrt(schedule32["betas"][t]))
    if not close(out[1], out[0], np.abs(out[0]) + sigma).all():
        raise Failure(
            f"two calls with generators in the same state gave different x_{{t-1}} ({case_text(case)}): draw z with "
            "the generator you are given (the kit's randomness helpers take it); a draw that ignores the generator "
            "cannot be reproduced."
        )
    if np.abs(out[2] - out[0]).max() <= 1e-3 * sigma:
        raise Failure(
            f"generators in different states gave the same x_{{t-1}} at t = {t} > 0 ({case_text(case)}): "
            "for t > 0 the step must add sigma_t * z with fresh noise z ~ N(0, I)."
        )


@check(
    "2.1.2",
    "denoise_step's noise has spread sqrt(beta_t) in every element (one fresh z per element)",
    points=2,
    hint=STEP_HINT,
    public=True,
    examples=3,
)
@given(pair=schedule_and_t(high=3), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 1), seed=0)
def step_spread(session: Session, pair: tuple[tuple[int, float, float], int], seed: int) -> None:
    schedule, t = pair
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    s = as_used(schedule32)
    shape = (64, 512)
    x_t, eps = normal_pair(seed, shape)
    case = step_case(schedule, t, x_t, False)
    out = run_steps(session, schedule32, t, [x_t] * 2, [eps] * 2, [seed, seed + 1], [False] * 2, case)
    beta = s["betas"][t]
    r = (out[0] - out[1]) / np.sqrt(
        2.0 * beta
    )  # = (z_a - z_b) / sqrt(2): iid N(0, 1) when sigma_t = sqrt(beta_t)
    if np.abs(r).max() * np.sqrt(beta) <= 1e-6:
        raise Failure(
            f"two generator states gave the same x_{{t-1}} at t = {t} > 0 ({case_text(case)}): for t > 0 the step adds "
            "sqrt(beta_t) * z with fresh noise z ~ N(0, I)."
        )
    n = r.size
    low, high = variance_ratio_bounds(n)
    var, second_moment = r.var(), np.mean(r**2)
    if var < 0.01 * second_moment or r.var(axis=1).mean() < 0.01 * second_moment:
        raise Failure(
            f"the noise is the same across the elements of a sample ({case_text(case)}). This matches a known "
            "mistake, one z per sample or per batch: z must have x_t's full shape, one independent draw per element."
        )
    if low <= var <= high and abs(r.mean()) <= mean_bound(n):
        return
    prev = s["alpha_bars"][t - 1] if t > 0 else 1.0
    tilde_ratio = (1.0 - prev) / (1.0 - s["alpha_bars"][t])
    candidates = [
        (
            "beta_t instead of sqrt(beta_t)",
            beta,
            "sigma_t is the square root of beta_t, not beta_t itself",
        ),
        (
            "the beta-tilde variance",
            tilde_ratio,
            "this assignment uses sigma_t^2 = beta_t (Algorithm 2) in both branches, not the posterior "
            "variance beta-tilde_t that goes with eq. 7",
        ),
        (
            "uniform noise",
            1.0 / 12.0,
            "z ~ N(0, I) is standard normal noise, not uniform noise on [0, 1)",
        ),
        ("variance 2 beta_t", 2.0, "add sqrt(beta_t) * z once"),
    ]
    lines = [
        f"the noise added at t = {t} has standard deviation {fmt(np.sqrt(var * beta))} (over {n} elements, two "
        f"generator states) but should have sqrt(beta_t) = {fmt(np.sqrt(beta))} ({case_text(case)})."
    ]
    for name, ratio, fix in candidates:
        if abs(ratio - 1.0) > 0.05 and low * ratio <= var <= high * ratio:
            lines.append(f"  This matches a known mistake, {name}: {fix}.")
            break
    raise Failure("\n".join(lines))


@check(
    "2.1.2",
    "Algorithm 2's mean: with eps = 0 the step rescales x_t by 1 / sqrt(alpha_t); with x_t = 0 it is eps times "
    "-beta_t / (sqrt(1 - alpha_bar_t) sqrt(alpha_t))",
    points=2,
    hint=STEP_HINT,
    public=True,
    examples=4,
)
@given(pair=schedule_and_t(low=0), shape=sts.sample_shapes(), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 500), shape=(4, 16, 2), seed=0)
@example(pair=((10, 0.1, 0.4), 7), shape=(3, 5), seed=1)
def step_mean_parts(
    session: Session, pair: tuple[tuple[int, float, float], int], shape: tuple[int, ...], seed: int
) -> None:
    """Three calls with one generator state: (x_t, 0), (0, eps), (0, 0). The noise is the same in all three,
    so the differences from the last are the mean's two parts, free of noise."""
    schedule, t = pair
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    s = as_used(schedule32)
    x_t, eps = normal_pair(seed, shape)
    zeros = np.zeros_like(x_t)
    case = step_case(schedule, t, x_t, False)
    out = run_steps(
        session,
        schedule32,
        t,
        [x_t, zeros, zeros, zeros],
        [zeros, eps, zeros, zeros],
        [seed] * 4,
        [False] * 4,
        case,
    )
    beta, alpha, alpha_bar = s["betas"][t], s["alphas"][t], s["alpha_bars"][t]
    sigma = float(np.sqrt(beta))
    if not close(out[3], out[2], np.abs(out[2]) + sigma).all():
        return  # the generator is ignored (step_generator says so): the noise cannot be cancelled here
    x_part = x_t.astype(np.float64) / np.sqrt(alpha)
    eps_coef = beta / (np.sqrt(1.0 - alpha_bar) * np.sqrt(alpha))
    eps_part = -eps_coef * eps.astype(np.float64)
    noise = 12 * sigma
    assert_close(
        out[0] - out[2],
        x_part,
        what="the mean's x_t part (your step on (x_t, eps = 0) minus your step on (0, 0), same generator state)",
        case=case,
        scale=np.abs(x_part) * (1.0 + cond(alpha)) + noise,
    )
    assert_close(
        out[1] - out[2],
        eps_part,
        what="the mean's eps part (your step on (x_t = 0, eps) minus your step on (0, 0), same generator state)",
        case=case,
        scale=np.abs(eps_part) * (1.0 + cond(beta) + cond(1.0 - alpha_bar)) + noise,
    )


# ================================================================================= public checks: 2.3.2
THRESHOLD_HINT = (
    "With threshold=True, estimate x_0 from x_t and the noise estimate by inverting eq. 4 (eq. 15), clip "
    "that estimate to [-1, 1], and take the posterior mean of eq. 7, whose two coefficients use "
    "alpha_bar_{t-1} (taken as 1 at t = 0, the first timestep) and alpha_bar_t; the noise term is the "
    "plain step's, sigma_t = sqrt(beta_t)."
)


@check(
    "2.3.2",
    "thresholded step at t = 0: no noise, the output lies in [-1, 1] and follows x_t (x0_hat is close to x_t there)",
    points=2,
    hint=THRESHOLD_HINT,
    public=True,
)
@given(schedule=sts.visible_schedules(min_steps=1), shape=sts.sample_shapes(), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, shape=(4, 3, 8, 8), seed=0)
def threshold_t0_range(
    session: Session, schedule: tuple[int, float, float], shape: tuple[int, ...], seed: int
) -> None:
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    x_t, eps = normal_pair(seed, shape, spread=2.0)
    case = step_case(schedule, 0, x_t, True)
    out = run_steps(session, schedule32, 0, [x_t] * 2, [eps] * 2, [seed, seed + 1], [True] * 2, case)
    if not close(out[1], out[0], np.abs(out[0]) + 1.0).all():
        raise Failure(
            f"at t = 0 the thresholded step gave different outputs for different generators ({case_text(case)}). "
            "This matches a known mistake, noise added at t = 0: the last step returns the mean alone."
        )
    inside = np.abs(x_t) < 0.5  # where x0_hat, close to x_t at t = 0, is not clamped
    with np.errstate(invalid="ignore", divide="ignore"):  # constant output: no correlation at all (nan)
        follows = inside.sum() < 30 or np.corrcoef(out[0][inside], x_t[inside])[0, 1] > 0.3
    if not follows:
        raise Failure(
            f"at t = 0 the thresholded step's output does not follow x_t where |x_t| < 0.5 ({case_text(case)}): "
            "at t = 0 it is the clamped estimate of x_0, and alpha_bar_0 is close to 1, so that estimate is "
            "close to x_t itself."
        )
    worst = np.abs(out[0]).max()
    # 1 - alpha_bar_0 = beta_0 is known to 2 ulps / beta_0 in float32, and a correct rearrangement of eq. 7
    # multiplies the unclamped estimate (about x_t's size at t = 0) by such a difference
    beta0 = float(schedule32["betas"][0])
    tolerance = 1e-5 + 2.0 * RTOL * cond(beta0) * float(np.abs(x_t).max())
    if worst > 1.0 + tolerance:
        if worst > 10.0 * (1.0 + float(np.abs(x_t).max())):
            raise Failure(
                f"at t = 0 the thresholded step returned values up to {fmt(worst)} in size, far outside [-1, 1] "
                f"({case_text(case)}). At t = 0 eq. 7 weights the clamped x0_hat by 1 and x_t by 0, because "
                "alpha_bar_{t-1} at t = 0 is 1 (there is no earlier step); an index t - 1 = -1 wraps around to the "
                "last entry of the schedule instead."
            )
        # alpha_bar_0 is about 1 on these schedules, so the unclamped x0_hat is close to x_t itself
        follows_x_t = close(out[0], x_t.astype(np.float64), np.abs(x_t) + 1.0, rtol=0.1).all()
        named = (
            "This matches a known mistake, a missing clamp: clamp x0_hat to [-1, 1] before the posterior mean."
            if follows_x_t
            else "Its coefficients must reduce to 1 for x0_hat and 0 for x_t at t = 0, where alpha_bar_{t-1} is 1."
        )
        raise Failure(
            f"at t = 0 the thresholded step returned values up to {fmt(worst)} in size, outside [-1, 1] "
            f"({case_text(case)}). At t = 0 eq. 7 gives the clamped x0_hat itself. {named}"
        )


@check(
    "2.3.2",
    "thresholded step equals the plain step where x0_hat needs no clamping",
    points=2,
    hint=THRESHOLD_HINT,
    public=True,
    vacuous=True,
    examples=4,
)
@given(pair=schedule_and_t(low=0), shape=sts.sample_shapes(), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 0), shape=(4, 16, 2), seed=0)
@example(pair=(sts.DEFAULT_SCHEDULE, 500), shape=(4, 16, 2), seed=1)
def threshold_matches_plain(
    session: Session, pair: tuple[tuple[int, float, float], int], shape: tuple[int, ...], seed: int
) -> None:
    schedule, t = pair
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    s = as_used(schedule32)
    _, x1, e1 = noisy_from(seed, shape, t, s, 0.0, 0.9)
    _, x2, e2 = noisy_from(seed + 1, shape, t, s, 0.0, 0.9)
    case = step_case(schedule, t, x1, True)
    out = run_steps(
        session,
        schedule32,
        t,
        [x1, x2, x1, x2, x1],
        [e1, e2, e1, e2, e1],
        [seed] * 5,
        [True, True, False, False, True],
        case,
    )
    if t == 0:
        thresholded, plain = out[0], out[2]
    elif close(out[4], out[0], np.abs(out[0]) + 1.0).all():
        # the same generator state cancels z inside each branch: compare the z-free differences of the branches
        thresholded, plain = out[0] - out[1], out[2] - out[3]
    else:
        return  # the generator is ignored (task 2.1.2's own check says so): z cannot be cancelled here
    terms = (np.abs(x1) + np.abs(x2) + np.abs(e1) + np.abs(e2)) / np.sqrt(s["alpha_bars"][t])
    conditioning = 1.0 + cond(s["betas"][t]) + cond(1.0 - s["alpha_bars"][t])
    scale = 4.0 * terms * conditioning + 12 * np.sqrt(s["betas"][t])
    assert_close(
        thresholded,
        plain,
        what="the thresholded step (compared with your plain step on the same inputs, where |x0_hat| <= 0.9)",
        case=case,
        scale=scale,
    )


@check(
    "2.3.2",
    "the thresholded step adds the same noise as the plain one (sigma_t = sqrt(beta_t) in both branches)",
    points=2,
    hint=THRESHOLD_HINT,
    public=True,
    vacuous=True,
    examples=3,
)
@given(pair=schedule_and_t(high=5), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 1), seed=0)
def threshold_same_noise(session: Session, pair: tuple[tuple[int, float, float], int], seed: int) -> None:
    """Two generator states in each branch on the same inputs: within a branch the mean cancels, so the
    differences are sigma_t (z_a - z_b) with the same z's in both branches. Judged against the student's own
    plain branch, so a mistake in the plain step's noise (task 2.1.2) costs nothing here."""
    schedule, t = pair
    schedule32 = schedule_for_probe(stand_in_schedule(*schedule))
    x_t, eps = normal_pair(seed, (16, 64))
    case = step_case(schedule, t, x_t, True)
    out = run_steps(
        session,
        schedule32,
        t,
        [x_t] * 5,
        [eps] * 5,
        [seed, seed + 1, seed, seed + 1, seed],
        [True, True, False, False, True],
        case,
    )
    sigma = float(np.sqrt(schedule32["betas"][t]))
    if not close(out[4], out[0], np.abs(out[0]) + sigma).all():
        return  # the generator is ignored (task 2.1.2's own check says so): z cannot be matched here
    thresholded, plain = out[0] - out[1], out[2] - out[3]
    # sqrt(betas[t]) and sqrt(1 - alphas[t]) are both right, and differ by 2 float32 ulps / beta_t relative
    if close(thresholded, plain, (np.abs(plain) + sigma) * (1.0 + cond(schedule32["betas"][t]))).all():
        return
    ratio = float(np.sqrt(np.mean(thresholded**2) / max(np.mean(plain**2), 1e-300)))
    s = as_used(schedule32)
    prev = s["alpha_bars"][t - 1] if t > 0 else 1.0
    tilde = float(np.sqrt((1.0 - prev) / (1.0 - s["alpha_bars"][t])))
    named = (
        " This matches a known mistake, the beta-tilde variance in the thresholded branch: both branches use "
        "sigma_t^2 = beta_t (Algorithm 2); eq. 7 changes the mean only."
        if abs(ratio - tilde) < 0.02 * tilde
        else ""
    )
    raise Failure(
        f"at t = {t} the thresholded step's noise is {fmt(ratio)} times your plain step's ({case_text(case)}), but "
        f"the two branches differ in their mean only: the same generator state must give the same noise.{named}"
    )


CHECKS = (
    step_t0_no_noise,
    step_generator,
    step_spread,
    step_mean_parts,
    threshold_t0_range,
    threshold_matches_plain,
    threshold_same_noise,
)
