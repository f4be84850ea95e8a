"""Hidden checks of tasks 2.4.1 (training windows, the Normalizer) and 2.4.2 (the rollout), and their group."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..public import robotics as public
from ..public import strategies as sts
from ..public.core import Session, check
from ..public.judge import Failure, Misconception, array, assert_close, case_text, fmt
from . import Group, ordered

# ================================================================================= 2.4.1: windows


# ================================================================================= window oracle (hidden)
def window_indices(
    ends: np.ndarray,
    state_horizon: int,
    action_horizon: int,
    *,
    state_shift: int = 0,
    action_shift: int = 0,
    state_floor: str = "episode",
    action_ceiling: str = "episode",
    newest_first: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The step each window holds, by a plain loop: (N, h) state steps, oldest first, and (N, H) action steps.

    The defaults are the spec; the keywords describe known mistakes: a window shifted by some steps, padding
    clamped to the whole dataset ("data") instead of the episode, or wrapping around like a negative index
    ("wrap"), the history newest first.
    """
    total = int(ends[-1])
    state_rows, action_rows = [], []
    start = 0
    for end in (int(e) for e in ends):
        for n in range(start, end):
            history = []
            for k in reversed(range(state_horizon)):
                step = n - k + state_shift
                if state_floor == "episode":
                    step = max(start, step)
                elif state_floor == "data":
                    step = max(0, step)
                elif step < 0:  # "wrap"
                    step += total
                history.append(min(step, total - 1))
            future = []
            for k in range(action_horizon):
                step = n + k + action_shift
                future.append(min(end - 1 if action_ceiling == "episode" else total - 1, max(step, 0)))
            state_rows.append(history[::-1] if newest_first else history)
            action_rows.append(future)
        start = end
    return np.array(state_rows, dtype=np.int64), np.array(action_rows, dtype=np.int64)


WINDOW_MISTAKES = (  # (name, explanation, keywords of window_indices)
    (
        "an action window one step late",
        "the sample of step n starts with a_n, the action taken in state s_n: actions n ... n+H-1",
        {"action_shift": 1},
    ),
    (
        "an action window one step early",
        "the sample of step n starts with a_n: actions n ... n+H-1",
        {"action_shift": -1},
    ),
    (
        "a state history one step early",
        "the history of step n ends with s_n itself: states n-h+1 ... n",
        {"state_shift": -1},
    ),
    (
        "a state history one step late",
        "the history of step n ends with s_n: states n-h+1 ... n, never the next state",
        {"state_shift": 1},
    ),
    (
        "a history newest first",
        "the condition lists the states oldest first, s_{n-h+1} ... s_n",
        {"newest_first": True},
    ),
    (
        "padding that borrows the states of another episode",
        "pad the start of an episode with its own first state: clamp the state indices to starts[episode], "
        "not to 0, so that no window mixes two episodes",
        {"state_floor": "data"},
    ),
    (
        "padding that borrows the actions of the next episode",
        "pad the end of an episode with its own last action: clamp the action indices to ends[episode] - 1, "
        "not to N - 1, so that no window mixes two episodes",
        {"action_ceiling": "data"},
    ),
    (
        "indices that wrap around",
        "a negative index counts from the end of the array in numpy; clamp it to the episode's first step",
        {"state_floor": "wrap"},
    ),
)


def judge_windows(
    state_steps: np.ndarray,
    action_steps: np.ndarray,
    expected: tuple[np.ndarray, np.ndarray],
    ends: np.ndarray,
    h: int,
    horizon: int,
    case: dict[str, Any],
    row: int | None = None,
) -> None:
    """Failure showing window ``row`` (else the first wrong one), naming a known mistake that explains every
    window; nothing when all windows are right."""
    want_states, want_actions = expected
    wrong = ~(state_steps == want_states).all(axis=1) | ~(action_steps == want_actions).all(axis=1)
    if not wrong.any():
        return
    n = int(np.argmax(wrong)) if row is None else int(row)
    lines = [
        f"make_windows' window of step n = {n} ({public._episode_of(ends, n)}) is wrong ({case_text(case)}).",
        f"  conds[{n}] holds states {public._names(state_steps[n], 's')} (oldest first), expected {public._names(want_states[n], 's')}.",
        f"  samples[{n}] holds actions {public._names(action_steps[n], 'a')}, expected {public._names(want_actions[n], 'a')}.",
    ]
    if (state_steps == -1).any() or (action_steps == -1).any():
        lines.append(
            "  This matches a known mistake, padding with zeros: pad with the episode's edge instead, its first "
            "state before the start and its last action after the end."
        )
    else:
        for name, explanation, keywords in WINDOW_MISTAKES:
            their_states, their_actions = window_indices(ends, h, horizon, **keywords)
            if (their_states == state_steps).all() and (their_actions == action_steps).all():
                lines.append("  " + Misconception(name, explanation).text())
                break
    raise Failure("\n".join(lines))


