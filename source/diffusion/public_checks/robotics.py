"""Tasks 2.4.1 (make_windows, Normalizer) and 2.4.2 (rollout): probes and public checks.

make_windows and the Normalizer are probed directly. The windows are fed *traced* episodes whose every
value names its step (state n, feature j = 1000 (j + 1) + n; action n = its negative), so the judge
reads back which steps each window holds and says so in the feedback ("conds[4] holds states [s_2, s_3, s_4]
(oldest first), expected [s_4, s_4, s_4]"). The rollout runs on stand-ins only (standins.ScriptedEnv with known dynamics,
standins.PlanRecorder in place of the diffusion policy, standins.AffineNormalizer in place of task
2.4.1's Normalizer), so it is graded apart from training and from task 2.4.1; the judge replays the
episode in float64 and compares every condition, action and state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from . import strategies as sts
from .core import Session, check
from .judge import (
    Failure,
    Misconception,
    array,
    assert_close,
    case_text,
    check_finite,
    close,
    fmt,
    shape_text,
)
from .probe import ProbeContext, WrongResult, probe

TRACE = 1000.0  # state n, feature j = TRACE * (j + 1) + n; action n, feature j = -(TRACE * (j + 1) + n)


# ================================================================================= probes
def _numpy_result(ctx: ProbeContext, value: Any, what: str) -> np.ndarray:
    if isinstance(value, ctx.torch.Tensor):
        return ctx.array(value, what)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.copy()
    raise WrongResult(f"{what} is a {type(value).__name__}; it must be a numpy array of numbers")


def _described(ctx: ProbeContext, value: Any, what: str) -> dict[str, Any]:
    """The values of a numpy array or tensor a Normalizer returned, with its kind, dtype and device."""
    if isinstance(value, ctx.torch.Tensor):
        return {
            "kind": "tensor",
            "dtype": str(value.dtype).replace("torch.", ""),
            "device": value.device.type,
            "values": value.detach().to("cpu", ctx.torch.float64).numpy().copy(),
        }
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {
            "kind": "ndarray",
            "dtype": str(value.dtype),
            "device": "cpu",
            "values": value.astype(np.float64),
        }
    raise WrongResult(f"{what} returned a {type(value).__name__}; it must return a numpy array or a tensor")


@probe("robotics.windows")
def windows_probe(
    ctx: ProbeContext,
    states: np.ndarray,
    actions: np.ndarray,
    episode_ends: np.ndarray,
    state_horizon: int,
    action_horizon: int,
) -> dict[str, Any]:
    """make_windows(states, actions, episode_ends, state_horizon, action_horizon) -> conds, samples."""
    make_windows = ctx.module("robotics.windows").make_windows
    result = make_windows(
        np.array(states), np.array(actions), np.array(episode_ends), int(state_horizon), int(action_horizon)
    )
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise WrongResult(
            f"make_windows returned a {type(result).__name__}; it must return the pair (conds, samples)"
        )
    return {
        "conds": _numpy_result(ctx, result[0], "make_windows' conds"),
        "samples": _numpy_result(ctx, result[1], "make_windows' samples"),
    }


@probe("robotics.normalizer")
def normalizer_probe(
    ctx: ProbeContext, minimum: np.ndarray, maximum: np.ndarray, x: np.ndarray, tensor_dtype: str | None
) -> dict[str, Any]:
    """Normalizer(minimum, maximum): normalize(x), unnormalize(x) and both round trips, on numpy or a tensor."""
    normalizer = ctx.module("robotics.normalizer").Normalizer(np.array(minimum), np.array(maximum))
    value = np.array(x) if tensor_dtype is None else ctx.tensor(x, getattr(ctx.torch, tensor_dtype))
    normalized = normalizer.normalize(value)
    out = {
        "normalize": _described(ctx, normalized, "Normalizer.normalize"),
        "unnormalize": _described(ctx, normalizer.unnormalize(value), "Normalizer.unnormalize"),
        "round_trip": _described(
            ctx, normalizer.unnormalize(normalized), "Normalizer.unnormalize(normalize(x))"
        ),
    }
    given = _described(ctx, value, "x")
    out["input_after"], out["input_device"] = given["values"], given["device"]
    return out


@probe("robotics.rollout")
def rollout_probe(
    ctx: ProbeContext,
    env: dict[str, Any],
    plans: np.ndarray,
    state_norm: list[np.ndarray],
    action_norm: list[np.ndarray],
    state_horizon: int,
    action_horizon: int,
    num_actions: int,
    max_steps: int,
    seed: int,
    with_generator: bool,
) -> dict[str, Any]:
    """rollout(...) on a ScriptedEnv with a PlanRecorder policy and AffineNormalizers; what each of them saw."""
    from .standins import AffineNormalizer, PlanRecorder, ScriptedEnv

    environment = ScriptedEnv(
        env["start"], env["decay"], env["mixing"], env["offset"], env["terminate_at"], env["truncate_at"]
    )
    policy = PlanRecorder(plans, int(state_horizon) * len(env["start"]), ctx.device)
    generator = ctx.generator(seed) if with_generator else None
    policy.expected_generator = generator
    result = ctx.module("robotics.rollout").rollout(
        environment,
        policy,
        AffineNormalizer(*state_norm),
        AffineNormalizer(*action_norm),
        int(state_horizon),
        int(action_horizon),
        int(num_actions),
        int(max_steps),
        seed=int(seed),
        generator=generator,
    )
    action_dim = np.shape(env["mixing"])[1]
    executed = np.array(environment.actions, dtype=np.float64).reshape(-1, action_dim)
    return {
        "states": _numpy_result(ctx, result.states, "Rollout.states"),
        "actions": _numpy_result(ctx, result.actions, "Rollout.actions"),
        "rewards": _numpy_result(ctx, result.rewards, "Rollout.rewards"),
        "plans": [_numpy_result(ctx, plan, "Rollout.plans[k]") for plan in result.plans],
        "info_step": result.info.get("step") if isinstance(result.info, dict) else None,
        "calls": policy.calls,
        "executed": executed,
        "seeds": list(environment.seeds),
    }


# ================================================================================= windows: the judge's side
def traced_episodes(lengths: list[int], state_dim: int, action_dim: int) -> dict[str, np.ndarray]:
    """Concatenated episodes whose values name their step: states (N, S), actions (N, A), episode_ends (E,)."""
    steps = np.arange(int(sum(lengths)), dtype=np.float64)[:, None]  # (N, 1)
    states = TRACE * np.arange(1, state_dim + 1)[None, :] + steps  # (N, S)
    actions = -(TRACE * np.arange(1, action_dim + 1)[None, :] + steps)  # (N, A)
    return {
        "states": states.astype(np.float32),
        "actions": actions.astype(np.float32),
        "episode_ends": np.cumsum(lengths).astype(np.int64),
    }


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


def _decode(values: np.ndarray, sign: float, width: int) -> np.ndarray | None:
    """(N, k, width) traced values -> (N, k) steps (-1 for an all-zero entry); None where not traced."""
    scale = TRACE * np.arange(1, width + 1)
    steps = sign * values - scale  # (N, k, width): every feature gives the step back
    zero = (values == 0).all(axis=-1)
    first = steps[..., 0]
    if not np.all((steps == first[..., None]) | zero[..., None]):
        return None
    if not np.all((first == np.round(first)) | zero):
        return None
    return np.where(zero, -1, np.round(first)).astype(np.int64)


def _names(steps: np.ndarray, letter: str) -> str:
    return "[" + ", ".join("0" if s < 0 else f"{letter}_{int(s)}" for s in steps) + "]"


def _episode_of(ends: np.ndarray, n: int) -> str:
    index = int(np.searchsorted(ends, n, side="right"))
    start = 0 if index == 0 else int(ends[index - 1])
    return f"episode {index}, steps {start} ... {int(ends[index]) - 1}"


def windows_steps(
    out: dict[str, Any], data: dict[str, np.ndarray], h: int, horizon: int, case: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The steps each returned window holds ((N, h) states, (N, H) actions), after checking the shapes."""
    states, actions = data["states"], data["actions"]
    total, state_dim = states.shape
    action_dim = actions.shape[1]
    conds, samples = array(out["conds"], "conds"), array(out["samples"], "samples")
    if conds.shape != (total, h * state_dim):
        named = ""
        if conds.shape == (total, h, state_dim):
            named = " Flatten each history: conds has shape (N, state_horizon * state_dim)."
        elif conds.ndim >= 1 and conds.shape[0] < total:
            named = (
                " There must be one window per step, edge windows included: pad them inside the episode "
                "instead of dropping them."
            )
        raise Failure(
            f"make_windows' conds has shape {shape_text(conds.shape)} but should have shape "
            f"(N, state_horizon * state_dim) = {shape_text((total, h * state_dim))} ({case_text(case)}).{named}"
        )
    if samples.shape != (total, horizon, action_dim):
        named = ""
        if samples.ndim >= 1 and samples.shape[0] < total:
            named = (
                " There must be one window per step: pad the last windows of an episode with its last action."
            )
        raise Failure(
            f"make_windows' samples has shape {shape_text(samples.shape)} but should have shape "
            f"(N, action_horizon, action_dim) = {shape_text((total, horizon, action_dim))} ({case_text(case)}).{named}"
        )
    state_steps = _decode(conds.reshape(total, h, state_dim), 1.0, state_dim)
    action_steps = _decode(samples, -1.0, action_dim)
    if state_steps is None or action_steps is None:
        what = "conds" if state_steps is None else "samples"
        raise Failure(
            f"make_windows' {what} holds values that are not copies of the given "
            f"{'states' if what == 'conds' else 'actions'} ({case_text(case)}): a window gathers whole rows, "
            f"states[index] and actions[index], unchanged. First row: {fmt(conds[0] if what == 'conds' else samples[0])}."
        )
    return state_steps, action_steps


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
        f"make_windows' window of step n = {n} ({_episode_of(ends, n)}) is wrong ({case_text(case)}).",
        f"  conds[{n}] holds states {_names(state_steps[n], 's')} (oldest first), expected {_names(want_states[n], 's')}.",
        f"  samples[{n}] holds actions {_names(action_steps[n], 'a')}, expected {_names(want_actions[n], 'a')}.",
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


