"""Tasks 2.2.1 (compute_loss_on_batch, Algorithm 1) and 2.2.2 (drop_condition, CFG's null-token dropout).

The model is the student's DiffusionModel around stand-ins: a recording network, an affine
scheduler (so add_noise bugs of task 2.1.1b cannot leak in) and, for 2.2.1, a spy in place of
drop_condition (so dropout bugs of task 2.2.2 cannot leak in). drop_condition is probed directly.
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
    binomial_bounds,
    case_text,
    fmt,
    mean_bound,
    network_output,
    schedule_for_probe,
    stand_in_schedule,
    variance_ratio_bounds,
)
from .probe import ProbeContext, WrongResult, probe

LABEL_SHAPE = (1, 2, 2)  # a tiny image for class-label models
SEQUENCE_SHAPE = (4, 2)  # (horizon, action_dim) for condition-vector models


# ================================================================================= probes
def stand_in_model(
    ctx: ProbeContext,
    sequential: bool,
    input_shape: tuple[int, ...],
    condition_dim: int,
    p_uncond: float,
    schedule: dict[str, np.ndarray],
    net: dict[str, Any],
    noise_coefs: tuple[np.ndarray, np.ndarray] | None = None,
    step_coefs: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Any, Any, Any]:
    """The student's DiffusionModel around an AffineScheduler and a RecordingNetwork: (model, scheduler, net)."""
    from .standins import AffineScheduler, RecordingNetwork

    scheduler = AffineScheduler(schedule, ctx.device, noise_coefs=noise_coefs, step_coefs=step_coefs)
    network = RecordingNetwork(
        tuple(input_shape), not sequential, net["phase"], float(net["gain"]), net["table"]
    )
    model = ctx.model(
        sequential=sequential,
        input_shape=tuple(input_shape),
        condition_dim=condition_dim,
        p_uncond=p_uncond,
        scheduler=scheduler,
        network=network,
    )
    return model, scheduler, network


def condition_tensor(ctx: ProbeContext, cond: np.ndarray) -> Any:
    return ctx.tensor(cond, ctx.torch.int64 if cond.dtype.kind in "iu" else ctx.torch.float32)


@probe("training.drop")
def drop_probe(
    ctx: ProbeContext, cond: np.ndarray, condition_dim: int, p_uncond: float, seeds: list[int]
) -> dict[str, Any]:
    """model.drop_condition(cond, generator) once per seed, each on a fresh copy of cond."""
    sequential = cond.ndim == 2
    input_shape = SEQUENCE_SHAPE if sequential else LABEL_SHAPE
    size = int(np.prod(input_shape))
    net = {
        "phase": np.zeros(4, np.float32),
        "gain": 1.0,
        "table": np.zeros((condition_dim, size), np.float32),
    }
    model, _, _ = stand_in_model(
        ctx, sequential, input_shape, condition_dim, p_uncond, stand_in_schedule(4, 0.1, 0.2), net
    )
    outs, afters, dtypes = [], [], []
    for seed in seeds:
        given_cond = condition_tensor(ctx, cond)
        dropped = model.drop_condition(given_cond, ctx.generator(seed))
        outs.append(ctx.array(dropped, "drop_condition").astype(np.float64))
        dtypes.append(str(dropped.dtype).replace("torch.", ""))
        afters.append(ctx.array(given_cond, "cond").astype(np.float64))
    return {"out": outs, "cond_after": np.stack(afters), "dtype": dtypes}


