"""``python -m autograder.gradescope --out DIR``: build the Gradescope autograder zip."""

import sys

from .bundle import main

sys.exit(main())
