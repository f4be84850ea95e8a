"""The Gradescope deployment, in one folder.

bundle.py        ``make gradescope``: the autograder zip (``python -m autograder.gradescope --out DIR``)
setup.sh         Gradescope runs it once, to build the image: Python >= 3.11, a venv, the packages
run_autograder   Gradescope runs it for every submission: results/results.json
visibility.py    what results.json shows students, and when (the policy is chosen in
                 ``autograder/policy.py``: ``GRADESCOPE_VISIBILITY``)
local.py         ``make gradescope-test SUBMISSION=path``: the zip set up and run in a local
                 stand-in for ``/autograder``, as Gradescope would
"""

from .bundle import build, requirements

__all__ = ["build", "requirements"]
