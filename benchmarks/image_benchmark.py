"""The reference image generator against a diffusers baseline, on the same digits, batch and schedule.

    .venv/bin/python benchmarks/image_benchmark.py     # about 8 minutes on 2 cores

Reference: ``ImageGenerator("digits")`` of ``reference/`` (the kit's ClassConditionalUNet2D, its
``compute_loss_on_batch`` and ``generate_sample``). Baseline: diffusers' ``UNet2DModel`` of a similar
parameter count with its class embedding (``num_class_embeds``) as the condition, and
``DDPMScheduler`` with the same betas and sigma_t^2 = beta_t (``variance_type="fixed_large"``), driven
by the loop a diffusers pipeline uses: the conditional and the unconditional halves in one batch.

It reports, in one run:
1. the median time of one training step (loss, backward, AdamW, EMA update) on the same batch;
2. the time of full sampling (T steps, guidance w, the same number of images);
3. the quality each reaches after the same wall-clock training time (CAS and Fréchet distance of the
   kit's evaluator, next to the real-vs-real floor).
Results go to ``out/benchmarks/image_benchmark.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from kit import REFERENCE_DIR  # noqa: E402
from kit.image_quality import DEFAULT_CACHE_DIR, SampleQualityEvaluator  # noqa: E402

sys.path.insert(0, str(REFERENCE_DIR))
from diffusion_models.computer_vision import ImageGenerator, tensor_to_images  # noqa: E402
from diffusion_models.ema import ExponentialMovingAverage  # noqa: E402


# ---------------------------------------------------------------------------------------- the baseline
class DiffusersBaseline:
    """UNet2DModel + DDPMScheduler, trained and sampled as a diffusers pipeline would (CFG batched)."""

    def __init__(self, num_classes: int, image_size: int, betas: torch.Tensor, p_uncond: float) -> None:
        from diffusers import DDPMScheduler, UNet2DModel

        self.net = UNet2DModel(
            sample_size=image_size,
            in_channels=1,
            out_channels=1,
            layers_per_block=1,
            block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            num_class_embeds=num_classes + 1,  # row 0 is the null token, as in the kit
            norm_num_groups=8,
            attention_head_dim=16,
        )
        self.scheduler = DDPMScheduler(
            num_train_timesteps=len(betas),
            trained_betas=betas.cpu().numpy(),
            variance_type="fixed_large",  # sigma_t^2 = beta_t, Algorithm 2 as in the spec
            clip_sample=False,
            prediction_type="epsilon",
        )
        self.p_uncond = p_uncond
        self.ema = ExponentialMovingAverage(self.net)

    def loss(self, x0: torch.Tensor, cond: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b = x0.shape[0]
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        drop = torch.rand(b, generator=generator) < self.p_uncond
        cond = torch.where(drop, torch.zeros_like(cond), cond)
        x_t = self.scheduler.add_noise(x0, eps, t)
        return F.mse_loss(self.net(x_t, t, class_labels=cond).sample, eps)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, guidance: float, generator: torch.Generator) -> torch.Tensor:
        b = cond.shape[0]
        size = self.net.config.sample_size
        self.scheduler.set_timesteps(self.scheduler.config.num_train_timesteps)
        x = torch.randn((b, 1, size, size), generator=generator)
        labels = torch.cat([cond, torch.zeros_like(cond)])  # (2B,) conditional, then null
        self.net.eval()
        with self.ema.applied_to(self.net):
            for t in self.scheduler.timesteps:
                eps_cond, eps_null = self.net(torch.cat([x, x]), t, class_labels=labels).sample.chunk(2)
                eps = (1.0 + guidance) * eps_cond - guidance * eps_null  # CFG eq. 6
                x = self.scheduler.step(eps, t, x, generator=generator).prev_sample
        self.net.train()
        return x


# ---------------------------------------------------------------------------------------- measurements
def _parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def make_trainer(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    net: torch.nn.Module,
    ema: ExponentialMovingAverage,
) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """step(x0, cond) -> loss: AdamW with 100 warm-up steps to lr 1e-3, then the EMA update; the same for both."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-6)
    count = [0]

    def step(x0: torch.Tensor, cond: torch.Tensor) -> float:
        for group in optimizer.param_groups:
            group["lr"] = 1e-3 * min(1.0, (count[0] + 1) / 100)
        loss = loss_fn(x0, cond)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ema.update(net)
        count[0] += 1
        return loss.item()

    return step


