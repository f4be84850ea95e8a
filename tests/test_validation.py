"""The host-side input checks shared by every part of the package (diffusion_models.validation)."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion_models.validation import check_positive_int


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(12)])
def test_positive_ints_pass_as_python_ints(value):
    checked = check_positive_int(value, "num_steps")
    assert checked == int(value) and type(checked) is int


@pytest.mark.parametrize("value", [0, -2, True, False, 2.0, "3", None, np.float64(4.0)])
def test_anything_else_names_the_argument(value):
    with pytest.raises(ValueError, match=r"num_episodes must be an int >= 1, got"):
        check_positive_int(value, "num_episodes")
