"""Tasks 2.4.1 (make_windows, Normalizer) and 2.4.2 (rollout): probes and public checks.

make_windows and the Normalizer are probed directly. The windows are fed *traced* episodes whose every
value names its step (state n, feature j = 1000 (j + 1) + n; action n = its negative), so the judge
reads back which steps each window holds and says so in the feedback ("conds[4] holds states [s_2, s_3, s_4]
(oldest first), expected [s_4, s_4, s_4]"). The rollout runs on stand-ins only (standins.ScriptedEnv with known dynamics,
standins.PlanRecorder in place of the diffusion policy, standins.ScaledNormalizer in place of task
2.4.1's Normalizer, with a map of its own), so it is graded apart from training and from task 2.4.1.
The public checks judge what the stand-ins recorded: the actions the environment received against the
plans the policy returned, each condition against the observations the environment returned. The
hidden checks (autograder/checks/robotics.py) also replay the whole episode in float64 and name known
mistakes.
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
    array,
    assert_close,
    case_text,
    check_finite,
    close,
    fmt,
    scaled,
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
    """rollout(...) on a ScriptedEnv with a PlanRecorder policy and ScaledNormalizers; what each of them saw."""
    from .standins import PlanRecorder, ScaledNormalizer, ScriptedEnv

    environment = ScriptedEnv(
        env["start"], env["decay"], env["mixing"], env["offset"], env["terminate_at"], env["truncate_at"]
    )
    policy = PlanRecorder(plans, int(state_horizon) * len(env["start"]), ctx.device)
    generator = ctx.generator(seed) if with_generator else None
    policy.expected_generator = generator
    result = ctx.module("robotics.rollout").rollout(
        environment,
        policy,
        ScaledNormalizer(*state_norm),
        ScaledNormalizer(*action_norm),
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
        "observations": np.array(environment.observations, dtype=np.float64),
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
    "One window per step n: the condition is the h most recent states ending with s_n, oldest first, "
    "flattened; the sample is the H actions starting with a_n. Near an episode's edges, pad with that "
    "episode's own first state or last action, so no window ever holds a step of another episode."
)
NORMALIZE_HINT = (
    "Min-max normalization per feature maps the dataset's minimum to -1 and its maximum to +1, linearly "
    "in between; unnormalize is its exact inverse. Both work elementwise, keep numpy arrays numpy and "
    "tensors tensors of their dtype and device, and a constant feature maps to 0."
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
    steps = np.arange(len(state_steps))
    wrong = (state_steps[:, -1] != steps) | (action_steps[:, 0] != steps)
    if wrong.any():
        n = int(np.argmax(wrong))
        raise Failure(
            f"make_windows' window of step n = {n} ({_episode_of(ends, n)}) holds states "
            f"{_names(state_steps[n], 's')} (oldest first) and actions {_names(action_steps[n], 'a')} "
            f"({case_text(case)}): the condition of step n ends with its own state s_{n}, and its sample starts "
            f"with the action taken in that state, a_{n}."
        )


@check(
    "2.4.1",
    "every window stays inside its own episode: window n holds states of its episode up to s_n and actions of "
    "its episode from a_n on, in order",
    points=2,
    hint=WINDOWS_HINT,
    public=True,
    examples=4,
)
@given(
    lengths=st.lists(st.integers(1, 8), min_size=2, max_size=5),
    h=st.integers(2, 4),
    horizon=st.integers(2, 6),
    state_dim=st.integers(1, 3),
    action_dim=st.integers(1, 3),
)
@example(lengths=[5, 3, 6], h=3, horizon=4, state_dim=2, action_dim=1)
def windows_inside_episode(
    session: Session, lengths: list[int], h: int, horizon: int, state_dim: int, action_dim: int
) -> None:
    data, out, case = run_windows(session, lengths, h, horizon, state_dim, action_dim)
    state_steps, action_steps = windows_steps(out, data, h, horizon, case)
    ends = data["episode_ends"]
    starts = np.concatenate([[0], ends[:-1]])
    for n in range(int(ends[-1])):
        episode = int(np.searchsorted(ends, n, side="right"))
        start, end = int(starts[episode]), int(ends[episode])
        states, actions = state_steps[n], action_steps[n]
        problem = ""
        if (states < start).any() or (states > n).any():
            problem = (
                f"its states must come from its own episode and not after s_{n}: the first window of an "
                "episode is padded with that episode's own first state"
            )
        elif (actions < n).any() or (actions >= end).any():
            problem = (
                f"its actions must come from its own episode and not before a_{n}: the last windows of an "
                "episode are padded with that episode's own last action"
            )
        elif (np.diff(states) < 0).any() or (np.diff(actions) < 0).any():
            problem = "its states and its actions must each be in time order, oldest first"
        if problem:
            raise Failure(
                f"make_windows' window of step n = {n} ({_episode_of(ends, n)}) holds states {_names(states, 's')} "
                f"and actions {_names(actions, 'a')} ({case_text(case)}): {problem}."
            )


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
    return {
        "env": {
            "start": rng.uniform(-2.0, 2.0, state_dim),
            "decay": 0.5,
            "mixing": rng.uniform(-0.6, 0.6, (state_dim, action_dim)),
            "offset": rng.uniform(-0.3, 0.3, state_dim),
            "terminate_at": terminate_at,
            "truncate_at": truncate_at,
        },
        "plans": rng.uniform(-1.0, 1.0, (max_steps + 1, horizon, action_dim)).astype(np.float32),
        "state_norm": [
            rng.uniform(-1.0, 1.0, state_dim),
            rng.choice([-1.0, 1.0], state_dim) * rng.uniform(0.5, 2.0, state_dim),
        ],
        "action_norm": [
            rng.uniform(-1.0, 1.0, action_dim),
            rng.choice([-1.0, 1.0], action_dim) * rng.uniform(0.7, 3.0, action_dim),
        ],
        "state_horizon": h,
        "action_horizon": horizon,
        "num_actions": num_actions,
        "max_steps": max_steps,
        "seed": seed,
        "with_generator": with_generator,
    }


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


# ================================================================================= public checks: 2.4.2
ROLLOUT_HINT = (
    "Receding-horizon control: condition on the normalized history of the h most recent observations "
    "(oldest first, padded with the first observation at the start), plan once, undo the action "
    "normalization, execute only the first num_actions actions of the plan while updating the history "
    "after every step, then plan again; stop at once when the episode terminates, is truncated or reaches "
    "max_steps, and pass the generator to the policy."
)
ROLLOUT_ERRORS = (
    (
        r"step\(\) called on a finished episode",
        "Check terminated and truncated after every env.step and leave both loops at once.",
    ),
    (
        r"cond must be a torch\.Tensor",
        "The policy takes a float32 torch tensor, not a numpy array.",
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


def expected_length(inputs: dict[str, Any]) -> int:
    """L, the number of steps: max_steps, or the step at which the environment ends the episode, if earlier."""
    env = inputs["env"]
    return min(
        [inputs["max_steps"]] + [env[k] for k in ("terminate_at", "truncate_at") if env[k] is not None]
    )


def plan_in_env_units(inputs: dict[str, Any], k: int) -> np.ndarray:
    """The k-th plan the stand-in policy returned, mapped back by the stand-in action normalizer: (H, A)."""
    plans = inputs["plans"].astype(np.float64)
    return scaled(plans[k % len(plans)], *inputs["action_norm"], forward=False)


def judge_plans_executed(inputs: dict[str, Any], out: dict[str, Any], case: dict[str, Any]) -> None:
    """The actions env.step received: L of them, plan k's first num_actions in environment units, in order."""
    length, num_actions = expected_length(inputs), inputs["num_actions"]
    executed = array(out["executed"], "the actions env.step received")
    if len(executed) != length:
        raise Failure(
            f"the environment received {len(executed)} actions; it should have received L = {length}, max_steps or "
            f"the step at which the episode ends, whichever comes first ({case_text(case)})."
        )
    calls, wanted = len(out["calls"]), math.ceil(length / num_actions)
    if calls != wanted:
        raise Failure(
            f"generate_sample was called {calls} times; {length} steps at num_actions = {num_actions} per plan take "
            f"ceil({length} / {num_actions}) = {wanted} plans ({case_text(case)}): plan, execute num_actions "
            "actions of the plan, then plan again."
        )
    for k in range(wanted):
        chunk = executed[k * num_actions : (k + 1) * num_actions]
        plan = plan_in_env_units(inputs, k)
        if not close(chunk, plan[: len(chunk)], np.abs(plan[: len(chunk)]) + 1.0).all():
            raise Failure(
                f"actions {k * num_actions} ... {k * num_actions + len(chunk) - 1} given to env.step are "
                f"{fmt(chunk)}; they should be the first {len(chunk)} actions of plan {k}, mapped back to environment "
                f"units by action_normalizer: {fmt(plan[: len(chunk)])} ({case_text(case)})."
            )