@probe("training.loss")
def loss_probe(
    ctx: ProbeContext,
    sequential: bool,
    input_shape: list[int],
    condition_dim: int,
    schedule: dict[str, np.ndarray],
    noise_coefs: list[np.ndarray],
    net: dict[str, Any],
    data: np.ndarray,
    cond: np.ndarray,
    seeds: list[int],
    drop_mask: np.ndarray | None,
) -> dict[str, Any]:
    """compute_loss_on_batch(data, cond, generator) once per seed, with drop_condition replaced by a spy."""
    from .standins import DropSpy

    model, _, network = stand_in_model(
        ctx,
        sequential,
        tuple(input_shape),
        condition_dim,
        0.0,
        schedule,
        net,
        noise_coefs=(noise_coefs[0], noise_coefs[1]),
    )
    results = []
    for seed in seeds:
        spy = DropSpy(drop_mask)
        model.drop_condition = spy
        network.records.clear()
        given_cond = condition_tensor(ctx, cond)
        loss = model.compute_loss_on_batch(ctx.tensor(data), given_cond, generator=ctx.generator(seed))
        if not isinstance(loss, ctx.torch.Tensor):
            raise WrongResult(
                f"compute_loss_on_batch returned a {type(loss).__name__}; it must return a torch.Tensor"
            )
        grad = None
        if loss.requires_grad and loss.numel() == 1:
            network.w.grad = None
            loss.backward()
            grad = None if network.w.grad is None else float(network.w.grad)
        results.append(
            {
                "loss": loss.detach().to("cpu", ctx.torch.float64).numpy().copy(),
                "dtype": str(loss.dtype).replace("torch.", ""),
                "requires_grad": bool(loss.requires_grad),
                "grad_w": grad,
                "calls": list(network.records),
                "drop_calls": spy.calls,
                "cond_after": ctx.array(given_cond, "cond").astype(np.float64),
            }
        )
    return {"runs": results}


# ================================================================================= helpers for the judge
def network_params(seed: int, num_steps: int, condition_dim: int, size: int) -> dict[str, Any]:
    """The recording network's phase (T,), gain and feature table (condition_dim, D), as float32."""
    rng = sts.rng(seed)
    return {
        "phase": rng.uniform(-1.0, 1.0, num_steps).astype(np.float32),
        "gain": float(np.float32(rng.uniform(0.5, 1.5))),
        "table": (0.5 * rng.standard_normal((condition_dim, size))).astype(np.float32),
    }


def conditions(seed: int, batch: int, condition_dim: int, sequential: bool) -> np.ndarray:
    """Labels in 1..condition_dim-1 (never the null token) or vectors with no zero entry."""
    rng = sts.rng(seed)
    if sequential:
        return (
            rng.choice([-1.0, 1.0], (batch, condition_dim)) * rng.uniform(0.2, 2.0, (batch, condition_dim))
        ).astype(np.float32)
    return rng.integers(1, condition_dim, batch).astype(np.int64)


