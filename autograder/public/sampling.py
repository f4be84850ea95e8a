"""Task 2.2.3 (generate_sample: Algorithm 2 with classifier-free guidance, CFG eq. 6).

The student's DiffusionModel runs around a recording network and an affine scheduler whose
denoise_step records (t, x_t, eps, threshold, generator) and returns a[t] x_t + b[t] eps: so the
judge sees every guided noise estimate and recomputes the loop in float64, and bugs of tasks 2.1.2
and 2.3.2 cannot leak in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from . import strategies as sts
from .core import Session, check
from .judge import (
    Failure,
    array,
    assert_close,
    case_text,
    check_finite,
    check_shape,
    close,
    fmt,
    mean_bound,
    network_output,
    schedule_for_probe,
    stand_in_schedule,
    variance_ratio_bounds,
)
from .probe import ProbeContext, probe
from .training import LABEL_SHAPE, condition_tensor, conditions, network_params, stand_in_model

SEQUENCE_SHAPE = (16, 2)  # (horizon, action_dim)


# ================================================================================= probe
@probe("sampling.generate")
def generate_probe(
    ctx: ProbeContext,
    sequential: bool,
    input_shape: list[int],
    condition_dim: int,
    schedule: dict[str, np.ndarray],
    step_coefs: list[np.ndarray],
    net: dict[str, Any],
    cond: np.ndarray,
    w: float,
    threshold: bool,
    seeds: list[int],
) -> dict[str, Any]:
    """generate_sample(cond, guidance_weight=w, threshold, generator seeded seeds[k] or None) once per seed."""
    model, scheduler, network = stand_in_model(
        ctx,
        sequential,
        tuple(input_shape),
        condition_dim,
        0.2,
        schedule,
        net,
        step_coefs=(step_coefs[0], step_coefs[1]),
    )
    runs = []
    for seed in seeds:
        generator = ctx.generator(seed) if seed >= 0 else None
        scheduler.expected_generator = generator
        scheduler.steps.clear()
        network.records.clear()
        sample = model.generate_sample(
            condition_tensor(ctx, cond),
            guidance_weight=float(w),
            threshold=bool(threshold),
            generator=generator,
        )
        runs.append(
            {
                "x0": ctx.array(sample, "generate_sample"),
                "steps": list(scheduler.steps),
                "calls": list(network.records),
            }
        )
    return {"runs": runs}


# ================================================================================= helpers for the judge
def run_sampling(
    session: Session,
    *,
    sequential: bool,
    batch: int,
    num_steps: int,
    w: float,
    seed: int,
    seeds: list[int],
    threshold: bool = False,
    condition_dim: int = 5,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    input_shape = SEQUENCE_SHAPE if sequential else LABEL_SHAPE
    rng = sts.rng(seed)
    inputs = {
        "sequential": sequential,
        "input_shape": list(input_shape),
        "condition_dim": condition_dim,
        "schedule": schedule_for_probe(stand_in_schedule(num_steps, 0.01, 0.3)),
        "step_coefs": [
            rng.uniform(0.8, 1.0, num_steps).astype(np.float32),
            rng.uniform(-0.3, -0.05, num_steps).astype(np.float32),
        ],
        "net": network_params(seed, num_steps, condition_dim, int(np.prod(input_shape))),
        "cond": conditions(seed + 1, batch, condition_dim, sequential),
        "w": float(w),
        "threshold": threshold,
        "seeds": seeds,
    }
    return inputs, session.call("sampling.generate", **inputs)["runs"]


def sample_case(inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "sequential": inputs["sequential"],
        "T": len(inputs["schedule"]["betas"]),
        "w": inputs["w"],
        "cond": inputs["cond"],
        **extra,
    }


def check_steps(run: dict[str, Any], inputs: dict[str, Any], case: dict[str, Any]) -> None:
    """T calls of denoise_step with t = T-1, ..., 0, and the output of the sample's shape."""
    num_steps = len(inputs["schedule"]["betas"])
    order = [step["t"] for step in run["steps"]]
    wanted = list(range(num_steps - 1, -1, -1))
    if order != wanted:
        shown = order if len(order) <= 8 else order[:4] + ["..."] + order[-3:]
        named = ""
        if order == wanted[:-1]:
            named = " This matches a known mistake, a loop that stops before t = 0: the last step is t = 0 itself."
        elif order == wanted[::-1]:
            named = " This matches a known mistake, a loop that runs forwards: sampling goes from t = T-1 down to 0."
        elif not order:
            named = " generate_sample must call self.noise_scheduler.denoise_step once per timestep."
        raise Failure(
            f"denoise_step was called with t = {shown}; sampling takes T = {num_steps} steps, t = T-1 down to 0 "
            f"({case_text(case)}).{named}"
        )
    sample = array(run["x0"], "generate_sample")
    check_shape(sample, (inputs["cond"].shape[0], *inputs["input_shape"]), "generate_sample(cond)", case)
    check_finite(sample, "generate_sample(cond)", case)


