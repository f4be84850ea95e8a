"""Judging arrays with numpy alone: tolerances, statistics bounds, and feedback that teaches.

Tolerances, stated up front. The student's code works in float32 (float64 is fine too); the judge
works in float64. An element passes when |actual - expected| <= RTOL * (scale + |expected|) + ATOL,
where ``scale`` is the size of the terms that went into it (so cancellation is not held against
anyone). RTOL = 1e-5 is about 80 float32 ulps: rounding never comes near it, and the mistakes the
checks look for (a shifted index, a missing square root) are orders of magnitude larger.

Statistical checks use bounds 6 standard deviations wide (the chance that a correct answer falls
outside one is about 2e-9), on enough draws that the misconceptions they look for fall far outside.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RTOL = 1e-5
ATOL = 1e-7
MATCH_RTOL = 3e-4  # how close a wrong answer must be to a misconception's values to be named after it
Z = 6.0  # width of statistical bounds in standard deviations
ULP = 2.0**-23  # one float32 ulp of 1


def cond(small: float) -> float:
    """Extra scale for a term divided by a small difference such as 1 - alpha_bar_t or beta_t.

    The schedule's float32 entries are known to about an ulp of 1, so such a difference is known only
    to a relative 2 ulps / small (1e-3 for 1 - alpha_bar_0 = 1e-4): two correct programs (betas[t]
    against 1 - alphas[t]) differ that much, and the tolerance must allow it.
    """
    return 2.0 * ULP / RTOL / max(float(small), ULP)


class Failure(Exception):
    """A check's verdict against the student's code; ``message`` is the feedback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer: its name, what to do instead, and the values it would give."""

    name: str
    explanation: str
    values: np.ndarray | float | None = None

    def text(self) -> str:
        return f"This matches a known mistake, {self.name}: {self.explanation}"


# ------------------------------------------------------------------------------------ formatting
def fmt(value: Any) -> str:
    """Numbers with 4 significant digits, so feedback reads the same on every run and machine."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        shown = ", ".join(fmt(v) for v in flat[:6])
        return f"[{shown}{', ...' if flat.size > 6 else ''}]"
    return str(value)


def shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def case_text(case: dict[str, Any]) -> str:
    """'T=10, t=3, x_t of shape (4, 2)' from a dict of a check's inputs."""
    parts = []
    for name, value in case.items():
        if isinstance(value, np.ndarray) and value.ndim > 0:
            parts.append(f"{name} of shape {shape_text(value.shape)}")
        elif isinstance(value, tuple):
            parts.append(f"{name}={shape_text(value)}")
        else:
            parts.append(f"{name}={fmt(value)}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------ arrays
def array(value: Any, what: str) -> np.ndarray:
    """The float64 copy of an output, or a Failure when it is not a numeric array."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise Failure(f"{what} should be a tensor of numbers, got {type(value).__name__}")
    return value.astype(np.float64)


def check_shape(actual: np.ndarray, expected: Sequence[int], what: str, case: dict[str, Any]) -> None:
    if tuple(actual.shape) != tuple(expected):
        raise Failure(
            f"{what} has shape {shape_text(actual.shape)} but should have shape {shape_text(expected)} "
            f"({case_text(case)})."
        )


def check_finite(actual: np.ndarray, what: str, case: dict[str, Any]) -> None:
    bad = ~np.isfinite(actual)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Failure(
            f"{what} holds {int(bad.sum())} NaN or infinite values, the first at index {index} "
            f"({case_text(case)}): look for a division by zero or a square root of a negative number."
        )


def close(actual: np.ndarray, expected: np.ndarray, scale: Any = 0.0, rtol: float = RTOL) -> np.ndarray:
    """Elementwise verdict of the module's tolerance rule."""
    return np.abs(actual - expected) <= rtol * (np.abs(scale) + np.abs(expected)) + ATOL


def _relative_error(actual: np.ndarray, values: np.ndarray, scale: Any) -> float:
    return float(np.max(np.abs(actual - values) / (np.abs(scale) + np.abs(values) + ATOL / RTOL)))


def matching(
    actual: np.ndarray, expected: np.ndarray, misconceptions: Iterable[Misconception], scale: Any = 0.0
) -> Misconception | None:
    """The first misconception that explains the wrong answer: its values are within MATCH_RTOL of the
    actual output, at least ten times closer than the right answer is."""
    off = _relative_error(actual, expected, scale)
    for candidate in misconceptions:
        if candidate.values is None:
            continue
        values = np.broadcast_to(np.asarray(candidate.values, dtype=np.float64), expected.shape)
        if np.shape(actual) != values.shape or not close(actual, values, scale, MATCH_RTOL).all():
            continue
        if _relative_error(actual, values, scale) <= 0.1 * off:
            return candidate
    return None


def assert_close(
    actual: Any,
    expected: np.ndarray,
    *,
    what: str,
    case: dict[str, Any],
    scale: Any = 0.0,
    rtol: float = RTOL,
    misconceptions: Iterable[Misconception] = (),
) -> None:
    """Fail with the worst element, the error against the tolerance, and a named misconception if one fits."""
    actual = array(actual, what)
    expected = np.asarray(expected, dtype=np.float64)
    check_shape(actual, expected.shape, what, case)
    check_finite(actual, what, case)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), expected.shape)
    ok = close(actual, expected, scale, rtol)
    if ok.all():
        return
    error = np.abs(actual - expected)
    worst = np.unravel_index(int(np.argmax(np.where(ok, -1.0, error))), expected.shape)
    tolerance = rtol * (scale[worst] + abs(expected[worst])) + ATOL
    lines = [
        f"{what} is wrong for {case_text(case)}.",
        f"  At index {tuple(int(i) for i in worst)} of shape {shape_text(expected.shape)}: expected "
        f"{fmt(expected[worst])}, got {fmt(actual[worst])} "
        f"(error {fmt(error[worst])}, tolerance {fmt(tolerance)}); {int((~ok).sum())} of {ok.size} elements are off.",
    ]
    named = matching(actual, expected, misconceptions, scale)
    if named is not None:
        lines.append("  " + named.text())
    raise Failure("\n".join(lines))


