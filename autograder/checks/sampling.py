"""Hidden checks of task 2.2.3 (classifier-free guided sampling), and its group."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..public import sampling as public
from ..public import strategies as sts
from ..public.core import Session, check
from ..public.judge import (
    Failure,
    Misconception,
    array,
    assert_close,
)
from . import Group


@check(
    "2.2.3",
    "every step's noise estimate is (1 + w) eps_theta(x_t, t, c) - w eps_theta(x_t, t, null), null = zeros (CFG eq. 6)",
    points=1,
    hint=public.SAMPLE_HINT,
    error_hints=public.SAMPLE_ERRORS,
    public=False,
    examples=6,
)
@given(
    sequential=st.booleans(),
    batch=st.integers(1, 6),
    num_steps=st.integers(1, 10),
    w=st.just(0.0) | st.floats(0.1, 5.0),
    seed=sts.seeds,
)
@example(sequential=False, batch=4, num_steps=6, w=2.0, seed=0)
@example(sequential=True, batch=3, num_steps=6, w=0.0, seed=1)
@example(sequential=True, batch=3, num_steps=6, w=3.0, seed=2)
def sample_guidance(
    session: Session, sequential: bool, batch: int, num_steps: int, w: float, seed: int
) -> None:
    inputs, runs = public.run_sampling(
        session, sequential=sequential, batch=batch, num_steps=num_steps, w=w, seed=seed, seeds=[seed]
    )
    run = runs[0]
    case = public.sample_case(inputs)
    public.check_steps(run, inputs, case)
    keep, mix = (c.astype(np.float64) for c in inputs["step_coefs"])
    for step in run["steps"]:
        t = step["t"]
        conditional, unconditional = public.estimates(inputs, step)
        expected = (1.0 + w) * conditional - w * unconditional
        wrong = [
            Misconception(
                "the guidance sign swapped",
                "eps = (1 + w) * eps_cond - w * eps_null: the conditional estimate gets 1 + w",
                (1.0 + w) * unconditional - w * conditional,
            ),
            Misconception(
                "the other guidance convention",
                "this assignment's w is CFG's: (1 + w) eps_c - w eps_null, "
                "not eps_null + w (eps_c - eps_null)",
                unconditional + w * (conditional - unconditional),
            ),
            Misconception(
                "no guidance (or a null estimate made with cond instead of zeros)",
                "the unconditional estimate uses null = torch.zeros_like(cond)",
                conditional,
            ),
            Misconception(
                "the unconditional estimate alone", "eps = (1 + w) eps_c - w eps_null", unconditional
            ),
            Misconception(
                "the unconditional estimate weighted by 1 instead of w",
                "eq. 6 subtracts w times the null estimate, so the two weights sum to 1",
                (1.0 + w) * conditional - unconditional,
            ),
        ]
        scale = (1.0 + w) * np.abs(conditional) + w * np.abs(unconditional)
        step_case = {**case, "t": t}
        try:
            assert_close(
                step["eps"],
                expected,
                what=f"the noise estimate passed to denoise_step at t = {t}",
                case=step_case,
                scale=scale,
                misconceptions=wrong,
            )
        except Failure as failure:
            step_calls = [c for c in run["calls"] if (c["t"] == t).all()]
            zero_rows = any(
                (np.asarray(c["cond"]).reshape(len(c["cond"]), -1) == 0).all(axis=1).any() for c in step_calls
            )
            if w > 0 and not zero_rows:
                raise Failure(
                    failure.message + "\n  No network call at this step had a null (all-zero) condition: the "
                    "unconditional estimate is net(x_t, t, torch.zeros_like(cond))."
                ) from None
            raise
    last = run["steps"][-1]
    final = keep[0] * last["x_t"].astype(np.float64) + mix[0] * last["eps"].astype(np.float64)
    assert_close(
        array(run["x0"], "generate_sample"),
        final,
        what="the returned sample (the output of the step at t = 0)",
        case=case,
        scale=np.abs(final) + 1.0,
    )


GROUP = Group("sampling", public.CHECKS + (sample_guidance,))