def run_loss(
    session: Session,
    *,
    sequential: bool,
    batch: int,
    num_steps: int,
    seed: int,
    seeds: list[int],
    drop_mask: np.ndarray | None = None,
    consistent: bool = False,
    condition_dim: int = 5,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Inputs and the runs of compute_loss_on_batch. ``consistent``: add_noise's weights are sqrt(alpha_bar_t),
    sqrt(1 - alpha_bar_t) of the schedule the scheduler shows (else arbitrary, which the public checks need not know)."""
    input_shape = SEQUENCE_SHAPE if sequential else LABEL_SHAPE
    schedule = schedule_for_probe(stand_in_schedule(num_steps, 0.01, 0.3))
    if consistent:
        signal, spread = (
            np.sqrt(schedule["alpha_bars"].astype(np.float64)),
            np.sqrt(1.0 - schedule["alpha_bars"].astype(np.float64)),
        )
    else:
        signal, spread = np.linspace(1.0, 0.2, num_steps), np.linspace(0.1, 0.9, num_steps)
    rng = sts.rng(seed)
    inputs = {
        "sequential": sequential,
        "input_shape": list(input_shape),
        "condition_dim": condition_dim,
        "schedule": schedule,
        "noise_coefs": [signal.astype(np.float32), spread.astype(np.float32)],
        "net": network_params(seed, num_steps, condition_dim, int(np.prod(input_shape))),
        "data": rng.uniform(-1.0, 1.0, (batch, *input_shape)).astype(np.float32),
        "cond": conditions(seed + 1, batch, condition_dim, sequential),
        "seeds": seeds,
        "drop_mask": drop_mask,
    }
    return inputs, session.call("training.loss", **inputs)["runs"]


def single_call(run: dict[str, Any], inputs: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """The one network call of a loss, checked for its shapes and types."""
    calls = run["calls"]
    if len(calls) != 1:
        raise Failure(
            f"compute_loss_on_batch called the network {len(calls)} times; Algorithm 1 calls it once, on the whole "
            f"batch: net(x_t, t, cond) ({case_text(case)})."
        )
    call = calls[0]
    batch = inputs["data"].shape[0]
    if call["t_dtype"] != "torch.int64":
        raise Failure(
            f"the network got t of dtype {call['t_dtype']}; timesteps are int64 ({case_text(case)})."
        )
    if call["x_t"].shape != inputs["data"].shape or call["t"].shape != (batch,):
        raise Failure(
            f"the network got x_t of shape {call['x_t'].shape} and t of shape {call['t'].shape}; expected "
            f"{inputs['data'].shape} and ({batch},) ({case_text(case)})."
        )
    return call


def drawn_noise(inputs: dict[str, Any], call: dict[str, Any], case: dict[str, Any]) -> np.ndarray:
    """The noise eps the student drew, read back from the network's x_t = signal[t] x_0 + spread[t] eps (the
    stand-in add_noise's weights, which the judge chose); Failure unless x_t is noisy, t in range and eps
    standard normal."""
    x0 = inputs["data"].astype(np.float64)
    x_t, t = call["x_t"].astype(np.float64), call["t"]
    num_steps = len(inputs["noise_coefs"][0])
    if np.allclose(x_t, x0, rtol=1e-6, atol=1e-6):
        raise Failure(
            f"the network received the clean data x_0 ({case_text(case)}). This matches a known mistake, x_0 fed "
            "to the network: it takes the noisy x_t that the scheduler's forward process makes from x_0, the "
            "noise and t, and learns to predict that noise."
        )
    if not (0 <= t.min() and t.max() < num_steps):
        raise Failure(f"the network received timesteps outside [0, {num_steps - 1}] ({case_text(case)}).")
    signal, spread = (
        c.astype(np.float64)[t].reshape(len(x0), *([1] * (x0.ndim - 1))) for c in inputs["noise_coefs"]
    )
    eps = (x_t - signal * x0) / spread  # the noise that the scheduler's add_noise must have been given
    n = eps.size
    low, high = variance_ratio_bounds(n)
    if abs(eps.mean()) > mean_bound(n) or not low <= eps.var() <= high:
        named = ""
        if abs(eps.mean() - 0.5) < 0.05 and abs(eps.var() - 1 / 12) < 0.02:
            named = (
                " This matches a known mistake, uniform noise: eps ~ N(0, I) is standard normal, not uniform."
            )
        raise Failure(
            f"the network's x_t is the scheduler's add_noise(x_0, eps, t) only for an eps of mean {fmt(eps.mean())} "
            f"and variance {fmt(eps.var())} over {n} elements, but eps ~ N(0, I) ({case_text(case)}): make x_t with "
            f"the model's own scheduler, from standard normal noise of the data's shape.{named}"
        )
    return eps


# ================================================================================= public checks: 2.2.1
LOSS_ERRORS = (
    (
        r"with t a \(B,\)",
        "Draw one timestep per sample: an int64 tensor of shape (B,) with values in 0 ... T-1.",
    ),
)
LOSS_HINT = (
    "Algorithm 1: one uniformly drawn timestep per sample in 0 ... T-1 (zero-indexed), standard normal "
    "noise of the data's shape, x_t made by the scheduler's forward process (eq. 4), the condition passed "
    "through the model's dropout, and the mean over every element of the squared difference between the "
    "network's output and that noise (the regression target is the noise, not x_0). Every random draw "
    "uses the given generator."
)


@check(
    "2.2.1",
    "the loss is a differentiable scalar from one network call net(x_t (B, *S), t (B,) int64, cond)",
    points=2,
    hint=LOSS_HINT,
    public=True,
    error_hints=LOSS_ERRORS,
    examples=4,
)
@given(sequential=st.booleans(), batch=st.integers(1, 8), num_steps=st.integers(1, 30), seed=sts.seeds)
@example(sequential=True, batch=4, num_steps=10, seed=0)
@example(sequential=False, batch=4, num_steps=10, seed=1)
def loss_scalar(session: Session, sequential: bool, batch: int, num_steps: int, seed: int) -> None:
    inputs, runs = run_loss(
        session, sequential=sequential, batch=batch, num_steps=num_steps, seed=seed, seeds=[seed]
    )
    run = runs[0]
    case = {"sequential": sequential, "T": num_steps, "data": inputs["data"]}
    single_call(run, inputs, case)
    loss = run["loss"]
    if loss.shape != () or run["dtype"] not in ("float32", "float64"):
        raise Failure(
            f"compute_loss_on_batch returned a {run['dtype']} tensor of shape {tuple(loss.shape)}; it must return a "
            f"float scalar (shape ()), the mean over every element ({case_text(case)})."
        )
    if not np.isfinite(loss):
        raise Failure(f"the loss is {fmt(loss)} ({case_text(case)}).")
    if not run["requires_grad"] or run["grad_w"] is None:
        raise Failure(
            f"the loss does not reach the network's weights by backpropagation ({case_text(case)}): keep it a tensor "
            "built from the network's output (no conversion to a Python number or numpy, no detaching, no gradient-free block)."
        )


@check(
    "2.2.1",
    "timesteps t ~ U{0, ..., T-1}: they cover 0 and T-1 and never reach T",
    points=2,
    hint=LOSS_HINT,
    public=True,
    error_hints=LOSS_ERRORS,
    examples=3,
)
@given(sequential=st.booleans(), num_steps=st.integers(2, 16), seed=sts.seeds)
@example(sequential=True, num_steps=10, seed=0)
def loss_timesteps(session: Session, sequential: bool, num_steps: int, seed: int) -> None:
    batch = 512
    inputs, runs = run_loss(
        session, sequential=sequential, batch=batch, num_steps=num_steps, seed=seed, seeds=[seed]
    )
    case = {"sequential": sequential, "T": num_steps, "B": batch}
    t = single_call(runs[0], inputs, case)["t"]
    low, high = int(t.min()), int(t.max())
    if low != 0 or high != num_steps - 1:
        named = ""
        if low == 1:
            named = " This matches a known mistake, one-indexed timesteps: t = 0 is a timestep too."
        elif high == num_steps - 2:
            named = " This matches a known mistake, an upper bound that leaves out T - 1: the last timestep T - 1 must be drawn too."
        raise Failure(
            f"over {batch} samples the timesteps ran from {low} to {high}; they should cover 0 ... {num_steps - 1} "
            f"({case_text(case)}).{named}"
        )
    counts = np.bincount(t, minlength=num_steps)
    bottom, top = binomial_bounds(batch, 1.0 / num_steps)
    if not ((counts >= bottom) & (counts <= top)).all():
        raise Failure(
            f"the timesteps are not uniform over 0 ... {num_steps - 1}: counts {counts.tolist()} over {batch} samples "
            f"({case_text(case)}). Each of the T timesteps must be equally likely."
        )


@check(
    "2.2.1",
    "the regression target is the noise: loss = mean((network output - eps)^2), where the network got "
    "x_t = the scheduler's add_noise(x_0, eps, t) with eps ~ N(0, I)",
    points=3,
    hint=LOSS_HINT,
    public=True,
    error_hints=LOSS_ERRORS,
    examples=3,
)
@given(sequential=st.booleans(), num_steps=st.integers(2, 40), seed=sts.seeds)
@example(sequential=True, num_steps=10, seed=0)
@example(sequential=False, num_steps=25, seed=1)
def loss_target_noise(session: Session, sequential: bool, num_steps: int, seed: int) -> None:
    """The stand-in scheduler's add_noise has weights the check knows, so the noise the student drew can be
    read back from the network's x_t; the stand-in network's output is known too (judge.network_output)."""
    batch = 256
    inputs, runs = run_loss(
        session, sequential=sequential, batch=batch, num_steps=num_steps, seed=seed, seeds=[seed]
    )
    run = runs[0]
    case = {"sequential": sequential, "T": num_steps, "data": inputs["data"]}
    call = single_call(run, inputs, case)
    eps = drawn_noise(inputs, call, case)
    t = call["t"]
    prediction = network_output(inputs["net"], call["x_t"], t, call["cond"], labels=not sequential)
    assert_close(
        np.asarray(run["loss"]),
        np.asarray(np.mean((prediction - eps) ** 2)),
        what="the loss (the mean squared difference between the network's output and the noise eps)",
        case=case,
        rtol=1e-4,
    )


# ================================================================================= public checks: 2.2.2
DROP_HINT = (
    "Classifier-free guidance training drops each sample's condition on its own coin, with probability "
    "p_uncond, replacing the whole condition of that sample by the null token (all zeros, label 0); the "
    "caller's tensor must stay as it was, and the coins come from the given generator."
)


def run_drop(
    session: Session, cond: np.ndarray, condition_dim: int, p: float, seeds: list[int], case: dict[str, Any]
) -> list[np.ndarray]:
    out = session.call("training.drop", cond=cond, condition_dim=condition_dim, p_uncond=p, seeds=seeds)
    outs = []
    for k, values in enumerate(out["out"]):
        values = array(values, "drop_condition")
        if values.shape != cond.shape:
            raise Failure(
                f"drop_condition returned shape {values.shape} for cond of shape {cond.shape} ({case_text(case)})."
            )
        if (cond.dtype.kind in "iu") != (out["dtype"][k] in ("int64", "int32", "int16", "int8", "uint8")):
            raise Failure(
                f"drop_condition returned dtype {out['dtype'][k]} for cond of dtype {cond.dtype}; keep cond's dtype, "
                f"so a null token made like cond keeps it ({case_text(case)})."
            )
        outs.append(values)
    return outs


def classify_rows(cond: np.ndarray, out: np.ndarray, case: dict[str, Any]) -> np.ndarray:
    """Which rows were dropped (all zeros); Failure for a row that is neither kept nor the null token."""
    c = cond.reshape(cond.shape[0], -1).astype(np.float64)
    o = out.reshape(out.shape[0], -1)
    kept = (o == c).all(axis=1)
    dropped = (o == 0).all(axis=1)
    odd = ~(kept | dropped)
    if odd.any():
        row = int(np.argmax(odd))
        partly = (o[row] == 0).any() and (o[row] == c[row]).any()
        if partly:
            named = (
                "This matches a known mistake, dropping elements instead of samples: one coin per sample, and a "
                "dropped sample's whole condition vector becomes zeros."
            )
        else:
            named = (
                f"This matches a known mistake, dropping to something other than zeros: the null token is all "
                f"zeros (label 0), got {fmt(o[row])}."
            )
        raise Failure(
            f"drop_condition turned sample {row}'s condition {fmt(c[row])} into {fmt(o[row])} ({case_text(case)}). {named}"
        )
    return dropped


@check(
    "2.2.2",
    "p_uncond = 0 keeps every condition; p_uncond = 1 replaces every one by the null token (zeros)",
    points=2,
    hint=DROP_HINT,
    public=True,
    examples=4,
)
@given(sequential=st.booleans(), batch=st.integers(1, 16), seed=sts.seeds)
@example(sequential=False, batch=8, seed=0)
def drop_extremes(session: Session, sequential: bool, batch: int, seed: int) -> None:
    cond = conditions(seed, batch, 5, sequential)
    for p in (0.0, 1.0):
        case = {"p_uncond": p, "cond": cond}
        dropped = classify_rows(cond, run_drop(session, cond, 5, p, [seed], case)[0], case)
        if p == 0.0 and dropped.any():
            raise Failure(
                f"with p_uncond = 0 drop_condition dropped {int(dropped.sum())} of {batch} samples ({case_text(case)})."
            )
        if p == 1.0 and not dropped.all():
            raise Failure(
                f"with p_uncond = 1 drop_condition kept {int((~dropped).sum())} of {batch} samples ({case_text(case)}): "
                "each sample is dropped with probability p_uncond, so all of them. Check which side of the comparison with p_uncond drops a sample."
            )


@check(
    "2.2.2",
    "each sample is dropped on its own coin flip, at rate p_uncond (a batch mixes dropped and kept samples)",
    points=3,
    hint=DROP_HINT,
    public=True,
    examples=3,
)
@given(sequential=st.booleans(), p=st.sampled_from([0.1, 0.2, 0.3, 0.7]), seed=sts.seeds)
@example(sequential=False, p=0.2, seed=0)
def drop_rate(session: Session, sequential: bool, p: float, seed: int) -> None:
    batch, draws = 64, 8
    cond = conditions(seed, batch, 5, sequential)
    case = {"p_uncond": p, "cond": cond, "calls": draws}
    outs = run_drop(session, cond, 5, p, [seed + k for k in range(draws)], case)
    dropped = np.stack([classify_rows(cond, out, case) for out in outs])  # (draws, B)
    per_call = dropped.sum(axis=1)
    if ((per_call == 0) | (per_call == batch)).all():
        raise Failure(
            f"in each of {draws} calls drop_condition dropped all {batch} samples or none ({per_call.tolist()} dropped; "
            f"{case_text(case)}). This matches a known mistake, one coin flip per batch: CFG drops each sample on "
            "its own coin, one draw per sample."
        )
    total, n = int(dropped.sum()), dropped.size
    low, high = binomial_bounds(n, p)
    if not low <= total <= high:
        named = ""
        flipped_low, flipped_high = binomial_bounds(n, 1.0 - p)
        if flipped_low <= total <= flipped_high:
            named = (
                " This matches a known mistake, the coin the wrong way round: a sample is dropped when "
                "its coin comes up below p_uncond, i.e. with probability p_uncond, not kept with it."
            )
        raise Failure(
            f"drop_condition dropped {total} of {n} samples, a rate of {fmt(total / n)}, but p_uncond = {p} "
            f"({case_text(case)}).{named}"
        )


@check(
    "2.2.1",
    "the condition passes through self.drop_condition on its way to the network; the caller's cond is untouched",
    points=1,
    hint=LOSS_HINT,
    error_hints=LOSS_ERRORS,
    public=True,
    examples=3,
)
@given(sequential=st.booleans(), seed=sts.seeds)
@example(sequential=False, seed=0)
def loss_drop_wiring(session: Session, sequential: bool, seed: int) -> None:
    batch = 8
    mask = np.arange(batch) % 3 == 1
    inputs, runs = run_loss(
        session, sequential=sequential, batch=batch, num_steps=10, seed=seed, seeds=[seed], drop_mask=mask
    )
    run = runs[0]
    case = {"sequential": sequential, "cond": inputs["cond"]}
    call = single_call(run, inputs, case)
    cond = inputs["cond"].astype(np.float64)
    if not np.array_equal(run["cond_after"], cond):
        raise Failure(
            f"compute_loss_on_batch changed the caller's cond in place ({case_text(case)}): work on a new tensor."
        )
    if run["drop_calls"] == 0:
        raise Failure(
            f"compute_loss_on_batch never called self.drop_condition ({case_text(case)}). CFG training replaces "
            "conditions by the null token before the network call, through the model's own dropout method."
        )
    expected = np.where(mask.reshape(-1, *([1] * (cond.ndim - 1))), 0.0, cond)
    if not np.array_equal(call["cond"].astype(np.float64), expected):
        raise Failure(
            f"the network did not receive what self.drop_condition returned ({case_text(case)}): pass the dropped "
            "condition on to the network."
        )


@check(
    "2.2.1",
    "the same generator state gives the same loss; another state another",
    points=1,
    hint=LOSS_HINT,
    error_hints=LOSS_ERRORS,
    public=True,
    examples=3,
)
@given(sequential=st.booleans(), seed=sts.seeds)
@example(sequential=True, seed=0)
def loss_generator(session: Session, sequential: bool, seed: int) -> None:
    inputs, runs = run_loss(
        session, sequential=sequential, batch=16, num_steps=50, seed=seed, seeds=[seed, seed, seed + 1]
    )
    case = {"sequential": sequential, "data": inputs["data"]}
    first, again, other = (single_call(run, inputs, case) for run in runs)
    if not (
        np.array_equal(first["t"], again["t"])
        and np.allclose(first["x_t"], again["x_t"], rtol=1e-6, atol=1e-7)
    ):
        raise Failure(
            f"two calls with generators in the same state drew different t or eps ({case_text(case)}): draw both with "
            "the generator you are given, the timesteps and the noise alike."
        )
    if np.array_equal(first["t"], other["t"]) and np.allclose(first["x_t"], other["x_t"]):
        raise Failure(f"generators in different states gave the same t and eps ({case_text(case)}).")


@check(
    "2.2.2",
    "drop_condition returns a new tensor of cond's shape and dtype and leaves cond unchanged",
    points=2,
    hint=DROP_HINT,
    public=True,
    vacuous=True,
    examples=4,
)
@given(sequential=st.booleans(), batch=st.integers(1, 32), seed=sts.seeds)
@example(sequential=False, batch=16, seed=0)
@example(sequential=True, batch=16, seed=1)
def drop_inputs_untouched(session: Session, sequential: bool, batch: int, seed: int) -> None:
    cond = conditions(seed, batch, 5, sequential)
    case = {"p_uncond": 0.5, "cond": cond}
    run_drop(session, cond, 5, 0.5, [seed, seed + 1], case)  # checks the shapes and dtypes
    out = session.call(
        "training.drop", cond=cond, condition_dim=5, p_uncond=0.5, seeds=[seed, seed + 1]
    )  # cached
    if not all(np.array_equal(after, cond.astype(np.float64)) for after in out["cond_after"]):
        raise Failure(
            f"drop_condition changed its argument cond in place ({case_text(case)}). This matches a known mistake, "
            "dropping in place (cond[drop] = 0): the caller's tensor must stay as it was; return a new one "
            "(build the result out of place)."
        )


@check(
    "2.2.2",
    "drop_condition honours the generator: the same state drops the same samples",
    points=1,
    hint=DROP_HINT,
    public=True,
    examples=3,
)
@given(sequential=st.booleans(), seed=sts.seeds)
def drop_generator(session: Session, sequential: bool, seed: int) -> None:
    cond = conditions(seed, 64, 5, sequential)
    case = {"p_uncond": 0.5, "cond": cond}
    first, again, other = run_drop(session, cond, 5, 0.5, [seed, seed, seed + 1], case)
    if not np.array_equal(first, again):
        raise Failure(
            f"two calls with generators in the same state dropped different samples ({case_text(case)}): draw the "
            "coins with the generator you are given."
        )
    if np.array_equal(first, other):
        raise Failure(
            f"generators in different states dropped exactly the same 64 samples ({case_text(case)})."
        )


CHECKS = (
    loss_scalar,
    loss_timesteps,
    loss_target_noise,
    drop_extremes,
    drop_rate,
    drop_inputs_untouched,
    drop_generator,
    loss_generator,
    loss_drop_wiring,
)