@check(
    "2.4.1",
    "windows at episode edges are padded with that episode's own first state and last action, never another's",
    points=1,
    hint=public.WINDOWS_HINT,
    public=False,
    examples=4,
)
@given(
    lengths=st.lists(st.integers(1, 7), min_size=2, max_size=5),
    h=st.integers(2, 5),
    horizon=st.integers(2, 8),
    state_dim=st.integers(1, 3),
    action_dim=st.integers(1, 2),
)
@example(lengths=[4, 6], h=3, horizon=4, state_dim=2, action_dim=2)
@example(lengths=[2, 1, 3], h=5, horizon=8, state_dim=1, action_dim=1)
def windows_padding(
    session: Session, lengths: list[int], h: int, horizon: int, state_dim: int, action_dim: int
) -> None:
    data, out, case = public.run_windows(session, lengths, h, horizon, state_dim, action_dim)
    state_steps, action_steps = public.windows_steps(out, data, h, horizon, case)
    ends = data["episode_ends"]
    judge_windows(state_steps, action_steps, window_indices(ends, h, horizon), ends, h, horizon, case)


@check(
    "2.4.1",
    "make_windows equals a float64 loop over every step of every episode, on random data",
    points=1,
    hint=public.WINDOWS_HINT,
    public=False,
    examples=4,
)
@given(
    lengths=st.lists(st.integers(1, 20), min_size=1, max_size=6),
    h=st.integers(1, 6),
    horizon=st.integers(1, 10),
    state_dim=st.integers(1, 5),
    action_dim=st.integers(1, 4),
    seed=sts.seeds,
)
@example(lengths=[9, 3, 14], h=4, horizon=6, state_dim=5, action_dim=2, seed=0)
def windows_values(
    session: Session, lengths: list[int], h: int, horizon: int, state_dim: int, action_dim: int, seed: int
) -> None:
    rng = sts.rng(seed)
    total = int(sum(lengths))
    data = {
        "states": rng.standard_normal((total, state_dim)).astype(np.float32),
        "actions": rng.standard_normal((total, action_dim)).astype(np.float32),
        "episode_ends": np.cumsum(lengths).astype(np.int64),
    }
    case = {"episode lengths": "/".join(map(str, lengths)), "state_horizon": h, "action_horizon": horizon}
    out = session.call("robotics.windows", **data, state_horizon=h, action_horizon=horizon)
    states, actions = data["states"].astype(np.float64), data["actions"].astype(np.float64)

    def gathered(**keywords: object) -> tuple[np.ndarray, np.ndarray]:
        state_steps, action_steps = window_indices(data["episode_ends"], h, horizon, **keywords)
        return states[state_steps].reshape(total, h * state_dim), actions[action_steps]  # (N, h*S), (N, H, A)

    conds, samples = gathered()
    for what, got, want, index in (
        ("conds", out["conds"], conds, 0),
        ("samples", out["samples"], samples, 1),
    ):
        assert_close(
            array(got, f"make_windows' {what}"),
            want,
            what=f"make_windows' {what}",
            case=case,
            rtol=1e-6,
            misconceptions=[
                Misconception(name, explanation, gathered(**keywords)[index])
                for name, explanation, keywords in WINDOW_MISTAKES
            ],
        )


