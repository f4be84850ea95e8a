"""The evaluation command (make demo-robot), as a smoke run: every file it promises, sane metrics."""

from __future__ import annotations

import json

import pytest
import torch

from kit import robot_demo


@pytest.mark.slow
def test_robot_demo_writes_metrics_and_figures(tmp_path):
    threads = torch.get_num_threads()
    try:
        args = ["--out", str(tmp_path), "--demos", "6", "--epochs", "1", "--batch-size", "64"]
        code = robot_demo.main([*args, "--episodes", "2", "--max-steps", "12", "--control"])
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("diffusion", "mse_baseline", "mse_baseline_one_mode"):
        assert 0.0 <= metrics[name]["success_rate"] <= 1.0
        assert metrics[name]["episodes"] == 2
    assert metrics["config"]["action_horizon"] == 16 and metrics["config"]["state_horizon"] == 2
    for name in ("rollouts.png", "losses.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "demonstrations.zarr").is_dir()