def judge_condition_of(inputs: dict[str, Any], out: dict[str, Any], k: int, case: dict[str, Any]) -> None:
    """Plan k's cond: a float32 (1, h*S) tensor, the normalized last h observations (oldest first, the
    first observation repeated before the start), flattened."""
    call = out["calls"][k]
    h, state_dim = inputs["state_horizon"], len(inputs["env"]["start"])
    got = array(call["cond"], f"cond of generate_sample call {k}")
    if call["dtype"] != "float32":
        raise Failure(
            f"generate_sample call {k} got cond of dtype {call['dtype']}; the policy takes float32 "
            f"({case_text(case)})."
        )
    if got.shape != (1, h * state_dim):
        raise Failure(
            f"generate_sample call {k} got cond of shape {shape_text(got.shape)}; expected (1, state_horizon * "
            f"state_dim) = (1, {h * state_dim}) ({case_text(case)})."
        )
    observations = array(out["observations"], "the observations the environment returned")
    now = k * inputs["num_actions"]  # the observation after the actions of plans 0 ... k-1
    steps = [max(0, now - h + 1 + j) for j in range(h)]
    expected = scaled(observations[steps], *inputs["state_norm"], forward=True).reshape(1, -1)
    if not close(got, expected, np.abs(expected) + 1.0).all():
        which = "the first plan" if k == 0 else f"plan {k}"
        raise Failure(
            f"cond of {which} is {fmt(got)}, expected {fmt(expected)} ({case_text(case)}): the condition is the "
            f"last state_horizon observations, here observations {steps} (oldest first; before the start, the "
            "first observation again), normalized by state_normalizer and flattened. The history must take in "
            "every new observation as it arrives."
        )