def estimates(inputs: dict[str, Any], step: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The stand-in network's conditional and null-token (all zeros) estimates at one recorded step's x_t."""
    cond, labels = inputs["cond"], not inputs["sequential"]
    t_batch = np.full(len(cond), step["t"])
    return (
        network_output(inputs["net"], step["x_t"], t_batch, cond, labels),
        network_output(inputs["net"], step["x_t"], t_batch, np.zeros_like(cond), labels),
    )


# ================================================================================= public checks
SAMPLE_HINT = (
    "Sampling starts from standard normal x_T of shape (B, *input_shape), then runs the reverse step at t "
    "= T-1 down to t = 0 (zero-indexed); at each step the noise estimate is CFG eq. 6, (1 + w) times the "
    "conditional estimate minus w times the estimate with the null token (all zeros), and the step "
    "receives the caller's threshold and generator."
)


SAMPLE_ERRORS = (
    (
        r"cond holds a label outside",
        "The unconditional estimate uses the null token: a condition of all zeros, of cond's shape and dtype.",
    ),
    (
        r"with t a \(B,\)",
        "The network takes one timestep per sample: an int64 tensor of shape (B,) filled with the current t.",
    ),
)


@check(
    "2.2.3",
    "output (B, *input_shape) after T denoise_step calls from t = T-1 down to 0; network in eval mode, no gradients",
    points=3,
    hint=SAMPLE_HINT,
    error_hints=SAMPLE_ERRORS,
    public=True,
    examples=4,
)
@given(
    sequential=st.booleans(),
    batch=st.integers(1, 6),
    num_steps=st.integers(1, 12),
    w=st.sampled_from([0.0, 1.5]),
    seed=sts.seeds,
)
@example(sequential=False, batch=4, num_steps=10, w=2.0, seed=0)
def sample_steps(session: Session, sequential: bool, batch: int, num_steps: int, w: float, seed: int) -> None:
    inputs, runs = run_sampling(
        session, sequential=sequential, batch=batch, num_steps=num_steps, w=w, seed=seed, seeds=[seed]
    )
    case = sample_case(inputs)
    check_steps(runs[0], inputs, case)
    for call in runs[0]["calls"]:
        if call["training"] or call["grad_enabled"]:
            raise Failure(
                f"the network ran in {'training' if call['training'] else 'eval'} mode with gradients "
                f"{'on' if call['grad_enabled'] else 'off'} while sampling ({case_text(case)}): keep your loop inside the "
                "given `with self._sampling_mode():` block, under @torch.no_grad()."
            )


@check(
    "2.2.3",
    "the same generator state gives the same sample; another state another",
    points=1,
    hint=SAMPLE_HINT,
    error_hints=SAMPLE_ERRORS,
    public=True,
    examples=3,
)
@given(sequential=st.booleans(), seed=sts.seeds)
@example(sequential=True, seed=0)
def sample_deterministic(session: Session, sequential: bool, seed: int) -> None:
    inputs, runs = run_sampling(
        session, sequential=sequential, batch=3, num_steps=5, w=1.0, seed=seed, seeds=[seed, seed, seed + 1]
    )
    case = sample_case(inputs)
    first, again, other = (array(run["x0"], "generate_sample") for run in runs)
    check_shape(first, (3, *inputs["input_shape"]), "generate_sample(cond)", case)
    if not close(again, first, np.abs(first) + 1.0).all():
        raise Failure(
            f"two calls with generators in the same state gave different samples ({case_text(case)}): draw x_T with the "
            "generator and pass it on to every denoise_step."
        )
    if close(other, first, np.abs(first) + 1.0).all():
        raise Failure(
            f"generators in different states gave the same sample ({case_text(case)}): x_T ~ N(0, I) is random."
        )


@check(
    "2.2.3",
    "x_T ~ N(0, I) of shape (B, *input_shape)",
    points=1,
    hint=SAMPLE_HINT,
    error_hints=SAMPLE_ERRORS,
    public=True,
    examples=2,
)
@given(sequential=st.booleans(), seed=sts.seeds)
@example(sequential=True, seed=0)
def sample_start(session: Session, sequential: bool, seed: int) -> None:
    inputs, runs = run_sampling(
        session, sequential=sequential, batch=64, num_steps=2, w=1.0, seed=seed, seeds=[seed]
    )
    case = sample_case(inputs)
    check_steps(runs[0], inputs, case)
    x_T = runs[0]["steps"][0]["x_t"].astype(np.float64)
    n = x_T.size
    low, high = variance_ratio_bounds(n)
    if abs(x_T.mean()) > mean_bound(n) or not low <= x_T.var() <= high:
        named = ""
        if abs(x_T.mean() - 0.5) < 0.05:
            named = " This matches a known mistake, uniform noise: x_T ~ N(0, I) is randn, not rand."
        elif x_T.var() == 0:
            named = " x_T is constant: it must be standard normal noise drawn with the generator."
        raise Failure(
            f"the first denoise_step got x_T of mean {fmt(x_T.mean())} and variance {fmt(x_T.var())} over {n} elements; "
            f"x_T ~ N(0, I) has mean 0 and variance 1 ({case_text(case)}).{named}"
        )


@check(
    "2.2.3",
    "threshold and the generator are passed on to every denoise_step",
    points=1,
    hint=SAMPLE_HINT,
    error_hints=SAMPLE_ERRORS,
    public=True,
    examples=2,
)
@given(sequential=st.booleans(), seed=sts.seeds)
def sample_passes_options(session: Session, sequential: bool, seed: int) -> None:
    for threshold in (True, False):
        inputs, runs = run_sampling(
            session,
            sequential=sequential,
            batch=2,
            num_steps=4,
            w=1.0,
            seed=seed,
            seeds=[seed],
            threshold=threshold,
        )
        case = sample_case(inputs, threshold=threshold)
        check_steps(runs[0], inputs, case)
        for step in runs[0]["steps"]:
            if step["threshold"] != threshold:
                raise Failure(
                    f"generate_sample(threshold={threshold}) called denoise_step with threshold={step['threshold']} "
                    f"at t = {step['t']} ({case_text(case)}): pass threshold=threshold on."
                )
            if step["generator"] != "same":
                got = "no generator" if step["generator"] == "none" else "another generator"
                raise Failure(
                    f"denoise_step got {got} at t = {step['t']} ({case_text(case)}): pass generate_sample's own "
                    "generator on, so the same generator state gives the same sample."
                )


@check(
    "2.2.3",
    "guidance acts as CFG eq. 6 on a stand-in network: each step's noise estimate is (1 + w) eps(x_t, t, c) "
    "- w eps(x_t, t, null), null = all zeros",
    points=3,
    hint=SAMPLE_HINT,
    error_hints=SAMPLE_ERRORS,
    public=True,
    examples=4,
)
@given(
    sequential=st.booleans(),
    batch=st.integers(1, 6),
    num_steps=st.integers(1, 8),
    w=st.just(0.0) | st.floats(0.1, 5.0),
    seed=sts.seeds,
)
@example(sequential=False, batch=4, num_steps=5, w=2.0, seed=0)
@example(sequential=True, batch=3, num_steps=4, w=0.5, seed=3)
def sample_guidance_eq6(
    session: Session, sequential: bool, batch: int, num_steps: int, w: float, seed: int
) -> None:
    """The stand-in network's output is known for any input (judge.network_output), so the estimate the
    student passed to each denoise_step can be compared with eq. 6 evaluated on the same x_t."""
    inputs, runs = run_sampling(
        session, sequential=sequential, batch=batch, num_steps=num_steps, w=w, seed=seed, seeds=[seed]
    )
    run = runs[0]
    case = sample_case(inputs)
    check_steps(run, inputs, case)
    for step in run["steps"]:
        t = step["t"]
        conditional, unconditional = estimates(inputs, step)
        expected = (1.0 + w) * conditional - w * unconditional
        scale = (1.0 + w) * np.abs(conditional) + w * np.abs(unconditional)
        eps = array(step["eps"], "the noise estimate")
        if eps.shape == expected.shape and close(eps, expected, scale).all():
            continue
        calls = [c for c in run["calls"] if (np.asarray(c["t"]) == t).all()]
        has_null = any(
            (np.asarray(c["cond"]).reshape(len(c["cond"]), -1) == 0).all(axis=1).any() for c in calls
        )
        note = (
            "\n  No network call at this step had an all-zero condition: the unconditional estimate uses the "
            "null token."
            if w > 0 and not has_null
            else ""
        )
        try:
            assert_close(
                eps,
                expected,
                what=f"the noise estimate passed to denoise_step at t = {t} (eq. 6 with w = {fmt(w)})",
                case={**case, "t": t},
                scale=scale,
            )
        except Failure as failure:
            raise Failure(failure.message + note) from None


CHECKS = (sample_steps, sample_deterministic, sample_guidance_eq6, sample_start, sample_passes_options)
