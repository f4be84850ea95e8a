"""Hidden checks of tasks 2.2.1 (the loss, Algorithm 1) and 2.2.2 (null-token dropout), and their group."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..public import strategies as sts
from ..public import training as public
from ..public.core import Session, check
from ..public.judge import (
    Failure,
    Misconception,
    assert_close,
    binomial_bounds,
    case_text,
    fmt,
    network_output,
)
from . import Group


# ================================================================================= 2.2.1
@check(
    "2.2.1",
    "loss = mean((eps_theta(x_t, t, c) - eps)^2) with x_t = add_noise(x_0, eps, t), eps ~ N(0, I)",
    points=1,
    hint=public.LOSS_HINT,
    error_hints=public.LOSS_ERRORS,
    public=False,
    examples=4,
)
@given(sequential=st.booleans(), num_steps=st.integers(2, 40), seed=sts.seeds)
@example(sequential=True, num_steps=10, seed=0)
@example(sequential=False, num_steps=25, seed=1)
def loss_value(session: Session, sequential: bool, num_steps: int, seed: int) -> None:
    batch = 512
    inputs, runs = public.run_loss(
        session,
        sequential=sequential,
        batch=batch,
        num_steps=num_steps,
        seed=seed,
        seeds=[seed],
        consistent=True,
    )
    run = runs[0]
    case = {"sequential": sequential, "T": num_steps, "data": inputs["data"]}
    call = public.single_call(run, inputs, case)
    eps = public.drawn_noise(inputs, call, case)
    x0, x_t, t = inputs["data"].astype(np.float64), call["x_t"].astype(np.float64), call["t"]
    prediction = network_output(inputs["net"], call["x_t"], t, call["cond"], labels=not sequential)
    squared = (prediction - eps) ** 2
    wrong = [
        Misconception(
            "x_0 as the target",
            "the network predicts the noise: F.mse_loss(prediction, eps)",
            np.mean((prediction - x0) ** 2),
        ),
        Misconception(
            "x_t as the target",
            "the network predicts the noise eps, not x_t",
            np.mean((prediction - x_t) ** 2),
        ),
        Misconception("a sum instead of a mean", "F.mse_loss averages over every element", squared.sum()),
        Misconception(
            "a per-sample sum",
            "the mean runs over every element, not over the batch alone",
            squared.reshape(batch, -1).sum(axis=1).mean(),
        ),
        Misconception("an L1 loss", "Algorithm 1 squares the error", np.mean(np.abs(prediction - eps))),
        Misconception(
            "a root mean square",
            "the loss is the mean squared error itself, without a square root",
            np.sqrt(np.mean(squared)),
        ),
    ]
    assert_close(
        np.asarray(run["loss"]),
        np.asarray(squared.mean()),
        what="the loss",
        case=case,
        rtol=1e-4,
        misconceptions=wrong,
    )


# ================================================================================= 2.2.2


@check(
    "2.2.2",
    "every sample position is dropped at rate p_uncond, independently in every call",
    points=2,
    hint=public.DROP_HINT,
    public=False,
    examples=2,
)
@given(sequential=st.booleans(), p=st.sampled_from([0.25, 0.5]), seed=sts.seeds)
@example(sequential=False, p=0.25, seed=0)
def drop_positions(session: Session, sequential: bool, p: float, seed: int) -> None:
    batch, draws = 32, 64
    cond = public.conditions(seed, batch, 5, sequential)
    case = {"p_uncond": p, "cond": cond, "calls": draws}
    outs = public.run_drop(session, cond, 5, p, [seed * 101 + k for k in range(draws)], case)
    dropped = np.stack([public.classify_rows(cond, out, case) for out in outs])  # (draws, B)
    low, high = binomial_bounds(draws, p)
    counts = dropped.sum(axis=0)
    bad = np.flatnonzero((counts < low) | (counts > high))
    if bad.size:
        raise Failure(
            f"sample {int(bad[0])} was dropped in {int(counts[bad[0]])} of {draws} calls, but each sample is dropped "
            f"with probability p_uncond = {p} in every call ({case_text(case)}): one fresh coin per sample per call, "
            "not a fixed choice of samples."
        )
    total_low, total_high = binomial_bounds(dropped.size, p)
    if not total_low <= dropped.sum() <= total_high:
        raise Failure(
            f"{int(dropped.sum())} of {dropped.size} samples were dropped, a rate of {fmt(dropped.mean())} "
            f"for p_uncond = {p} ({case_text(case)})."
        )


GROUP = Group("training", public.CHECKS + (loss_value, drop_positions))
