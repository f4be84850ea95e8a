"""Part 2.4 end to end: demonstrations -> diffusion policy and MSE baseline -> 50 seeded rollouts each.

    python -m kit.robot_demo                 # make demo-robot: writes out/robot/
    python -m kit.robot_demo --epochs 5 --episodes 5 --out /tmp/robot   # a smoke run

Writes ``demonstrations.zarr`` (the replay buffer, read back before training), ``metrics.json``
(``success_rate`` and more for ``diffusion`` and ``mse_baseline``), ``rollouts.png`` (the
demonstrations and both policies' rollouts over the map) and ``losses.png``. With ``--control`` it
also trains the MSE baseline on single-mode demonstrations (all passing left), which shows that the
baseline fails because the data has two modes, not because the network or its training is too weak.
Uses the reference solution (reference/), so run ``make release`` after editing solutions/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import REFERENCE_DIR, REPO_ROOT

sys.path.insert(0, str(REFERENCE_DIR))

from diffusion_models.robotics import (  # noqa: E402
    EVAL_SEED_OFFSET,
    LEFT,
    PlanarReachEnv,
    PolicyConfig,
    build_policy,
    generate_demonstrations,
    load_replay_buffer,
    outcome,
    passing_side,
    plot_trajectories,
    policy_dataset,
    rollout_episodes,
    save_replay_buffer,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "robot")
    parser.add_argument("--demos", type=int, default=200, help="demonstrations from the scripted expert")
    parser.add_argument("--epochs", type=int, default=50, help="training epochs, the same for both policies")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--episodes", type=int, default=50, help="seeded evaluation episodes per policy")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="step limit per episode (default: the env's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads; 1 because this network's small kernels gain little from 2, and on a shared "
        "2-core machine 2 threads slow down many-fold once anything else runs",
    )
    parser.add_argument(
        "--policies", default="diffusion,mse_baseline", help="comma-separated subset to train"
    )
    parser.add_argument("--control", action="store_true", help="also train the baseline on one mode only")
    return parser.parse_args(argv)


def train(name: str, buffer, config: PolicyConfig, args, device, regression: bool):
    """Train one policy on ``buffer``; returns (model, state_normalizer, action_normalizer, losses, seconds)."""
    dataset, state_normalizer, action_normalizer = policy_dataset(
        buffer, config.state_horizon, config.action_horizon
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=False,
        generator=torch.Generator().manual_seed(args.seed),
    )
    torch.manual_seed(args.seed)  # the same initial weights for both policies
    model = build_policy(
        buffer.states.shape[1], buffer.actions.shape[1], config, device, regression=regression
    )
    start = time.perf_counter()
    losses = model.train(
        loader,
        epochs=args.epochs,
        lr=args.lr,
        warmup_steps=min(200, args.epochs * len(loader) // 10 + 1),
        generator=torch.Generator().manual_seed(args.seed + 1),
        progress=False,
    )
    seconds = time.perf_counter() - start
    print(
        f"{name}: {args.epochs} epochs x {len(loader)} batches in {seconds / 60:.1f} min, loss {losses[-1]:.4f}"
    )
    return model, state_normalizer, action_normalizer, losses, seconds


def evaluate(name: str, model, state_normalizer, action_normalizer, config: PolicyConfig, args) -> dict:
    """Roll the policy out on ``args.episodes`` seeded episodes; returns metrics and trajectories."""
    env = PlanarReachEnv()
    start = time.perf_counter()
    max_steps = args.max_steps or env.config.max_episode_steps
    runs = rollout_episodes(env, model, state_normalizer, action_normalizer, config, args.episodes, max_steps)
    seconds = time.perf_counter() - start
    outcomes = [outcome(run.info) for run in runs]
    sides = [passing_side(run.states[:, :2]) for run in runs]
    succeeded = [run for run in runs if run.success]
    metrics = {
        "success_rate": float(np.mean([run.success for run in runs])),
        "collision_rate": float(np.mean([run.collision for run in runs])),
        "timeout_rate": outcomes.count("timeout") / len(runs),
        "passed_left": sides.count(-1),
        "passed_right": sides.count(1),
        "never_passed_obstacle": sides.count(0),
        "mean_steps_to_success": float(np.mean([r.num_steps for r in succeeded])) if succeeded else None,
        "first_plan_lateral_offset": first_plan_offsets(runs),
        "episodes": len(runs),
        "eval_seconds": round(seconds, 1),
    }
    print(
        f"{name}: success {metrics['success_rate']:.2f}, collision {metrics['collision_rate']:.2f}, "
        f"left/right/neither {metrics['passed_left']}/{metrics['passed_right']}/"
        f"{metrics['never_passed_obstacle']} ({seconds:.0f} s)"
    )
    return {"metrics": metrics, "trajectories": [run.states[:, :2] for run in runs], "outcomes": outcomes}


def first_plan_offsets(runs) -> dict:
    """How far sideways the first plan's last action points, |x_H - x_0|: the expert's two modes go
    about 0.25 to either side; the average of the modes goes straight up (offset near 0)."""
    offsets = np.array([abs(run.plans[0][-1, 0] - run.states[0, 0]) for run in runs if run.plans])
    return {"mean": float(offsets.mean()), "min": float(offsets.min()), "max": float(offsets.max())}


def save_figures(out: Path, buffer, results: dict, losses: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("demonstrations", None)] + list(results.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9))
    for ax, (name, result) in zip(axes, panels, strict=True):
        if result is None:
            trajectories = [buffer.episode(i)[0] for i in range(buffer.num_episodes)]
            plot_trajectories(ax, trajectories, title=f"{buffer.num_episodes} expert demonstrations")
        else:
            rate = result["metrics"]["success_rate"]
            plot_trajectories(
                ax, result["trajectories"], result["outcomes"], title=f"{name}: success {rate:.2f}"
            )
    fig.text(0.5, 0.01, "blue: success   red: collision   orange: timeout", ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(out / "rollouts.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, curve in losses.items():
        ax.semilogy(np.arange(1, len(curve) + 1), curve, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (diffusion: noise MSE,\nbaselines: action MSE)", fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "losses.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = None if args.device == "auto" else args.device
    args.out.mkdir(parents=True, exist_ok=True)
    config = PolicyConfig()

    demos_path = save_replay_buffer(
        generate_demonstrations(args.demos, seed=args.seed), args.out / "demonstrations.zarr"
    )
    buffer = load_replay_buffer(demos_path)
    sides = [passing_side(buffer.episode(i)[0]) for i in range(buffer.num_episodes)]
    print(
        f"{buffer.num_episodes} demonstrations ({len(buffer.states)} steps): {sides.count(-1)} left, "
        f"{sides.count(1)} right -> {demos_path}"
    )

    runs = [("diffusion", buffer, False), ("mse_baseline", buffer, True)]
    runs = [run for run in runs if run[0] in args.policies.split(",")]
    if args.control:
        one_mode = generate_demonstrations(args.demos, seed=args.seed, side=LEFT)
        runs.append(("mse_baseline_one_mode", one_mode, True))
    results, losses, report = {}, {}, {}
    for name, data, regression in runs:
        model, state_norm, action_norm, curve, seconds = train(name, data, config, args, device, regression)
        results[name] = evaluate(name, model, state_norm, action_norm, config, args)
        losses[name] = curve
        report[name] = {
            **results[name]["metrics"],
            "train_minutes": round(seconds / 60, 2),
            "final_loss": curve[-1],
        }
    report["config"] = {
        **asdict(config),
        "demos": args.demos,
        "demo_steps": len(buffer.states),
        "demo_sides": {"left": sides.count(-1), "right": sides.count(1)},
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "eval_seeds": [EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + args.episodes - 1],
        "torch_threads": torch.get_num_threads(),
        "device": str(model.device),
    }
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    save_figures(args.out, buffer, results, losses)
    print(f"wrote {args.out / 'metrics.json'}, {args.out / 'rollouts.png'}, {args.out / 'losses.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
