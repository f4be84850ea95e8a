"""Checks of the reference package that need a CUDA GPU: run where one is available.

    .venv/bin/python scripts/device_check.py

It checks that (1) the scheduler and the model give the same numbers on CUDA as on the CPU when
driven by a CPU torch.Generator, (2) a bad class label on a CUDA model is a ValueError raised before
any kernel, leaving the CUDA context usable (no device-side assert), (3) a checkpoint saved on CUDA
loads on the CPU and the other way round, and (4) a few training steps run on CUDA. Prints one line
per check and exits non-zero on the first failure.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))

from diffusion_models import DiffusionModel, NoiseScheduler  # noqa: E402
from diffusion_models.networks import ClassConditionalUNet2D  # noqa: E402


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def close(a: torch.Tensor, b: torch.Tensor, what: str, atol: float = 1e-4) -> None:
    err = (a.detach().cpu().double() - b.detach().cpu().double()).abs().max().item()
    status = "ok" if err <= atol else "FAIL"
    print(f"{status:4} {what}: max |cpu - cuda| = {err:.2e} (tolerance {atol:.0e})")
    if err > atol:
        sys.exit(1)


def small_model(device: str, seed: int = 0) -> DiffusionModel:
    torch.manual_seed(seed)
    net = ClassConditionalUNet2D(1, condition_dim=11, base_channels=16)
    return DiffusionModel((1, 16, 16), 11, sequential=False, denoising_steps=50, device=device, network=net)


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA GPU visible: nothing to check")
        return 2
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    # TF32 would make CUDA convolutions differ from the CPU by ~1e-3; the kit leaves torch's defaults.
    cpu_s, gpu_s = NoiseScheduler(1000, device="cpu"), NoiseScheduler(1000, device="cuda")
    close(cpu_s.alpha_bars, gpu_s.alpha_bars, "alpha_bars", 1e-6)
    x0, eps = torch.randn(8, 3, 16, 16, generator=gen(0)), torch.randn(8, 3, 16, 16, generator=gen(1))
    t = torch.randint(0, 1000, (8,), generator=gen(2))
    close(cpu_s.add_noise(x0, eps, t), gpu_s.add_noise(x0.cuda(), eps.cuda(), t.cuda()), "add_noise", 1e-5)
    for threshold in (False, True):
        for step in (0, 1, 500, 999):
            a = cpu_s.denoise_step(eps, step, x0, threshold=threshold, generator=gen(3))
            b = gpu_s.denoise_step(eps.cuda(), step, x0.cuda(), threshold=threshold, generator=gen(3))
            close(a, b, f"denoise_step t={step} threshold={threshold}", 1e-5)

    cpu_m, gpu_m = small_model("cpu"), small_model("cuda")
    labels = torch.arange(1, 11)
    close(
        cpu_m.generate_sample(labels, 2.0, generator=gen(4)),
        gpu_m.generate_sample(labels.cuda(), 2.0, generator=gen(4)),
        "generate_sample w=2 (CPU generator)",
        1e-2,
    )
    x = torch.rand(10, 1, 16, 16) * 2 - 1
    close(
        cpu_m.compute_loss_on_batch(x, labels, gen(5)),
        gpu_m.compute_loss_on_batch(x.cuda(), labels.cuda(), gen(5)),
        "compute_loss_on_batch",
        1e-3,
    )

    try:
        gpu_m.generate_sample(torch.tensor([3, 11], device="cuda"))
        print("FAIL label 11 with condition_dim 11 was accepted")
        return 1
    except ValueError as err:
        print(f"ok   label out of range on CUDA: ValueError: {err}")
    torch.cuda.synchronize()  # a device-side assert would surface here
    gpu_m.generate_sample(labels.cuda(), generator=gen(6))
    print("ok   CUDA context still usable after the rejected label")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.pt"
        start = time.perf_counter()
        loader = [(x.cuda(), labels.cuda())] * 20
        gpu_m.train(loader, epochs=1, progress=False)
        print(f"ok   20 training steps on CUDA in {time.perf_counter() - start:.2f} s")
        gpu_m.save_weights(path)
        on_cpu = small_model("cpu", seed=1)
        on_cpu.load_weights(path)
        close(
            on_cpu.generate_sample(labels, 1.0, generator=gen(7)),
            gpu_m.generate_sample(labels.cuda(), 1.0, generator=gen(7)),
            "checkpoint saved on CUDA, loaded on CPU",
            1e-2,
        )
        on_cpu.save_weights(path)
        back = small_model("cuda", seed=2)
        back.load_weights(path)
        close(
            on_cpu.generate_sample(labels, 1.0, generator=gen(8)),
            back.generate_sample(labels.cuda(), 1.0, generator=gen(8)),
            "checkpoint saved on CPU, loaded on CUDA",
            1e-2,
        )
    print("all device checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