def time_training_step(step: Callable[[torch.Tensor, torch.Tensor], float], batch, repeats: int) -> float:
    """Median seconds of one step on a fixed batch, after 3 warm-up steps."""
    for _ in range(3):
        step(*batch)
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        step(*batch)
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def train_for(
    seconds: float, step: Callable[[torch.Tensor, torch.Tensor], float], loader
) -> tuple[int, float]:
    """Train on loader's batches until ``seconds`` of wall time have passed; returns (steps, last loss)."""
    steps, loss, end = 0, float("nan"), time.perf_counter() + seconds
    while True:
        for x0, cond in loader:
            loss = step(x0, cond)
            steps += 1
            if time.perf_counter() >= end:
                return steps, loss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--denoising-steps", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-seconds", type=float, default=100.0, help="training budget of each model")
    parser.add_argument("--samples-per-class", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=2.0, help="w of the timed sampling run")
    parser.add_argument("--step-repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "benchmarks")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    reference = ImageGenerator(
        "digits", denoising_steps=args.denoising_steps, device="cpu", batch_size=args.batch_size
    )
    policy = reference.policy
    baseline = DiffusersBaseline(len(reference.class_ids), 8, policy.noise_scheduler.betas, policy.p_uncond)
    x0, cond = next(iter(reference.data_loader))  # the same batch for both
    gen_ref, gen_base = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    ref_net = policy.noise_pred_net
    results: dict = {
        "threads": torch.get_num_threads(),
        "denoising_steps": args.denoising_steps,
        "batch_size": args.batch_size,
        "parameters": {"reference": _parameters(ref_net), "diffusers": _parameters(baseline.net)},
    }
    print(
        f"parameters: reference {results['parameters']['reference']:,}, diffusers {results['parameters']['diffusers']:,}"
    )

    # 1. one training step on the same batch
    ref_step = make_trainer(
        lambda x, c: policy.compute_loss_on_batch(x, c, generator=gen_ref), ref_net, policy.ema
    )
    base_step = make_trainer(lambda x, c: baseline.loss(x, c, gen_base), baseline.net, baseline.ema)
    step_ref = time_training_step(ref_step, (x0, cond), args.step_repeats)
    step_base = time_training_step(base_step, (x0, cond), args.step_repeats)
    results["train_step_seconds"] = {
        "reference": step_ref,
        "diffusers": step_base,
        "ratio": step_ref / step_base,
    }
    print(
        f"training step: reference {step_ref * 1e3:.1f} ms, diffusers {step_base * 1e3:.1f} ms, "
        f"ratio {step_ref / step_base:.2f}"
    )

    # 2. full sampling of the same number of images, T steps with guidance
    labels = reference.generated_labels(args.samples_per_class)
    cond_all = torch.tensor([reference.condition_of(int(k)) for k in labels])  # (N,) in 1..K
    tick = time.perf_counter()
    reference.generate_images(
        args.guidance, args.samples_per_class, generator=torch.Generator().manual_seed(2)
    )
    sample_ref = time.perf_counter() - tick
    tick = time.perf_counter()
    baseline.sample(cond_all, args.guidance, torch.Generator().manual_seed(2))
    sample_base = time.perf_counter() - tick
    results["sampling_seconds"] = {
        "images": len(labels),
        "reference": sample_ref,
        "diffusers": sample_base,
        "ratio": sample_ref / sample_base,
    }
    print(
        f"sampling {len(labels)} images x {args.denoising_steps} steps: reference {sample_ref:.1f} s, "
        f"diffusers {sample_base:.1f} s, ratio {sample_ref / sample_base:.2f}"
    )

    # 3. quality after the same wall-clock training time, on the same loader (both continue from part 1)
    steps_ref, loss_ref = train_for(args.train_seconds, ref_step, reference.data_loader)
    steps_base, loss_base = train_for(args.train_seconds, base_step, reference.data_loader)
    data = reference.data
    evaluator = SampleQualityEvaluator(data.images, data.labels, DEFAULT_CACHE_DIR)
    per_class = min(args.samples_per_class, evaluator.max_samples_per_class())
    floor = evaluator.frechet_floor(per_class)
    quality = {"frechet_floor": floor, "train_seconds": args.train_seconds, "samples_per_class": per_class}
    quality_labels = reference.generated_labels(per_class)
    quality_cond = torch.tensor([reference.condition_of(int(k)) for k in quality_labels])  # (N,) in 1..K
    for name, steps, loss in (("reference", steps_ref, loss_ref), ("diffusers", steps_base, loss_base)):
        rows = []
        for w in (0.0, args.guidance):
            rng = torch.Generator().manual_seed(3)
            if name == "reference":
                images = reference.generate_images(w, per_class, generator=rng)
            else:
                images = tensor_to_images(baseline.sample(quality_cond, w, rng))
            q = evaluator.evaluate(images, quality_labels)
            rows.append(
                {"guidance": w, "cas": q.cas, "frechet": q.frechet, "frechet_over_floor": q.frechet / floor}
            )
            print(
                f"{name:>9} after {args.train_seconds:.0f} s ({steps} steps, loss {loss:.4f}), w = {w:g}: "
                f"CAS {q.cas:.3f}, Fréchet {q.frechet:.3f} ({q.frechet / floor:.1f}x floor)"
            )
        quality[name] = {"steps": steps, "final_loss": loss, "settings": rows}
    results["equal_time_quality"] = quality

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "image_benchmark.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
