"""``make demo`` in miniature: the whole pipeline with a tiny model, checking what it writes."""

from __future__ import annotations

import json

import pytest

from kit import demo


@pytest.mark.slow
def test_demo_writes_grids_sweep_plot_and_metrics(tmp_path):
    out = tmp_path / "images"
    argv = ["--epochs", "1", "--denoising-steps", "3", "--samples-per-class", "3", "--guidance", "0", "2"]
    argv += [
        "--classifier-epochs",
        "1",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
    ]
    assert demo.main(argv + ["--device", "cpu"]) == 0

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["frechet_floor"] > 0 and metrics["samples_per_class"] == 3
    settings = metrics["settings"]
    assert [(s["guidance"], s["threshold"]) for s in settings] == [
        (0.0, False),
        (2.0, False),
        (0.0, True),
        (2.0, True),
    ]
    for setting in settings:
        assert 0.0 <= setting["cas"] <= 1.0 and setting["frechet"] >= 0.0
        assert set(setting["cas_per_class"]) == {str(k) for k in range(10)}
        assert (out / setting["grid"]).stat().st_size > 0
    for name in ("guidance_sweep.png", "real_digits.png", "digits_ddpm.pt"):
        assert (out / name).stat().st_size > 0
