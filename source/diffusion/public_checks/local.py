"""Running probes in the student's own process: the public checks from the notebook and from pytest."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .core import StudentError
from .probe import PACKAGE, ProbeContext, describe_exception, run_probe


class LocalSession:
    """A session on the ``diffusion_models`` that ``import`` finds (the student's own package)."""

    def __init__(self, device: str | None = None) -> None:
        import torch

        self.package = importlib.import_module(PACKAGE)
        self.package_dir = Path(self.package.__file__).parent
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.ctx = ProbeContext(self.package, self.device)

    def call(self, probe: str, **inputs: Any) -> dict[str, Any]:
        try:
            return run_probe(self.ctx, probe, inputs)
        except Exception as err:
            problem = describe_exception(err, self.package_dir)
            raise StudentError(problem["kind"], problem["message"], problem["where"]) from err
