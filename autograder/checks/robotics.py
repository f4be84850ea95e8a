"""Hidden checks of tasks 2.4.1 (training windows, the Normalizer) and 2.4.2 (the rollout), and their group."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from ..public import robotics as public
from ..public import strategies as sts
from ..public.core import Session, check
from ..public.judge import (
    Failure,
    Misconception,
    array,
    assert_close,
    case_text,
    close,
    fmt,
    scaled,
    shape_text,
)
from . import Group

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


# ================================================================================= rollout replay (hidden)
def replay(
    inputs: dict[str, Any],
    *,
    executed: str = "first",
    unnormalized: bool = True,
    normalized: bool = True,
    newest_first: bool = False,
    zero_padding: bool = False,
    mid_plan: bool = True,
    frozen_history: bool = False,
) -> dict[str, Any]:
    """The episode as the spec runs it, in float64; the keywords describe known mistakes.

    executed: which actions of a plan run, "first" num_actions (the spec), the "whole" plan, or the "last".
    mid_plan: False runs every chosen action of a plan even after max_steps (a loop that only checks between plans).
    """
    env = inputs["env"]
    h, num_actions = inputs["state_horizon"], inputs["num_actions"]
    horizon = inputs["action_horizon"]
    stops = [inputs["max_steps"]] + [env[k] for k in ("terminate_at", "truncate_at") if env[k] is not None]
    length = min(stops)
    state_shift, state_gain = inputs["state_norm"]
    action_shift, action_gain = inputs["action_norm"]
    plans32 = inputs["plans"].astype(np.float64)
    state = np.asarray(env["start"], dtype=np.float64)
    observation = state.astype(np.float32).astype(np.float64)
    padding = np.zeros_like(observation) if zero_padding else observation
    history = [padding] * (h - 1) + [observation]
    states, actions, conds, plans = [observation], [], [], []
    count = {"first": num_actions, "whole": horizon, "last": num_actions}[executed]
    while len(actions) < length:
        window = np.stack(history[::-1] if newest_first else history)  # (h, S)
        conds.append((scaled(window, state_shift, state_gain, True) if normalized else window).reshape(-1))
        plan = plans32[len(plans) % len(plans32)]
        plan = scaled(plan, action_shift, action_gain, False) if unnormalized else plan  # (H, A)
        plans.append(plan)
        chosen = plan[-count:] if executed == "last" else plan[:count]
        for action in chosen:
            state = env["decay"] * state + np.asarray(env["mixing"]) @ action + np.asarray(env["offset"])
            observation = state.astype(np.float32).astype(np.float64)
            actions.append(action)
            states.append(observation)
            if not frozen_history:
                history = history[1:] + [observation]
            if len(actions) >= length and mid_plan:
                break
    action_dim = np.shape(env["mixing"])[1]
    return {
        "length": length,
        "conds": conds,
        "plans": plans,
        "actions": np.array(actions, dtype=np.float64).reshape(-1, action_dim),
        "states": np.stack(states),
        "rewards": np.arange(1, len(actions) + 1, dtype=np.float64),
    }


ROLLOUT_MISTAKES = (  # (name, explanation, keywords of replay)
    (
        "the normalization not undone",
        "the policy plans in [-1, 1]: unnormalize the plan with action_normalizer.unnormalize before executing it",
        {"unnormalized": False},
    ),
    (
        "the whole plan executed",
        "execute only the first num_actions actions of each plan (plan[:num_actions]), then re-plan",
        {"executed": "whole"},
    ),
    (
        "the last actions of the plan executed",
        "the plan starts now: execute its first num_actions actions, plan[:num_actions]",
        {"executed": "last"},
    ),
    (
        "stopping only at the end of a plan",
        "check the step limit (and terminated, truncated) after every env.step and leave both loops at once, in "
        "the middle of a plan too",
        {"mid_plan": False},
    ),
)


CONDITION_MISTAKES = (
    (
        "a condition that is not normalized",
        "the policy was trained on normalized states: state_normalizer.normalize(history) before flattening",
        {"normalized": False},
    ),
    (
        "a history newest first",
        "the condition lists the states oldest first, as the training windows do: np.stack(history) of a deque "
        "that appends each new observation at the end",
        {"newest_first": True},
    ),
    (
        "a history that is never updated",
        "every observation the environment returns joins the history at once, so each plan conditions on the "
        "latest h observations",
        {"frozen_history": True},
    ),
    (
        "padding with zeros",
        "the history starts as state_horizon copies of the first observation, as the training windows pad an "
        "episode's start",
        {"zero_padding": True},
    ),
)


def _same(actual: np.ndarray, expected: np.ndarray) -> bool:
    return actual.shape == expected.shape and bool(close(actual, expected, np.abs(expected) + 1.0).all())


def judge_executed(inputs: dict[str, Any], out: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """The actions the environment received, then the number of plans; returns the spec's replay."""
    want = replay(inputs)
    executed = array(out["executed"], "the actions env.step received")
    if not _same(executed, want["actions"]):
        lines = [
            f"the environment received {len(executed)} actions; it should have received {want['length']}, "
            f"max_steps or the step the episode ends, whichever comes first ({case_text(case)}).",
        ]
        if len(executed) == want["length"]:
            k = int(np.argmax(~close(executed, want["actions"], np.abs(want["actions"]) + 1.0).all(axis=1)))
            lines = [
                f"action {k} (0-based) given to env.step is {fmt(executed[k])}; expected {fmt(want['actions'][k])}, "
                f"action {k % inputs['num_actions']} of plan {k // inputs['num_actions']} in environment units "
                f"({case_text(case)}).",
            ]
        for name, explanation, keywords in ROLLOUT_MISTAKES:
            if _same(executed, replay(inputs, **keywords)["actions"]):
                lines.append("  " + Misconception(name, explanation).text())
                break
        raise Failure("\n".join(lines))
    calls = len(out["calls"])
    expected_calls = math.ceil(want["length"] / inputs["num_actions"])
    if calls != expected_calls:
        raise Failure(
            f"generate_sample was called {calls} times; {want['length']} steps at num_actions = "
            f"{inputs['num_actions']} per plan take ceil({want['length']} / {inputs['num_actions']}) = "
            f"{expected_calls} plans ({case_text(case)}). Plan once, execute num_actions actions, then plan again."
        )
    return want


