"""Hidden checks of tasks 2.1.2 (the reverse step's mean) and 2.3.2 (the thresholded mean), and their group."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import example, given

from .. import closed_forms as cf
from ..public import denoise as public
from ..public import strategies as sts
from ..public.core import Session, check
from ..public.judge import (
    Failure,
    Misconception,
    as_used,
    assert_close,
    case_text,
    close,
    fmt,
    schedule_for_probe,
    variance_ratio_bounds,
)
from . import Group

Mean = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x_t, eps) -> mean


def _shift(t: int, by: int, num_steps: int) -> int | None:
    """The index a one-off indexing mistake uses at t: t - 1 wraps to T - 1 at t = 0 as Python's does."""
    u = t + by
    if u < 0:
        return u % num_steps
    return u if u < num_steps else None


def ddpm_variants(t: int, s: dict[str, np.ndarray]) -> list[tuple[str, str, Mean]]:
    """Known wrong means of Algorithm 2, line 4: (name, fix, mean(x_t, eps))."""
    beta, alpha, ab = s["betas"][t], s["alphas"][t], s["alpha_bars"][t]
    variants: list[tuple[str, str, Mean]] = [
        (
            "alpha_bar_t instead of alpha_t in the denominator",
            "divide by sqrt(alpha_t) = sqrt(1 - beta_t), not sqrt(alpha_bar_t)",
            lambda x, e: (x - beta / np.sqrt(1 - ab) * e) / np.sqrt(ab),
        ),
        (
            "no square root on 1 - alpha_bar_t",
            "the noise weight is beta_t / sqrt(1 - alpha_bar_t)",
            lambda x, e: (x - beta / (1 - ab) * e) / np.sqrt(alpha),
        ),
        (
            "sqrt(beta_t) instead of beta_t in the noise weight",
            "the noise weight is beta_t / sqrt(1 - alpha_bar_t)",
            lambda x, e: (x - np.sqrt(beta) / np.sqrt(1 - ab) * e) / np.sqrt(alpha),
        ),
        (
            "no division by sqrt(alpha_t)",
            "the whole bracket is divided by sqrt(alpha_t)",
            lambda x, e: x - beta / np.sqrt(1 - ab) * e,
        ),
        (
            "alpha_t instead of sqrt(alpha_t)",
            "divide by sqrt(alpha_t)",
            lambda x, e: (x - beta / np.sqrt(1 - ab) * e) / alpha,
        ),
        (
            "the x_0 estimate instead of the mean",
            "Algorithm 2 steps to x_{t-1}; eq. 15's x0_hat belongs to the thresholded branch",
            lambda x, e: (x - np.sqrt(1 - ab) * e) / np.sqrt(ab),
        ),
        (
            "the noise subtracted with the wrong sign",
            "mean = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t)",
            lambda x, e: (x + beta / np.sqrt(1 - ab) * e) / np.sqrt(alpha),
        ),
    ]
    for by, label in ((1, "alpha_bars[t + 1]"), (-1, "alpha_bars[t - 1]")):
        shifted = _shift(t, by, len(s["betas"]))
        if shifted is not None and shifted != t:
            variants.append(
                (
                    f"one-indexed timesteps (betas, alphas, {label})",
                    "index the arrays with t itself: t = 0 is the first entry",
                    lambda x, e, u=shifted: cf.ddpm_mean(x, e, u, s)[0],
                )
            )
    return variants