def run_windows(
    session: Session, lengths: list[int], h: int, horizon: int, state_dim: int, action_dim: int
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    data = traced_episodes(lengths, state_dim, action_dim)
    case = {"episode lengths": "/".join(map(str, lengths)), "state_horizon": h, "action_horizon": horizon}
    out = session.call("robotics.windows", **data, state_horizon=h, action_horizon=horizon)
    return data, out, case


episode_lengths = st.lists(st.integers(1, 12), min_size=1, max_size=5)


# ================================================================================= public checks: 2.4.1
WINDOWS_HINT = (
    "make_windows: for each step n of episode [start, end), the condition is states[max(start, n-h+1 ... n)] "
    "flattened (oldest first) and the sample is actions[min(end-1, n ... n+H-1)]: edge padding inside the episode, "
    "one window per step (e.g. index arrays t + arange(...) clamped with np.maximum/np.minimum per episode)."
)
NORMALIZE_HINT = (
    "Normalizer: minimum, span = self._stats_like(x); normalize returns 2 * (x - minimum) / span - 1 and unnormalize "
    "(x + 1) / 2 * span + minimum, elementwise, so numpy stays numpy and a tensor stays a tensor of its dtype."
)


@check(
    "2.4.1",
    "make_windows: one window per step, conds (N, h*S) and samples (N, H, A); window n ends with s_n and starts with a_n",
    points=2,
    hint=WINDOWS_HINT,
    public=True,
    examples=4,
)
@given(
    lengths=episode_lengths,
    h=st.integers(1, 4),
    horizon=st.integers(1, 6),
    state_dim=st.integers(1, 3),
    action_dim=st.integers(1, 3),
)
@example(lengths=[12], h=3, horizon=4, state_dim=2, action_dim=2)
def windows_alignment(
    session: Session, lengths: list[int], h: int, horizon: int, state_dim: int, action_dim: int
) -> None:
    data, out, case = run_windows(session, lengths, h, horizon, state_dim, action_dim)
    state_steps, action_steps = windows_steps(out, data, h, horizon, case)
    ends = data["episode_ends"]
    want = window_indices(ends, h, horizon)
    newest = state_steps[:, -1] == want[0][:, -1]
    first = action_steps[:, 0] == want[1][:, 0]
    if not (newest.all() and first.all()):
        row = int(np.argmax(~(newest & first)))
        judge_windows(state_steps, action_steps, want, ends, h, horizon, case, row=row)


@check(
    "2.4.1",
    "Normalizer: the minimum maps to -1 and the maximum to +1 per feature; unnormalize(normalize(x)) = x",
    points=2,
    hint=NORMALIZE_HINT,
    public=True,
    examples=4,
)
@given(dim=st.integers(1, 5), rows=st.integers(1, 6), seed=sts.seeds)
@example(dim=3, rows=4, seed=0)
def normalizer_range(session: Session, dim: int, rows: int, seed: int) -> None:
    minimum, maximum, inside = normalizer_data(seed, dim, rows)
    x = np.concatenate([minimum[None], maximum[None], inside]).astype(np.float32)  # (2 + rows, D)
    case = {"minimum": minimum, "maximum": maximum, "x": x}
    out = run_normalizer(session, minimum, maximum, x, None, case)
    normalized = out["normalize"]["values"]
    expected = normalized_values(minimum, maximum, x)
    for row, target in ((0, -1.0), (1, 1.0)):
        if not close(normalized[row], np.full(dim, target), 1.0).all():
            named = ""
            if close(normalized[row], np.full(dim, (target + 1.0) / 2.0), 1.0).all():
                named = (
                    " This matches a known mistake, scaling to [0, 1]: DDPM samples live in [-1, 1], "
                    "2 * (x - min) / (max - min) - 1."
                )
            raise Failure(
                f"normalize(x) of x = the {'minimum' if row == 0 else 'maximum'} is {fmt(normalized[row])}; every "
                f"feature should be {target:+g} ({case_text(case)}).{named}"
            )
    assert_close(normalized, expected, what="normalize(x)", case=case, scale=np.abs(expected) + 1.0)
    assert_close(
        out["round_trip"]["values"],
        x.astype(np.float64),
        what="unnormalize(normalize(x))",
        case=case,
        scale=np.abs(x) + np.abs(maximum) + np.abs(minimum),
    )


def normalizer_data(seed: int, dim: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 minimum < maximum (D,), and rows of points between them."""
    rng = sts.rng(seed)
    minimum = rng.uniform(-3.0, 2.0, dim).astype(np.float32)
    maximum = (minimum + rng.uniform(0.5, 4.0, dim)).astype(np.float32)
    inside = minimum + (maximum - minimum) * rng.uniform(0.0, 1.0, (rows, dim))
    return minimum, maximum, inside.astype(np.float32)


def statistics(minimum: np.ndarray, maximum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(minimum, span) as the kit's Normalizer uses them, float32 values in float64; constant features get
    minimum - 1 and span 2 (normalizer.py's _stats_like, given code)."""
    minimum, maximum = minimum.astype(np.float32), maximum.astype(np.float32)
    span = (maximum - minimum).astype(np.float64)  # float32 subtraction, as the kit does it
    constant = span <= 1e-8
    low = np.where(constant, minimum.astype(np.float64) - 1.0, minimum.astype(np.float64))
    return low, np.where(constant, 2.0, span)


def normalized_values(minimum: np.ndarray, maximum: np.ndarray, x: np.ndarray) -> np.ndarray:
    low, span = statistics(minimum, maximum)
    return 2.0 * (x.astype(np.float64) - low) / span - 1.0


def run_normalizer(
    session: Session,
    minimum: np.ndarray,
    maximum: np.ndarray,
    x: np.ndarray,
    tensor_dtype: str | None,
    case: dict[str, Any],
) -> dict[str, Any]:
    """The probe's answer, after checking each output's kind, dtype and shape."""
    out = session.call(
        "robotics.normalizer", minimum=minimum, maximum=maximum, x=x, tensor_dtype=tensor_dtype
    )
    for name in ("normalize", "unnormalize", "round_trip"):
        result = out[name]
        what = {"round_trip": "unnormalize(normalize(x))"}.get(name, f"{name}(x)")
        if tensor_dtype is None and result["kind"] != "ndarray":
            raise Failure(
                f"{what} of a numpy array returned a {result['kind']} ({case_text(case)}): numpy in, numpy out."
            )
        if tensor_dtype is not None and (
            result["kind"] != "tensor"
            or result["dtype"] != tensor_dtype
            or result["device"] != out["input_device"]
        ):
            got = (
                f"a {result['dtype']} tensor on {result['device']}"
                if result["kind"] == "tensor"
                else "a numpy array"
            )
            raise Failure(
                f"{what} of a {tensor_dtype} tensor on {out['input_device']} returned {got} ({case_text(case)}): a "
                "tensor in gives a tensor of its dtype on its device (the statistics from self._stats_like(x) already match x)."
            )
        values = array(result["values"], what)
        if values.shape != x.shape:
            raise Failure(
                f"{what} has shape {shape_text(values.shape)} for x of shape {shape_text(x.shape)} "
                f"({case_text(case)}): it works elementwise over (..., D)."
            )
        if not np.isfinite(values).all() and (maximum == minimum).any():
            raise Failure(
                f"{what} holds NaN or infinite values for a constant feature (max == min) ({case_text(case)}). "
                "This matches a known mistake, dividing by max - min = 0: take minimum, span = self._stats_like(x), "
                "which gives a constant feature span 2, so it maps to 0 and back."
            )
        check_finite(values, what, case)
    return out


# ================================================================================= rollout: the judge's side
def rollout_inputs(
    seed: int,
    *,
    state_dim: int,
    action_dim: int,
    h: int,
    horizon: int,
    num_actions: int,
    max_steps: int,
    terminate_at: int | None = None,
    truncate_at: int | None = None,
    with_generator: bool = True,
) -> dict[str, Any]:
    """The stand-ins' numbers: an environment with known dynamics, normalizers that are not the identity on
    [-1, 1] (so a plan left normalized lands elsewhere), and one normalized plan per possible call."""
    rng = sts.rng(seed)
    state_low = rng.uniform(-2.0, 1.0, state_dim)
    state_span = rng.uniform(0.5, 3.0, state_dim)
    return {
        "env": {
            "start": state_low + state_span * rng.uniform(0.2, 0.8, state_dim),
            "decay": 0.5,
            "mixing": rng.uniform(-0.6, 0.6, (state_dim, action_dim)),
            "offset": rng.uniform(-0.3, 0.3, state_dim),
            "terminate_at": terminate_at,
            "truncate_at": truncate_at,
        },
        "plans": rng.uniform(-1.0, 1.0, (max_steps + 1, horizon, action_dim)).astype(np.float32),
        "state_norm": [state_low, state_span],
        "action_norm": [rng.uniform(-1.0, 1.0, action_dim), rng.uniform(0.3, 1.5, action_dim)],
        "state_horizon": h,
        "action_horizon": horizon,
        "num_actions": num_actions,
        "max_steps": max_steps,
        "seed": seed,
        "with_generator": with_generator,
    }


def replay(
    inputs: dict[str, Any],
    *,
    executed: str = "first",
    unnormalized: bool = True,
    normalized: bool = True,
    newest_first: bool = False,
    zero_padding: bool = False,
    mid_plan: bool = True,
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
    state_low, state_span = (np.asarray(v, dtype=np.float64) for v in inputs["state_norm"])
    action_low, action_span = (np.asarray(v, dtype=np.float64) for v in inputs["action_norm"])
    plans32 = inputs["plans"].astype(np.float64)
    state = np.asarray(env["start"], dtype=np.float64)
    observation = state.astype(np.float32).astype(np.float64)
    padding = np.zeros_like(observation) if zero_padding else observation
    history = [padding] * (h - 1) + [observation]
    states, actions, conds, plans = [observation], [], [], []
    count = {"first": num_actions, "whole": horizon, "last": num_actions}[executed]
    while len(actions) < length:
        window = np.stack(history[::-1] if newest_first else history)  # (h, S)
        conds.append((2.0 * (window - state_low) / state_span - 1.0 if normalized else window).reshape(-1))
        plan = plans32[len(plans) % len(plans32)]
        plan = (plan + 1.0) / 2.0 * action_span + action_low if unnormalized else plan  # (H, A)
        plans.append(plan)
        chosen = plan[-count:] if executed == "last" else plan[:count]
        for action in chosen:
            state = env["decay"] * state + np.asarray(env["mixing"]) @ action + np.asarray(env["offset"])
            observation = state.astype(np.float32).astype(np.float64)
            actions.append(action)
            states.append(observation)
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
        "padding with zeros",
        "the history starts as state_horizon copies of the first observation, as the training windows pad an "
        "episode's start",
        {"zero_padding": True},
    ),
)


def run_rollout(session: Session, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    inputs = rollout_inputs(**kwargs)
    out = session.call("robotics.rollout", **inputs)
    case = {
        "state_horizon": inputs["state_horizon"],
        "action_horizon": inputs["action_horizon"],
        "num_actions": inputs["num_actions"],
        "max_steps": inputs["max_steps"],
        "state_dim": len(inputs["env"]["start"]),
        "action_dim": np.shape(inputs["env"]["mixing"])[1],
    }
    for key in ("terminate_at", "truncate_at"):
        if inputs["env"][key] is not None:
            case[key.replace("_at", "s at step")] = inputs["env"][key]
    return inputs, out, case


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
            f"({case_text(case)}): torch.as_tensor(cond, dtype=torch.float32)."
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


# ================================================================================= public checks: 2.4.2
ROLLOUT_HINT = (
    "rollout: while not done and fewer than max_steps actions: cond = torch.as_tensor(state_normalizer.normalize("
    "np.stack(history)).reshape(1, -1), dtype=torch.float32); plan = action_normalizer.unnormalize(policy."
    "generate_sample(cond, generator=generator)[0].cpu().numpy()); for action in plan[:num_actions]: step, append "
    "to states/actions/rewards and history, and stop at once when terminated, truncated or at max_steps."
)
ROLLOUT_ERRORS = (
    (
        r"step\(\) called on a finished episode",
        "Check terminated and truncated after every env.step and leave both loops at once.",
    ),
    (
        r"cond must be a torch\.Tensor",
        "Turn the normalized history into a tensor: torch.as_tensor(..., dtype=torch.float32).",
    ),
)
shapes = {
    "h": st.integers(1, 3),
    "horizon": st.integers(2, 8),
    "num_actions": st.integers(1, 8),
    "max_steps": st.integers(1, 16),
    "state_dim": st.integers(1, 4),
    "action_dim": st.integers(1, 3),
    "seed": sts.seeds,
}


@check(
    "2.4.2",
    "rollout executes the unnormalized first num_actions actions of each plan, re-planning ceil(L / num_actions) "
    "times; states (L + 1, S), actions (L, A), rewards (L,)",
    points=4,
    hint=ROLLOUT_HINT,
    error_hints=ROLLOUT_ERRORS,
    public=True,
    examples=4,
)
@given(**shapes)
@example(h=2, horizon=6, num_actions=3, max_steps=10, state_dim=3, action_dim=2, seed=0)
def rollout_plans(
    session: Session,
    h: int,
    horizon: int,
    num_actions: int,
    max_steps: int,
    state_dim: int,
    action_dim: int,
    seed: int,
) -> None:
    num_actions = min(num_actions, horizon)
    inputs, out, case = run_rollout(
        session,
        seed=seed,
        state_dim=state_dim,
        action_dim=action_dim,
        h=h,
        horizon=horizon,
        num_actions=num_actions,
        max_steps=max_steps,
    )
    want = judge_executed(inputs, out, case)
    length = want["length"]
    for name, expected in (
        ("states", want["states"]),
        ("actions", want["actions"]),
        ("rewards", want["rewards"]),
    ):
        got = array(out[name], f"Rollout.{name}")
        if got.shape != expected.shape:
            rows = {"states": "L + 1 rows: the first observation, then one per step", "actions": "L rows"}
            raise Failure(
                f"Rollout.{name} has shape {shape_text(got.shape)} but should have shape {shape_text(expected.shape)} "
                f"after L = {length} steps ({rows.get(name, 'one per step')}; {case_text(case)})."
            )
        assert_close(got, expected, what=f"Rollout.{name}", case=case, scale=np.abs(expected) + 1.0)
    if len(out["plans"]) != len(want["plans"]):
        raise Failure(
            f"Rollout.plans holds {len(out['plans'])} plans for {len(want['plans'])} calls of generate_sample "
            f"({case_text(case)}): append each unnormalized plan (action_horizon, A) once."
        )
    for k, (got, expected) in enumerate(zip(out["plans"], want["plans"], strict=True)):
        assert_close(
            array(got, f"Rollout.plans[{k}]"),
            expected,
            what=f"Rollout.plans[{k}] (the plan in environment units)",
            case=case,
            scale=np.abs(expected) + 1.0,
        )


@check(
    "2.4.2",
    "the first plan's condition is a float32 (1, h*S) tensor: the normalized history [s_0, ..., s_0]",
    points=2,
    hint=ROLLOUT_HINT,
    error_hints=ROLLOUT_ERRORS,
    public=True,
    examples=3,
)
@given(**shapes)
@example(h=3, horizon=4, num_actions=2, max_steps=4, state_dim=2, action_dim=2, seed=1)
def rollout_first_condition(
    session: Session,
    h: int,
    horizon: int,
    num_actions: int,
    max_steps: int,
    state_dim: int,
    action_dim: int,
    seed: int,
) -> None:
    inputs, out, case = run_rollout(
        session,
        seed=seed,
        state_dim=state_dim,
        action_dim=action_dim,
        h=h,
        horizon=horizon,
        num_actions=min(num_actions, horizon),
        max_steps=max_steps,
    )
    if not out["calls"]:
        raise Failure(f"rollout never called policy.generate_sample ({case_text(case)}).")
    judge_condition(inputs, out, replay(inputs), 0, case)


CHECKS = (windows_alignment, normalizer_range, rollout_plans, rollout_first_condition)