# ------------------------------------------------------------------------------------ statistics
def mean_bound(n: int, sd: float = 1.0) -> float:
    """|sample mean - true mean| stays below this for n iid draws of standard deviation sd (6 sigma)."""
    return Z * sd / math.sqrt(n)


def variance_ratio_bounds(n: int) -> tuple[float, float]:
    """Bounds on s^2 / sigma^2 for n iid normal draws: chi-square(n - 1) / (n - 1), Wilson-Hilferty, 6 sigma."""
    k = n - 1
    if k < 1:
        return 0.0, math.inf
    spread = Z * math.sqrt(2.0 / (9.0 * k))
    low = (1.0 - 2.0 / (9.0 * k) - spread) ** 3
    high = (1.0 - 2.0 / (9.0 * k) + spread) ** 3
    return max(low, 0.0), high


def binomial_bounds(n: int, p: float) -> tuple[float, float]:
    """Bounds on the count of successes in n trials of probability p (6 sigma, plus one for discreteness)."""
    sd = math.sqrt(n * p * (1.0 - p))
    return n * p - Z * sd - 1.0, n * p + Z * sd + 1.0


# ------------------------------------------------------------------------------------ the schedule
def stand_in_schedule(num_steps: int, beta_start: float, beta_end: float) -> dict[str, np.ndarray]:
    """A schedule for probing every task but 2.1.1a, in float64: betas rise from beta_start to beta_end along
    a quarter sine wave (not the spec's straight line, so no probe shows task 2.1.1a's answer; steep at the
    start, so neighbouring betas there differ even more than on the line), alphas = 1 - betas and alpha_bars
    their running product, as DDPM defines them. alpha_bars ends below the spec's (about 3e-6 at the defaults)."""
    ramp = np.sin(0.5 * np.pi * np.arange(num_steps) / max(num_steps - 1, 1))
    betas = beta_start + (beta_end - beta_start) * ramp
    alphas = 1.0 - betas
    return {"betas": betas, "alphas": alphas, "alpha_bars": np.exp(np.cumsum(np.log(alphas)))}


def schedule_for_probe(schedule: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float32 arrays a probe installs in the student's scheduler (float32, as the spec stores them)."""
    return {name: values.astype(np.float32) for name, values in schedule.items()}


def as_used(schedule32: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float64 copies of the float32 arrays the student's code actually saw, for the judge's own maths."""
    return {name: values.astype(np.float64) for name, values in schedule32.items()}


# ------------------------------------------------------------------------------------ stand-in twin
def network_output(
    net: dict[str, Any], x_t: np.ndarray, t: np.ndarray, cond: np.ndarray, labels: bool
) -> np.ndarray:
    """float64 twin of ``standins.RecordingNetwork``: tanh(gain * x_t + phase[t]) + feature(cond), w = 1."""
    x_t = np.asarray(x_t, dtype=np.float64)
    batch = x_t.shape[0]
    table = np.asarray(net["table"], dtype=np.float64)
    feature = table[np.asarray(cond, dtype=np.int64)] if labels else np.asarray(cond, np.float64) @ table
    phase = np.asarray(net["phase"], dtype=np.float64)[np.asarray(t, dtype=np.int64)]
    phase = phase.reshape(batch, *([1] * (x_t.ndim - 1)))
    return np.tanh(net["gain"] * x_t + phase) + feature.reshape(x_t.shape)


# ------------------------------------------------------------------------------------ stand-in normalizer twin
def scaled(values: np.ndarray, shift: Any, gain: Any, forward: bool) -> np.ndarray:
    """The stand-in normalizer's map in float64: gain * (x - shift), or its inverse x / gain + shift."""
    shift, gain = np.asarray(shift, dtype=np.float64), np.asarray(gain, dtype=np.float64)
    return gain * (values - shift) if forward else values / gain + shift