def threshold_variants(t: int, s: dict[str, np.ndarray]) -> list[tuple[str, str, Mean]]:
    """Known wrong means of the thresholded branch (eq. 15 and eq. 7)."""
    beta, alpha, ab = s["betas"][t], s["alphas"][t], s["alpha_bars"][t]
    prev = cf.alpha_bar_prev(t, s)

    def x0(x: np.ndarray, e: np.ndarray) -> np.ndarray:
        return cf.x0_estimate(x, e, t, s)

    def eq7(x0_hat: np.ndarray, x: np.ndarray, prev_: float = prev, at: int = t) -> np.ndarray:
        b, a, abar = s["betas"][at], s["alphas"][at], s["alpha_bars"][at]
        return np.sqrt(prev_) * b / (1 - abar) * x0_hat + np.sqrt(a) * (1 - prev_) / (1 - abar) * x

    variants: list[tuple[str, str, Mean]] = [
        (
            "an unthresholded x0_hat (a missing clamp)",
            "clamp x0_hat to [-1, 1] before eq. 7",
            lambda x, e: eq7(x0(x, e), x),
        ),
        (
            "a clamp to [0, 1]",
            "the data range is [-1, 1]: x0_hat.clamp(-1, 1)",
            lambda x, e: eq7(np.clip(x0(x, e), 0, 1), x),
        ),
        (
            "the clamp applied to the mean instead of x0_hat",
            "clamp x0_hat (eq. 15), then take eq. 7's mean",
            lambda x, e: np.clip(eq7(x0(x, e), x), -1, 1),
        ),
        (
            "the clamp applied to x_t instead of x0_hat",
            "clamp the estimate x0_hat, not x_t",
            lambda x, e: eq7(np.clip(cf.x0_estimate(np.clip(x, -1, 1), e, t, s), -1, 1), x),
        ),
        (
            "1 - alpha_bar_t without its square root in eq. 15",
            "x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)",
            lambda x, e: eq7(np.clip((x - (1 - ab) * e) / np.sqrt(ab), -1, 1), x),
        ),
        (
            "alpha_bar_t instead of sqrt(alpha_bar_t) in eq. 15",
            "x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)",
            lambda x, e: eq7(np.clip((x - np.sqrt(1 - ab) * e) / ab, -1, 1), x),
        ),
        (
            "swapped square roots in eq. 7",
            "x0_hat's weight has sqrt(alpha_bar_{t-1}), x_t's has sqrt(alpha_t)",
            lambda x, e: (
                np.sqrt(alpha) * beta / (1 - ab) * np.clip(x0(x, e), -1, 1)
                + np.sqrt(prev) * (1 - prev) / (1 - ab) * x
            ),
        ),
        (
            "the plain DDPM mean (threshold ignored)",
            "with threshold=True use eq. 15 and eq. 7",
            lambda x, e: cf.ddpm_mean(x, e, t, s)[0],
        ),
    ]
    if t > 0:
        variants.append(
            (
                "alpha_bar_t where eq. 7 needs alpha_bar_{t-1}",
                "eq. 7's weights use alpha_bars[t - 1] (1 at t = 0)",
                lambda x, e: eq7(np.clip(x0(x, e), -1, 1), x, prev_=float(ab)),
            )
        )
    else:
        last = float(s["alpha_bars"][-1])
        variants.append(
            (
                "alpha_bars[t - 1] at t = 0, which wraps around to alpha_bars[-1]",
                "alpha_bar_{-1} = 1: use alpha_bars[t - 1] only when t > 0",
                lambda x, e: eq7(np.clip(x0(x, e), -1, 1), x, prev_=last),
            )
        )
    return variants


def named(values: Callable[[Mean], np.ndarray], variants: list[tuple[str, str, Mean]]) -> list[Misconception]:
    return [Misconception(name, fix, values(mean)) for name, fix, mean in variants]


def judge_mean_difference(
    session: Session,
    schedule: tuple[int, float, float],
    t: int,
    inputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    threshold: bool,
    expected: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    variants: list[tuple[str, str, Mean]],
    seed: int,
) -> None:
    """out(x1, e1) - out(x2, e2) with one generator state is the difference of the means, z cancelled.

    A third call repeats the first: if it differs the generator is ignored (judged by 2.1.2's own check),
    and the mean is judged statistically instead: the difference's spread must match two draws' noise alone.
    """
    schedule32 = schedule_for_probe(cf.linear_schedule(*schedule))
    x1, e1, x2, e2 = inputs
    case = public.step_case(schedule, t, x1, threshold)
    out = public.run_steps(
        session, schedule32, t, [x1, x2, x1], [e1, e2, e1], [seed] * 3, [threshold] * 3, case
    )
    x1d, e1d, x2d, e2d = (a.astype(np.float64) for a in inputs)
    m1, scale1 = expected(x1d, e1d)
    m2, scale2 = expected(x2d, e2d)
    sigma = float(np.sqrt(as_used(schedule32)["betas"][t])) if t > 0 else 0.0
    scale = scale1 + scale2 + 12.0 * sigma
    if close(out[2], out[0], np.abs(out[0]) + sigma).all():
        assert_close(
            out[0] - out[1],
            m1 - m2,
            what="the mean of x_{t-1} (the difference of two steps with one generator state, so z cancels)",
            case=case,
            scale=scale,
            misconceptions=named(lambda mean: mean(x1d, e1d) - mean(x2d, e2d), variants),
        )
        return
    # the generator is ignored: compare spreads instead (a wrong mean adds to the difference's mean square)
    n = out[0].size
    if n < 256:
        return  # too few elements to tell a wrong mean from noise; the large explicit example decides
    noise_only = np.mean((out[0] - out[2]) ** 2)  # two draws of the noise alone: 2 sigma^2 per element
    with_means = np.mean(((out[0] - out[1]) - (m1 - m2)) ** 2)
    low, high = variance_ratio_bounds(n + 1)
    if noise_only > 0 and with_means / noise_only <= high / low:
        return
    raise Failure(
        f"the mean of x_{{t-1}} is wrong ({case_text(case)}): after removing the expected mean, two steps still differ "
        f"by {fmt(np.sqrt(with_means))} on average where the noise alone gives {fmt(np.sqrt(noise_only))}. (Your step also "
        "ignores its generator, so z could not be cancelled exactly.)"
    )


