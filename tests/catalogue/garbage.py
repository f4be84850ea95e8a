"""Constant garbage of the right shapes: every task's TODO replaced by code that returns constants.

Such a submission has the layout of an answer and none of its content, so it must score 0 on every task
it breaks: a property that any constant output has (a shape, inputs left unchanged, no noise at t = 0)
earns points only together with a check that constant output fails (issue 11).
"""

from __future__ import annotations

import re
from pathlib import Path

from kit import RELEASE_DIR

# (file, task, the code that replaces the task's `raise NotImplementedError(...)`, indented like it)
CONSTANTS: tuple[tuple[str, str, str], ...] = (
    (
        "noise_scheduler.py",
        "2.1.1a",
        "self.betas = torch.full((num_steps,), 0.5, device=self.device)\n"
        "self.alphas = torch.full((num_steps,), 0.5, device=self.device)\n"
        "self.alpha_bars = torch.full((num_steps,), 0.5, device=self.device)",
    ),
    ("noise_scheduler.py", "2.1.1b", "return torch.zeros_like(original_samples)"),
    ("noise_scheduler.py", "2.3.2", "mean = torch.zeros_like(x_t)"),
    ("noise_scheduler.py", "2.1.2: mean", "mean = torch.zeros_like(x_t)"),
    ("noise_scheduler.py", "2.1.2: add", "return mean"),
    ("diffusion_model.py", "2.2.2", "return torch.zeros_like(cond)"),
    ("diffusion_model.py", "2.2.1", "return torch.zeros((), device=self.device, requires_grad=True)"),
    (
        "diffusion_model.py",
        "2.2.3",
        "return torch.zeros((cond.shape[0], *self.input_shape), device=self.device)",
    ),
    ("robotics/normalizer.py", "2.4.1: min-max", "return x * 0"),
    ("robotics/normalizer.py", "2.4.1: undo", "return x * 0"),
    (
        "robotics/windows.py",
        "2.4.1: sliding",
        "return (\n"
        "    np.zeros((num_steps, state_horizon * state_dim), dtype=states.dtype),\n"
        "    np.zeros((num_steps, action_horizon, actions.shape[1]), dtype=actions.dtype),\n"
        ")",
    ),
)
BROKEN_TASKS = ("2.1.1a", "2.1.1b", "2.1.2", "2.2.1", "2.2.2", "2.2.3", "2.3.2", "2.4.1")


def garbage(root: Path) -> Path:
    """A folder holding the release's package with every constant above in place of its TODO; returns it."""
    package = root / "diffusion_models"
    for file in {file for file, _, _ in CONSTANTS}:
        target = package / file
        target.parent.mkdir(parents=True, exist_ok=True)
        text = (RELEASE_DIR / "diffusion_models" / file).read_text(encoding="utf-8")
        for _, task, code in (c for c in CONSTANTS if c[0] == file):
            pattern = re.compile(rf'^( *)raise NotImplementedError\("task {re.escape(task)}[^\n]*$', re.M)
            match = pattern.search(text)
            if match is None:
                raise AssertionError(f"no TODO of task {task!r} in {file}: update tests/catalogue/garbage.py")
            indent = match.group(1)
            body = "\n".join(indent + line for line in code.splitlines())
            text = text[: match.start()] + body + text[match.end() :]
        target.write_text(text, encoding="utf-8")
    return root