def judge_condition(
    inputs: dict[str, Any], out: dict[str, Any], want: dict[str, Any], k: int, case: dict[str, Any]
) -> None:
    """The k-th generate_sample call's cond: a float32 (1, h*S) tensor, the normalized history oldest first."""
    call = out["calls"][k]
    h, state_dim = inputs["state_horizon"], len(inputs["env"]["start"])
    got = array(call["cond"], f"cond of generate_sample call {k}")
    if call["dtype"] != "float32":
        raise Failure(
            f"generate_sample call {k} got cond of dtype {call['dtype']}; the policy takes float32 "
            f"({case_text(case)}): turn the normalized history into a float32 tensor."
        )
    if got.shape != (1, h * state_dim):
        raise Failure(
            f"generate_sample call {k} got cond of shape {shape_text(got.shape)}; expected (1, state_horizon * "
            f"state_dim) = (1, {h * state_dim}) ({case_text(case)})."
        )
    expected = want["conds"][k][None]
    scale = np.abs(expected) + 1.0
    wrong = []
    for name, explanation, keywords in CONDITION_MISTAKES:
        conds = replay(inputs, **keywords)["conds"]
        if len(conds) > k:
            wrong.append(Misconception(name, explanation, conds[k][None]))
    which = "the first plan (history padded with the first observation)" if k == 0 else f"plan {k}"
    assert_close(got, expected, what=f"cond of {which}", case=case, scale=scale, misconceptions=wrong)


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
    judge_executed(inputs, out, case)
    states = array(out["states"], "Rollout.states")
    if states.shape[0] != stop + 1 or out["info_step"] != stop:
        raise Failure(
            f"after {stop} steps Rollout.states has {states.shape[0]} rows and Rollout.info is the info of step "
            f"{fmt(out['info_step'])}; expected {stop + 1} rows and the last step's info ({case_text(case)})."
        )


@check(
    "2.4.2",
    "the whole episode equals a float64 replay of the spec's loop: every action and every condition",
    points=1,
    hint=public.ROLLOUT_HINT,
    error_hints=public.ROLLOUT_ERRORS,
    public=False,
    examples=4,
)
@given(
    h=st.integers(1, 4),
    horizon=st.integers(2, 6),
    num_actions=st.integers(1, 6),
    max_steps=st.integers(1, 14),
    state_dim=st.integers(1, 4),
    action_dim=st.integers(1, 3),
    seed=sts.seeds,
)
@example(h=3, horizon=5, num_actions=2, max_steps=9, state_dim=2, action_dim=2, seed=0)
def rollout_replay(
    session: Session,
    h: int,
    horizon: int,
    num_actions: int,
    max_steps: int,
    state_dim: int,
    action_dim: int,
    seed: int,
) -> None:
    inputs, out, case = public.run_rollout(
        session,
        seed=seed,
        state_dim=state_dim,
        action_dim=action_dim,
        h=h,
        horizon=horizon,
        num_actions=min(num_actions, horizon),
        max_steps=max_steps,
    )
    want = judge_executed(inputs, out, case)
    for k in range(len(out["calls"])):
        judge_condition(inputs, out, want, k, case)


GROUP = Group(
    "robotics",
    public.CHECKS + (windows_padding, windows_values, normalizer_closed_form, rollout_stops, rollout_replay),
)