# ================================================================================= 2.4.1: the Normalizer
@check(
    "2.4.1",
    "normalize = 2 (x - min) / (max - min) - 1 and unnormalize its inverse, elementwise over (..., D), inside and "
    "outside the range; tensors keep their dtype; a constant feature maps to 0 and back",
    points=2,
    hint=public.NORMALIZE_HINT,
    public=False,
    examples=5,
)
@given(
    dim=st.integers(1, 5),
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    tensor_dtype=st.sampled_from([None, "float32", "float64"]),
    constant=st.booleans(),
    seed=sts.seeds,
)
@example(dim=3, batch=[2, 3], tensor_dtype="float64", constant=False, seed=0)
@example(dim=2, batch=[5], tensor_dtype=None, constant=True, seed=1)
@example(dim=4, batch=[3], tensor_dtype="float32", constant=False, seed=2)
def normalizer_closed_form(
    session: Session, dim: int, batch: list[int], tensor_dtype: str | None, constant: bool, seed: int
) -> None:
    rng = sts.rng(seed)
    minimum, maximum, _ = public.normalizer_data(seed, dim, 1)
    if constant:
        maximum[0] = minimum[0]
    low, span = public.statistics(minimum, maximum)
    x = (low + span * rng.uniform(-0.5, 1.5, (*batch, dim))).astype(
        np.float32
    )  # inside and outside the range
    case = {"minimum": minimum, "maximum": maximum, "x": x, "as": tensor_dtype or "numpy"}
    out = public.run_normalizer(session, minimum, maximum, x, tensor_dtype, case)
    x64 = x.astype(np.float64)
    if not np.array_equal(array(out["input_after"], "x"), x64):
        raise Failure(f"normalize or unnormalize changed its argument x in place ({case_text(case)}).")
    normalized = 2.0 * (x64 - low) / span - 1.0
    assert_close(
        out["normalize"]["values"],
        normalized,
        what="normalize(x)",
        case=case,
        scale=2.0 * (np.abs(x64) + np.abs(low)) / span + 1.0,
        misconceptions=[
            Misconception(
                "scaling to [0, 1]",
                "DDPM samples live in [-1, 1]: 2 * (x - min) / (max - min) - 1",
                (x64 - low) / span,
            ),
            Misconception(
                "a missing - 1", "2 * (x - min) / (max - min) - 1 centres the range on 0", normalized + 1.0
            ),
            Misconception(
                "dividing by the maximum",
                "divide by the span max - min, not by max",
                2.0 * (x64 - minimum) / np.where(maximum != 0, maximum, 1.0) - 1.0,
            ),
        ],
    )
    unnormalized = (x64 + 1.0) / 2.0 * span + low
    assert_close(
        out["unnormalize"]["values"],
        unnormalized,
        what="unnormalize(x)",
        case=case,
        scale=(np.abs(x64) + 1.0) / 2.0 * span + np.abs(low),
        misconceptions=[
            Misconception(
                "the inverse of a [0, 1] scaling",
                "unnormalize inverts normalize: (x + 1) / 2 * span + min",
                x64 * span + low,
            ),
            Misconception("a missing / 2", "(x + 1) / 2 * span + min", (x64 + 1.0) * span + low),
            Misconception("a missing + min", "(x + 1) / 2 * span + min", (x64 + 1.0) / 2.0 * span),
        ],
    )
    assert_close(
        out["round_trip"]["values"],
        x64,
        what="unnormalize(normalize(x))",
        case=case,
        scale=np.abs(x64) + np.abs(low) + span,
    )


# ================================================================================= 2.4.2: the rollout


@check(
    "2.4.2",
    "the rollout stops at once, even in the middle of a plan, when the environment terminates or truncates",
    points=1,
    hint=public.ROLLOUT_HINT,
    error_hints=public.ROLLOUT_ERRORS,
    public=False,
    examples=3,
)
@given(
    stop=st.integers(1, 9),
    truncate=st.booleans(),
    horizon=st.integers(2, 6),
    num_actions=st.integers(2, 6),
    seed=sts.seeds,
)
@example(stop=5, truncate=False, horizon=4, num_actions=3, seed=0)
@example(stop=3, truncate=True, horizon=6, num_actions=6, seed=1)
def rollout_stops(
    session: Session, stop: int, truncate: bool, horizon: int, num_actions: int, seed: int
) -> None:
    num_actions = min(num_actions, horizon)
    inputs, out, case = public.run_rollout(
        session,
        seed=seed,
        state_dim=2,
        action_dim=2,
        h=2,
        horizon=horizon,
        num_actions=num_actions,
        max_steps=20,
        terminate_at=None if truncate else stop,
        truncate_at=stop if truncate else None,
    )
    executed = array(out["executed"], "the actions env.step received")
    if len(executed) != stop:
        raise Failure(
            f"the environment {'truncated' if truncate else 'terminated'} at step {stop}, but the rollout executed "
            f"{len(executed)} actions ({case_text(case)}): check terminated and truncated after every env.step and "
            "stop at once, in the middle of a plan too."
        )
    public.judge_executed(inputs, out, case)
    states = array(out["states"], "Rollout.states")
    if states.shape[0] != stop + 1 or out["info_step"] != stop:
        raise Failure(
            f"after {stop} steps Rollout.states has {states.shape[0]} rows and Rollout.info is the info of step "
            f"{fmt(out['info_step'])}; expected {stop + 1} rows and the last step's info ({case_text(case)})."
        )


GROUP = Group(
    name="robotics",
    tasks=("2.4.1", "2.4.2"),
    checks=ordered(
        ("2.4.1", "2.4.2"),
        public.CHECKS
        + (
            windows_padding,
            windows_values,
            normalizer_closed_form,
            rollout_stops,
        ),
    ),
)
