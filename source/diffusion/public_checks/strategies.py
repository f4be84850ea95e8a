"""Hypothesis strategies shared by every check: schedules, shapes, timesteps and seeds.

Strategies draw the small choices (T, the betas, shapes, t, a seed); arrays are then drawn from
``numpy.random.default_rng(seed)``, which keeps examples cheap and the same on every run.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

DEFAULT_SCHEDULE = (1000, 1e-4, 0.02)  # the spec's defaults
seeds = st.integers(min_value=0, max_value=2**31 - 1)


@st.composite
def schedules(draw: st.DrawFn, min_steps: int = 1, max_steps: int = 1000) -> tuple[int, float, float]:
    """(num_steps, beta_start, beta_end) with 0 < beta_start <= beta_end < 1, from tiny to the spec's T.

    The betas sum to at most 20, so alpha_bars stays above exp(-20), far from float32's underflow.
    """
    num_steps = draw(st.integers(min_steps, max_steps))
    beta_start = draw(st.floats(1e-5, min(0.05, 20.0 / num_steps)))
    beta_end = draw(
        st.floats(beta_start, max(beta_start, min(0.5, beta_start + 0.3, 40.0 / num_steps - beta_start)))
    )
    return num_steps, beta_start, beta_end


@st.composite
def visible_schedules(draw: st.DrawFn, min_steps: int = 2, max_steps: int = 40) -> tuple[int, float, float]:
    """Short schedules whose neighbouring betas differ clearly, so an index off by one shows in the values."""
    num_steps = draw(st.integers(min_steps, max_steps))
    beta_start = draw(st.floats(1e-3, 0.05))
    beta_end = draw(st.floats(beta_start + 0.05, 0.4))
    return num_steps, beta_start, beta_end


@st.composite
def sample_shapes(draw: st.DrawFn, max_dims: int = 3, max_batch: int = 6) -> tuple[int, ...]:
    """(B, *S): a batch and a trailing shape of 0 to max_dims dimensions."""
    batch = draw(st.integers(1, max_batch))
    trailing = draw(st.lists(st.integers(1, 5), min_size=0, max_size=max_dims))
    return (batch, *trailing)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