@check(
    "2.4.2",
    "rollout executes the first num_actions actions of each plan, in environment units, re-planning "
    "ceil(L / num_actions) times; Rollout holds states (L + 1, S), actions (L, A), rewards (L,) and the plans",
    points=3,
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
    judge_plans_executed(inputs, out, case)
    length = expected_length(inputs)
    recorded = {
        "states": array(out["observations"], "the observations the environment returned"),
        "actions": array(out["executed"], "the actions env.step received"),
        "rewards": np.arange(1, length + 1, dtype=np.float64),  # the stand-in's reward of step k is k
    }
    rows = {"states": "the first observation, then one per step", "actions": "one per step"}
    for name, expected in recorded.items():
        got = array(out[name], f"Rollout.{name}")
        if got.shape != expected.shape:
            raise Failure(
                f"Rollout.{name} has shape {shape_text(got.shape)} but should have shape {shape_text(expected.shape)} "
                f"after L = {length} steps ({rows.get(name, 'one reward per step')}; {case_text(case)})."
            )
        assert_close(
            got,
            expected,
            what=f"Rollout.{name} (what the environment returned or received)",
            case=case,
            scale=np.abs(expected) + 1.0,
        )
    if len(out["plans"]) != len(out["calls"]):
        raise Failure(
            f"Rollout.plans holds {len(out['plans'])} plans for {len(out['calls'])} calls of generate_sample "
            f"({case_text(case)}): keep each plan, in environment units, once."
        )
    for k, got in enumerate(out["plans"]):
        expected = plan_in_env_units(inputs, k)
        assert_close(
            array(got, f"Rollout.plans[{k}]"),
            expected,
            what=f"Rollout.plans[{k}] (the whole plan in environment units)",
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
    judge_condition_of(inputs, out, 0, case)


@check(
    "2.4.2",
    "every plan's condition is the normalized history of the last state_horizon observations, oldest first",
    points=2,
    hint=ROLLOUT_HINT,
    error_hints=ROLLOUT_ERRORS,
    public=True,
    examples=4,
)
@given(
    h=st.integers(2, 4),
    horizon=st.integers(2, 6),
    num_actions=st.integers(1, 6),
    max_steps=st.integers(4, 14),
    state_dim=st.integers(1, 4),
    action_dim=st.integers(1, 3),
    seed=sts.seeds,
)
@example(h=3, horizon=5, num_actions=2, max_steps=9, state_dim=2, action_dim=2, seed=0)
def rollout_history(
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
    judge_plans_executed(inputs, out, case)
    for k in range(len(out["calls"])):
        judge_condition_of(inputs, out, k, case)


@check(
    "2.4.2",
    "the generator goes to every generate_sample call and the seed to env.reset",
    points=1,
    hint=ROLLOUT_HINT,
    error_hints=ROLLOUT_ERRORS,
    public=True,
    examples=2,
)
@given(with_generator=st.booleans(), seed=sts.seeds)
@example(with_generator=True, seed=0)
def rollout_generator(session: Session, with_generator: bool, seed: int) -> None:
    inputs, out, case = run_rollout(
        session,
        seed=seed,
        state_dim=2,
        action_dim=2,
        h=2,
        horizon=4,
        num_actions=2,
        max_steps=6,
        with_generator=with_generator,
    )
    case["generator"] = "given" if with_generator else "None"
    calls = out["calls"]
    if len(calls) != 3:
        judge_plans_executed(inputs, out, case)
    wanted = "same" if with_generator else "none"
    for k, call in enumerate(calls):
        if call["generator"] != wanted:
            got = {"none": "no generator", "other": "another generator", "same": "rollout's generator"}[
                call["generator"]
            ]
            raise Failure(
                f"generate_sample call {k} got {got} ({case_text(case)}): pass rollout's own generator on, "
                "so that a seeded rollout is reproducible."
            )
    if out["seeds"] != [seed]:
        raise Failure(
            f"env.reset was called with seeds {out['seeds']}; expected one call, with the seed rollout was given "
            f"({seed}) ({case_text(case)})."
        )


CHECKS = (
    windows_alignment,
    windows_inside_episode,
    normalizer_range,
    rollout_plans,
    rollout_first_condition,
    rollout_generator,
    rollout_history,
)