# ================================================================================= 2.1.2
@check(
    "2.1.2",
    "denoise_step at t = 0 returns the mean of Algorithm 2",
    points=1,
    hint=public.STEP_HINT,
    public=False,
    examples=6,
)
@given(schedule=sts.visible_schedules(min_steps=1), shape=sts.sample_shapes(), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, shape=(4, 3, 8, 8), seed=0)
def step_mean_t0(
    session: Session, schedule: tuple[int, float, float], shape: tuple[int, ...], seed: int
) -> None:
    schedule32 = schedule_for_probe(cf.linear_schedule(*schedule))
    s = as_used(schedule32)
    x_t, eps = public.normal_pair(seed, shape)
    case = public.step_case(schedule, 0, x_t, False)
    out = public.run_steps(session, schedule32, 0, [x_t], [eps], [seed], [False], case)[0]
    xd, ed = x_t.astype(np.float64), eps.astype(np.float64)
    mean, scale = cf.ddpm_mean(xd, ed, 0, s)
    assert_close(
        out,
        mean,
        what="denoise_step at t = 0",
        case=case,
        scale=scale,
        misconceptions=named(lambda m: m(xd, ed), ddpm_variants(0, s)),
    )


@check(
    "2.1.2",
    "denoise_step at t > 0 has the mean of Algorithm 2 (z cancelled between two draws)",
    points=2,
    hint=public.STEP_HINT,
    public=False,
    examples=6,
)
@given(pair=public.schedule_and_t(), shape=sts.sample_shapes(), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 500), shape=(64, 256), seed=0)
@example(pair=((20, 0.01, 0.3), 7), shape=(4, 3, 4, 4), seed=1)
def step_mean(
    session: Session, pair: tuple[tuple[int, float, float], int], shape: tuple[int, ...], seed: int
) -> None:
    schedule, t = pair
    s = as_used(schedule_for_probe(cf.linear_schedule(*schedule)))
    x1, e1 = public.normal_pair(seed, shape)
    x2, e2 = public.normal_pair(seed + 7, shape)
    judge_mean_difference(
        session,
        schedule,
        t,
        (x1, e1, x2, e2),
        False,
        lambda x, e: cf.ddpm_mean(x, e, t, s),
        ddpm_variants(t, s),
        seed,
    )


# ================================================================================= 2.3.2
@check(
    "2.3.2",
    "thresholded step at t = 0 returns clamp(x0_hat, -1, 1) (eq. 15; eq. 7 with alpha_bar_{-1} = 1)",
    points=2,
    hint=public.THRESHOLD_HINT,
    public=False,
    examples=6,
)
@given(schedule=sts.visible_schedules(min_steps=1), shape=sts.sample_shapes(), seed=sts.seeds)
@example(schedule=sts.DEFAULT_SCHEDULE, shape=(4, 3, 8, 8), seed=0)
@example(schedule=(10, 0.01, 0.3), shape=(6, 20), seed=1)
def threshold_t0(
    session: Session, schedule: tuple[int, float, float], shape: tuple[int, ...], seed: int
) -> None:
    schedule32 = schedule_for_probe(cf.linear_schedule(*schedule))
    s = as_used(schedule32)
    _, x_t, eps = public.noisy_from(seed, shape, 0, s, 0.3, 1.6)
    case = public.step_case(schedule, 0, x_t, True)
    out = public.run_steps(session, schedule32, 0, [x_t], [eps], [seed], [True], case)[0]
    xd, ed = x_t.astype(np.float64), eps.astype(np.float64)
    mean, scale = cf.thresholded_mean(xd, ed, 0, s)
    assert_close(
        out,
        mean,
        what="the thresholded step at t = 0",
        case=case,
        scale=scale,
        misconceptions=named(lambda m: m(xd, ed), threshold_variants(0, s)),
    )


@check(
    "2.3.2",
    "thresholded step at t > 0 has eq. 7's mean with the clamped x0_hat (z cancelled between two draws)",
    points=2,
    hint=public.THRESHOLD_HINT,
    public=False,
    examples=6,
)
@given(pair=public.schedule_and_t(), shape=sts.sample_shapes(), seed=sts.seeds)
@example(pair=(sts.DEFAULT_SCHEDULE, 500), shape=(64, 256), seed=0)
@example(pair=((20, 0.01, 0.3), 7), shape=(4, 3, 4, 4), seed=1)
def threshold_mean(
    session: Session, pair: tuple[tuple[int, float, float], int], shape: tuple[int, ...], seed: int
) -> None:
    schedule, t = pair
    s = as_used(schedule_for_probe(cf.linear_schedule(*schedule)))
    _, x1, e1 = public.noisy_from(seed, shape, t, s, 0.3, 1.6)
    _, x2, e2 = public.noisy_from(seed + 7, shape, t, s, 0.3, 1.6)
    judge_mean_difference(
        session,
        schedule,
        t,
        (x1, e1, x2, e2),
        True,
        lambda x, e: cf.thresholded_mean(x, e, t, s),
        threshold_variants(t, s),
        seed,
    )


GROUP = Group("denoise", public.CHECKS + (step_mean_t0, step_mean, threshold_t0, threshold_mean))
