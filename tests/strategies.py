"""Hypothesis strategies shared by the kit's tests."""

from __future__ import annotations

from hypothesis import strategies as st

num_steps = st.integers(min_value=2, max_value=60)

# (B, *S): a batch of 1-4 samples with one to three trailing dimensions of size 1-5.
batch_shapes = st.tuples(
    st.integers(min_value=1, max_value=4),
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=3),
).map(lambda b_s: (b_s[0], *b_s[1]))

seeds = st.integers(min_value=0, max_value=2**31 - 1)


@st.composite
def schedules(draw):
    """(num_steps, beta_start, beta_end) with 0 < beta_start <= beta_end < 1."""
    t = draw(num_steps)
    beta_start = draw(st.floats(min_value=1e-5, max_value=1e-2))
    beta_end = draw(st.floats(min_value=beta_start, max_value=0.05))
    return t, beta_start, beta_end
