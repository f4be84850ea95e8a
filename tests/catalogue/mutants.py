"""A catalogue of realistic student bugs and correct rewrites, each a small edit of reference/diffusion_models.

A :class:`Mutant` is a list of exact (file, old, new) replacements. A bug names the task it breaks and
the words its feedback must contain (the misconception it should be recognised as); a rewrite must
score full marks on the tasks it touches. Applying a mutant fails loudly when a snippet no longer
matches the reference exactly once, so the catalogue cannot silently go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NS = "noise_scheduler.py"
DM = "diffusion_model.py"
IG = "computer_vision/image_gen.py"
WIN = "robotics/windows.py"
NORM = "robotics/normalizer.py"
ROLL = "robotics/rollout.py"


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    tasks: tuple[str, ...]  # a bug: the task it breaks; a rewrite: the tasks it touches
    edits: tuple[Edit, ...]
    words: tuple[str, ...] = ()  # a bug: words one failed check of its task must say (case-insensitive)
    rewrite: bool = False


class StaleMutant(AssertionError):
    """A mutant's snippet is not in the reference exactly once: update the catalogue."""


def apply(mutant: Mutant, package: Path) -> None:
    """Apply the mutant's edits to a copy of the package at ``package``."""
    for edit in mutant.edits:
        path = package / edit.file
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            raise StaleMutant(
                f"mutant {mutant.name!r}: the snippet {edit.old!r} occurs {count} times in {edit.file}, not once; "
                "the reference changed, so update tests/catalogue/mutants.py"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def bug(name: str, task: str, file: str, old: str, new: str, *words: str) -> Mutant:
    return Mutant(name, (task,), (Edit(file, old, new),), tuple(w.lower() for w in words))


LINSPACE = """torch.linspace(
            self.beta_start, self.beta_end, num_steps, dtype=torch.float32, device=self.device
        )"""
CUMPROD = "self.alpha_bars = torch.cumprod(self.alphas, dim=0)"
GATHER = "alpha_bar_t = self.alpha_bars.to(original_samples.device)[timesteps.to(original_samples.device)]"
BROADCAST = "alpha_bar_t = alpha_bar_t.view(-1, *([1] * (original_samples.dim() - 1)))  # (B, 1, ..., 1)"
Q_SAMPLE = "return alpha_bar_t.sqrt() * original_samples + (1.0 - alpha_bar_t).sqrt() * noise"
PLAIN_SCHEDULE = "beta_t, alpha_t, alpha_bar_t = self.betas[t], self.alphas[t], self.alpha_bars[t]"
PLAIN_MEAN = "mean = (x_t - beta_t / (1.0 - alpha_bar_t).sqrt() * model_prediction) / alpha_t.sqrt()"
NOISE = "z = randn(x_t.shape, device=x_t.device, dtype=x_t.dtype, generator=generator)"
ADD_Z = "return mean + beta_t.sqrt() * z"
PREV = "alpha_bar_prev = self.alpha_bars[t - 1] if t > 0 else torch.ones_like(alpha_bar_t)"
X0_HAT = "x0_hat = (x_t - (1.0 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()"
CLAMP = "x0_hat = x0_hat.clamp(-1.0, 1.0)"
COEFS = """coef_x0 = alpha_bar_prev.sqrt() * beta_t / (1.0 - alpha_bar_t)
            coef_xt = alpha_t.sqrt() * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t)"""
COIN = "drop = rand((batch_size,), device=cond.device, generator=generator) < self.p_uncond  # (B,)"
DROP_VIEW = "drop = drop.view(batch_size, *([1] * (cond.dim() - 1)))  # (B, 1, ...)"
WHERE = "return torch.where(drop, torch.zeros_like(cond), cond)"
T_DRAW = (
    "t = randint(0, self.noise_scheduler.num_steps, (batch_size,), device=self.device, generator=generator)"
)
EPS_DRAW = "eps = randn(data.shape, device=self.device, generator=generator)"
DROP_CALL = "        cond = self.drop_condition(cond, generator)\n"
PREDICT = "eps_pred = self.noise_pred_net(x_t, t, cond)"
MSE = "return F.mse_loss(eps_pred, eps)"
X_T_DRAW = "x_t = randn((batch_size, *self.input_shape), device=self.device, generator=generator)"
LOOP = "for t in reversed(range(scheduler.num_steps)):"
GUIDE = "eps = (1.0 + w) * eps_cond - w * eps_null  # CFG eq. 6"
STEP = "x_t = scheduler.denoise_step(eps, t, x_t, threshold=threshold, generator=generator)"
NET_CALLS = """                eps_cond = net(x_t, t_batch, cond)
                eps_null = net(x_t, t_batch, null)
"""
SHAPES = """        height, width, channels = self.data.images.shape[1:]
        self.input_shape = (channels, height, width)
        self.condition_dim = len(self.class_ids) + 1  # classes 1..K plus the null token 0
        self.policy = DiffusionModel(
            self.input_shape,
            self.condition_dim,
            sequential=False,
            noise_scheduler=noise_scheduler,
            p_uncond=p_uncond,
            weights_path=weights_path,
            device=device,
            network=network,
        )
"""
INPUT_SHAPE = "self.input_shape = (channels, height, width)"
CONDITION_DIM = "self.condition_dim = len(self.class_ids) + 1  # classes 1..K plus the null token 0"
WINDOWS = """    ends = episode_ends.astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]])  # (E,)
    episode = np.repeat(np.arange(len(ends)), ends - starts)  # (N,) episode of each step
    t = np.arange(num_steps)[:, None]  # (N, 1)
    state_index = t + np.arange(1 - state_horizon, 1)[None, :]  # (N, h): t-h+1 ... t
    state_index = np.maximum(state_index, starts[episode][:, None])  # pad with the episode's first state
    action_index = t + np.arange(action_horizon)[None, :]  # (N, H): t ... t+H-1
    action_index = np.minimum(action_index, ends[episode][:, None] - 1)  # pad with its last action
    conds = states[state_index].reshape(num_steps, state_horizon * state_dim)  # (N, h * S)
    samples = actions[action_index]  # (N, H, A)
"""
ACTION_INDEX = "action_index = t + np.arange(action_horizon)[None, :]  # (N, H): t ... t+H-1"
STATE_PAD = (
    "state_index = np.maximum(state_index, starts[episode][:, None])  # pad with the episode's first state"
)
NORMALIZE = "return 2.0 * (x - minimum) / span - 1.0"
UNNORMALIZE = "return (x + 1.0) / 2.0 * span + minimum"
HISTORY = "cond = state_normalizer.normalize(np.stack(history)).reshape(1, -1)  # (1, h * S)"
PLAN_CALL = "plan = policy.generate_sample(cond, generator=generator)  # (1, H, A) normalized"
UNNORMALIZE_PLAN = (
    "plan = action_normalizer.unnormalize(plan[0].detach().cpu().numpy())  # (H, A) in env units"
)
EXECUTE = "for action in plan[:num_actions]:"
STOP = "            if done:\n                break\n"
ROLLOUT = """    while not done and len(actions) < max_steps:
        cond = state_normalizer.normalize(np.stack(history)).reshape(1, -1)  # (1, h * S)
        cond = torch.as_tensor(cond, dtype=torch.float32)
        plan = policy.generate_sample(cond, generator=generator)  # (1, H, A) normalized
        if tuple(plan.shape[1:2]) != (action_horizon,) or plan.shape[0] != 1:
            raise ValueError(f"plan has shape {tuple(plan.shape)}, not (1, {action_horizon}, A)")
        plan = action_normalizer.unnormalize(plan[0].detach().cpu().numpy())  # (H, A) in env units
        plans.append(plan)
        for action in plan[:num_actions]:
            observation, reward, terminated, truncated, info = env.step(action)
            history.append(observation)
            states.append(observation)
            actions.append(action)
            rewards.append(reward)
            done = terminated or truncated or len(actions) >= max_steps
            if done:
                break
"""

BUGS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- 2.1.1a
    bug(
        "cumsum",
        "2.1.1a",
        NS,
        CUMPROD,
        "self.alpha_bars = torch.cumsum(self.alphas, dim=0)",
        "cumsum instead of cumprod",
    ),
    bug(
        "alphas-are-betas",
        "2.1.1a",
        NS,
        "self.alphas = 1.0 - self.betas",
        "self.alphas = self.betas.clone()",
        "alphas = betas",
    ),
    bug(
        "schedule-one-step-late",
        "2.1.1a",
        NS,
        LINSPACE,
        "torch.linspace(self.beta_start, self.beta_end, num_steps + 1, dtype=torch.float32, device=self.device)[1:]",
        "one step late",
    ),
    bug(
        "exclusive-cumprod",
        "2.1.1a",
        NS,
        CUMPROD,
        "self.alpha_bars = torch.cat([torch.ones_like(self.alphas[:1]), torch.cumprod(self.alphas, dim=0)[:-1]])",
        "exclusive product",
    ),
    bug(
        "float64-schedule",
        "2.1.1a",
        NS,
        LINSPACE,
        LINSPACE.replace("torch.float32", "torch.float64"),
        "float32",
    ),
    bug(
        "betas-backwards",
        "2.1.1a",
        NS,
        LINSPACE,
        LINSPACE.replace("self.beta_start, self.beta_end", "self.beta_end, self.beta_start"),
        "backwards",
    ),
    # ---------------------------------------------------------------- 2.1.1b
    bug(
        "add-noise-t-minus-1",
        "2.1.1b",
        NS,
        GATHER,
        GATHER.replace("original_samples.device)]", "original_samples.device) - 1]"),
        "one-indexed timesteps",
    ),
    bug(
        "add-noise-no-sqrt",
        "2.1.1b",
        NS,
        Q_SAMPLE,
        "return alpha_bar_t * original_samples + (1.0 - alpha_bar_t) * noise",
        "no square roots",
    ),
    bug(
        "add-noise-alphas",
        "2.1.1b",
        NS,
        GATHER,
        GATHER.replace("self.alpha_bars", "self.alphas"),
        "alpha_t instead of alpha_bar_t",
    ),
    bug(
        "add-noise-not-broadcast",
        "2.1.1b",
        NS,
        BROADCAST,
        "alpha_bar_t = alpha_bar_t.view(-1, 1)",
        "broadcast",
    ),
    bug(
        "add-noise-one-minus-sqrt",
        "2.1.1b",
        NS,
        Q_SAMPLE,
        "return alpha_bar_t.sqrt() * original_samples + (1.0 - alpha_bar_t.sqrt()) * noise",
        "1 - sqrt(alpha_bar_t)",
    ),
    bug(
        "add-noise-one-timestep",
        "2.1.1b",
        NS,
        GATHER,
        GATHER.replace(
            "[timesteps.to(original_samples.device)]",
            "[timesteps.to(original_samples.device)[:1].expand(len(timesteps))]",
        ),
        "one timestep for the whole batch",
    ),
    # ---------------------------------------------------------------- 2.1.2
    bug("sigma-beta", "2.1.2", NS, ADD_Z, "return mean + beta_t * z", "beta_t instead of sqrt(beta_t)"),
    bug(
        "sigma-beta-tilde",
        "2.1.2",
        NS,
        ADD_Z,
        "return mean + ((1.0 - self.alpha_bars[t - 1]) / (1.0 - self.alpha_bars[t]) * self.betas[t]).sqrt() * z",
        "beta-tilde",
    ),
    bug(
        "noise-at-t0",
        "2.1.2",
        NS,
        "        if t == 0:\n            return mean\n",
        "",
        "noise added at t = 0",
    ),
    bug(
        "mean-alpha-bar-denominator",
        "2.1.2",
        NS,
        PLAIN_MEAN,
        PLAIN_MEAN.replace("/ alpha_t.sqrt()", "/ alpha_bar_t.sqrt()"),
        "alpha_bar_t instead of alpha_t",
    ),
    bug(
        "mean-no-sqrt",
        "2.1.2",
        NS,
        PLAIN_MEAN,
        PLAIN_MEAN.replace("(1.0 - alpha_bar_t).sqrt()", "(1.0 - alpha_bar_t)"),
        "no square root on 1 - alpha_bar_t",
    ),
    bug(
        "mean-one-indexed",
        "2.1.2",
        NS,
        PLAIN_SCHEDULE,
        PLAIN_SCHEDULE.replace("[t]", "[t - 1]"),
        "one-indexed",
    ),
    bug("z-ignores-generator", "2.1.2", NS, NOISE, "z = torch.randn_like(x_t)", "ignores the generator"),
    bug(
        "z-uniform",
        "2.1.2",
        NS,
        NOISE,
        "z = torch.rand(x_t.shape, device=x_t.device, dtype=x_t.dtype, generator=generator)",
        "uniform noise",
    ),
    bug(
        "one-z",
        "2.1.2",
        NS,
        NOISE,
        NOISE.replace("randn(x_t.shape,", "randn((1,),"),
        "one z per sample or per batch",
    ),
    # ---------------------------------------------------------------- 2.3.2
    bug("no-clamp", "2.3.2", NS, f"            {CLAMP}\n", "", "missing clamp"),
    bug("clamp-0-1", "2.3.2", NS, CLAMP, "x0_hat = x0_hat.clamp(0.0, 1.0)", "[0, 1]"),
    bug("prev-wraps", "2.3.2", NS, PREV, "alpha_bar_prev = self.alpha_bars[t - 1]", "wraps around"),
    bug(
        "eq7-swapped-roots",
        "2.3.2",
        NS,
        COEFS,
        COEFS.replace("alpha_bar_prev.sqrt() * beta_t", "alpha_t.sqrt() * beta_t").replace(
            "alpha_t.sqrt() * (1.0 - alpha_bar_prev)", "alpha_bar_prev.sqrt() * (1.0 - alpha_bar_prev)"
        ),
        "swapped square roots",
    ),
    bug(
        "eq15-no-sqrt",
        "2.3.2",
        NS,
        X0_HAT,
        X0_HAT.replace("(1.0 - alpha_bar_t).sqrt()", "(1.0 - alpha_bar_t)"),
        "eq. 15",
    ),
    bug("eq7-alpha-bar-t", "2.3.2", NS, PREV, "alpha_bar_prev = alpha_bar_t", "alpha_bar_t where eq. 7"),
    # ---------------------------------------------------------------- 2.2.1
    bug(
        "loss-t-one-indexed",
        "2.2.1",
        DM,
        T_DRAW,
        T_DRAW.replace(
            "randint(0, self.noise_scheduler.num_steps,", "randint(1, self.noise_scheduler.num_steps + 1,"
        ),
        "zero-indexed",
    ),
    bug(
        "loss-t-never-last",
        "2.2.1",
        DM,
        T_DRAW,
        T_DRAW.replace("self.noise_scheduler.num_steps,", "self.noise_scheduler.num_steps - 1,"),
        "upper bound",
    ),
    bug("loss-target-x0", "2.2.1", DM, MSE, "return F.mse_loss(eps_pred, data)", "x_0 as the target"),
    bug(
        "loss-network-on-x0",
        "2.2.1",
        DM,
        PREDICT,
        "eps_pred = self.noise_pred_net(data, t, cond)",
        "x_0 fed to the network",
    ),
    bug(
        "loss-sum",
        "2.2.1",
        DM,
        MSE,
        'return F.mse_loss(eps_pred, eps, reduction="sum")',
        "a sum instead of a mean",
    ),
    bug("loss-skips-dropout", "2.2.1", DM, DROP_CALL, "", "drop_condition"),
    bug("loss-uniform-noise", "2.2.1", DM, EPS_DRAW, EPS_DRAW.replace("randn(", "rand("), "uniform noise"),
    bug("loss-detached", "2.2.1", DM, MSE, "return F.mse_loss(eps_pred, eps).detach()", "backpropagation"),
    bug(
        "loss-t-ignores-generator",
        "2.2.1",
        DM,
        T_DRAW,
        T_DRAW.replace(", generator=generator)", ")"),
        "generators in the same state drew different",
    ),
    # ---------------------------------------------------------------- 2.2.2
    bug(
        "drop-one-coin",
        "2.2.2",
        DM,
        COIN,
        "drop = (rand((1,), device=cond.device, generator=generator) < self.p_uncond).expand(batch_size)  # (B,)",
        "one coin flip per batch",
    ),
    bug(
        "drop-to-minus-one",
        "2.2.2",
        DM,
        WHERE,
        "return torch.where(drop, torch.full_like(cond, -1), cond)",
        "other than zeros",
    ),
    bug(
        "drop-inverted",
        "2.2.2",
        DM,
        COIN,
        COIN.replace("< self.p_uncond", ">= self.p_uncond"),
        "wrong way round",
    ),
    bug(
        "drop-in-place",
        "2.2.2",
        DM,
        WHERE,
        "cond[drop.view(batch_size)] = 0\n        return cond",
        "in place",
    ),
    Mutant(
        "drop-per-element",
        ("2.2.2",),
        (
            Edit(
                DM, COIN, "drop = rand(cond.shape, device=cond.device, generator=generator) < self.p_uncond"
            ),
            Edit(DM, f"        {DROP_VIEW}\n", ""),
        ),
        ("elements instead of samples",),
    ),
    bug(
        "drop-ignores-generator",
        "2.2.2",
        DM,
        COIN,
        COIN.replace(", generator=generator)", ")"),
        "generators in the same state dropped different",
    ),
    # ---------------------------------------------------------------- 2.2.3
    bug("cfg-sign", "2.2.3", DM, GUIDE, "eps = (1.0 + w) * eps_null - w * eps_cond", "sign swapped"),
    bug(
        "cfg-convention",
        "2.2.3",
        DM,
        GUIDE,
        "eps = eps_null + w * (eps_cond - eps_null)",
        "other guidance convention",
    ),
    bug(
        "cfg-null-is-cond",
        "2.2.3",
        DM,
        "null = torch.zeros_like(cond)",
        "null = cond",
        "cond instead of zeros",
    ),
    bug(
        "cfg-null-minus-one",
        "2.2.3",
        DM,
        "null = torch.zeros_like(cond)",
        "null = torch.full_like(cond, -1)",
        "a condition of all zeros",
    ),
    bug("loop-one-indexed", "2.2.3", DM, LOOP, "for t in range(scheduler.num_steps, 0, -1):", "zero-indexed"),
    bug(
        "loop-misses-t0",
        "2.2.3",
        DM,
        LOOP,
        "for t in range(scheduler.num_steps - 1, 0, -1):",
        "stops before t = 0",
    ),
    bug("loop-forwards", "2.2.3", DM, LOOP, "for t in range(scheduler.num_steps):", "runs forwards"),
    bug(
        "step-without-generator",
        "2.2.3",
        DM,
        STEP,
        "x_t = scheduler.denoise_step(eps, t, x_t, threshold=threshold)",
        "no generator",
    ),
    bug(
        "step-without-threshold",
        "2.2.3",
        DM,
        STEP,
        "x_t = scheduler.denoise_step(eps, t, x_t, generator=generator)",
        "pass threshold",
    ),
    bug("x-T-uniform", "2.2.3", DM, X_T_DRAW, X_T_DRAW.replace("randn(", "rand("), "uniform noise"),
    # ---------------------------------------------------------------- 2.3.1
    bug(
        "image-no-null-token",
        "2.3.1",
        IG,
        CONDITION_DIM,
        "self.condition_dim = len(self.class_ids)",
        "forgetting the null token",
    ),
    bug(
        "image-channels-last",
        "2.3.1",
        IG,
        INPUT_SHAPE,
        "self.input_shape = (height, width, channels)",
        "channels last",
    ),
    bug(
        "image-ten-classes",
        "2.3.1",
        IG,
        CONDITION_DIM,
        "self.condition_dim = 11",
        "hard-coded number of classes",
    ),
    bug("image-drops-network", "2.3.1", IG, "            network=network,\n", "", "network"),
    bug(
        "image-schedule-by-steps",
        "2.3.1",
        IG,
        "noise_scheduler=noise_scheduler,",
        "denoising_steps=denoising_steps,",
        "noise_scheduler",
    ),
    # ---------------------------------------------------------------- 2.4.1
    bug(
        "windows-actions-one-late",
        "2.4.1",
        WIN,
        ACTION_INDEX,
        "action_index = t + np.arange(1, action_horizon + 1)[None, :]",
        "one step late",
    ),
    bug(
        "windows-pad-from-other-episode",
        "2.4.1",
        WIN,
        STATE_PAD,
        "state_index = np.maximum(state_index, 0)",
        "another episode",
    ),
    bug("windows-wrap-around", "2.4.1", WIN, f"    {STATE_PAD}\n", "", "wrap around"),
    bug(
        "windows-newest-first",
        "2.4.1",
        WIN,
        "np.arange(1 - state_horizon, 1)[None, :]",
        "np.arange(0, -state_horizon, -1)[None, :]",
        "newest first",
    ),
    bug("normalize-zero-one", "2.4.1", NORM, NORMALIZE, "return (x - minimum) / span", "[0, 1]"),
    bug(
        "unnormalize-no-half", "2.4.1", NORM, UNNORMALIZE, "return (x + 1.0) * span + minimum", "missing / 2"
    ),
    # ---------------------------------------------------------------- 2.4.2
    bug(
        "rollout-not-unnormalized",
        "2.4.2",
        ROLL,
        UNNORMALIZE_PLAN,
        "plan = plan[0].detach().cpu().numpy()",
        "normalization not undone",
    ),
    bug("rollout-whole-plan", "2.4.2", ROLL, EXECUTE, "for action in plan:", "whole plan executed"),
    bug("rollout-stops-at-plan-end", "2.4.2", ROLL, STOP, "", "finished episode"),
    bug(
        "rollout-newest-first",
        "2.4.2",
        ROLL,
        HISTORY,
        HISTORY.replace("np.stack(history)", "np.stack(list(history)[::-1])"),
        "newest first",
    ),
    bug(
        "rollout-drops-generator",
        "2.4.2",
        ROLL,
        PLAN_CALL,
        "plan = policy.generate_sample(cond)",
        "got no generator",
    ),
    # ---------------------------------------------------------------- student mistakes (issue 11, item 4)
    bug(
        "mean-eps-coef-sqrt-beta",
        "2.1.2",
        NS,
        PLAIN_MEAN,
        PLAIN_MEAN.replace(
            "beta_t / (1.0 - alpha_bar_t).sqrt()", "beta_t.sqrt() / (1.0 - alpha_bar_t).sqrt()"
        ),
        "sqrt(beta_t) instead of beta_t",
    ),
    bug(
        "cfg-w-drops-from-null",
        "2.2.3",
        DM,
        GUIDE,
        "eps = (1.0 + w) * eps_cond - eps_null",
        "weighted by 1 instead of w",
    ),
    bug(
        "windows-actions-from-next-episode",
        "2.4.1",
        WIN,
        "action_index = np.minimum(action_index, ends[episode][:, None] - 1)",
        "action_index = np.minimum(action_index, num_steps - 1)",
        "actions of the next episode",
    ),
    bug(
        "rollout-history-never-updated",
        "2.4.2",
        ROLL,
        "            history.append(observation)\n",
        "",
        "never updated",
    ),
    # ---------------------------------------------------------------- grader validity (issue 11, item 7)
    bug(
        "threshold-beta-tilde",
        "2.3.2",
        NS,
        "            mean = coef_x0 * x0_hat + coef_xt * x_t\n",
        "            mean = coef_x0 * x0_hat + coef_xt * x_t\n"
        "            beta_t = beta_t * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t)\n",
        "beta-tilde",
    ),
)

REWRITES: tuple[Mutant, ...] = (
    Mutant(
        "eq7-as-algorithm-2-plus-clamp-correction",
        ("2.3.2",),
        (
            Edit(
                NS,
                f"            {X0_HAT}\n            {CLAMP}\n",
                "            raw = (x_t - (1.0 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()\n"
                "            x0_hat = raw.clamp(-1.0, 1.0)\n",
            ),
            Edit(
                NS,
                "            mean = coef_x0 * x0_hat + coef_xt * x_t\n",
                "            plain = (x_t - beta_t / (1.0 - alpha_bar_t).sqrt() * model_prediction) / alpha_t.sqrt()\n"
                "            mean = plain + coef_x0 * (x0_hat - raw)  # eq. 7 = Algorithm 2 + the clamp's correction\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "drop-condition-once-per-sample",
        ("2.2.1",),
        (
            Edit(
                DM,
                DROP_CALL,
                "        cond = torch.stack([self.drop_condition(c.unsqueeze(0), generator)[0] for c in cond])\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "image-keywords",
        ("2.3.1",),
        (
            Edit(
                IG,
                SHAPES,
                "        first = torch.as_tensor(self.data.images[:1]).permute(0, 3, 1, 2)  # (1, C, H, W)\n"
                "        self.input_shape = tuple(first.shape[1:])\n"
                "        self.condition_dim = 1 + len(self.class_names)\n"
                "        self.policy = DiffusionModel(\n"
                "            input_shape=self.input_shape,\n"
                "            condition_dim=self.condition_dim,\n"
                "            network=network,\n"
                "            device=device,\n"
                "            weights_path=weights_path,\n"
                "            p_uncond=p_uncond,\n"
                "            noise_scheduler=noise_scheduler,\n"
                "            sequential=False,\n"
                "        )\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "robotics-loops-and-tensors",
        ("2.4.1", "2.4.2"),
        (
            Edit(
                WIN,
                WINDOWS,
                "    conds = np.empty((num_steps, state_horizon * state_dim), dtype=states.dtype)\n"
                "    samples = np.empty((num_steps, action_horizon, actions.shape[1]), dtype=actions.dtype)\n"
                "    start = 0\n"
                "    for end in episode_ends.tolist():\n"
                "        for n in range(start, end):\n"
                "            history = [states[max(start, n - k)] for k in range(state_horizon - 1, -1, -1)]\n"
                "            conds[n] = np.concatenate(history)\n"
                "            samples[n] = np.stack([actions[min(end - 1, n + k)] for k in range(action_horizon)])\n"
                "        start = end\n",
            ),
            Edit(NORM, NORMALIZE, "return (x - minimum) * (2.0 / span) - 1.0"),
            Edit(NORM, UNNORMALIZE, "return minimum + span * (x + 1.0) / 2.0"),
            Edit(
                ROLL,
                ROLLOUT,
                "    step = 0\n"
                "    while step < max_steps:\n"
                "        window = torch.as_tensor(np.stack(list(history)), dtype=torch.float64)  # (h, S)\n"
                "        cond = state_normalizer.normalize(window).reshape(1, -1).float()  # (1, h * S)\n"
                "        sampled = policy.generate_sample(cond, generator=generator)[0].cpu().double()\n"
                "        plan = action_normalizer.unnormalize(sampled).numpy()  # (H, A)\n"
                "        plans.append(plan)\n"
                "        for k in range(num_actions):\n"
                "            observation, reward, terminated, truncated, info = env.step(plan[k])\n"
                "            history.append(observation)\n"
                "            states.append(observation)\n"
                "            actions.append(plan[k])\n"
                "            rewards.append(reward)\n"
                "            step += 1\n"
                "            if terminated or truncated or step == max_steps:\n"
                "                done = True\n"
                "                break\n"
                "        if done:\n"
                "            break\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "loops",
        ("2.1.1b", "2.2.2"),
        (
            Edit(
                NS,
                f"        {GATHER}\n        {BROADCAST}\n        {Q_SAMPLE}\n",
                "        out = torch.empty_like(original_samples)\n"
                "        for i in range(original_samples.shape[0]):\n"
                "            a = self.alpha_bars[int(timesteps[i])]\n"
                "            out[i] = a.sqrt() * original_samples[i] + (1.0 - a).sqrt() * noise[i]\n"
                "        return out\n",
            ),
            Edit(
                DM,
                f"        {COIN}\n        {DROP_VIEW}\n        {WHERE}\n",
                "        coins = rand((batch_size,), device=cond.device, generator=generator)\n"
                "        out = cond.clone()\n"
                "        for i in range(batch_size):\n"
                "            if coins[i] < self.p_uncond:\n"
                "                out[i] = 0\n"
                "        return out\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "float64",
        ("2.1.1a", "2.1.1b", "2.1.2", "2.3.2"),
        (
            Edit(
                NS,
                f"        self.betas = {LINSPACE}\n        self.alphas = 1.0 - self.betas\n        {CUMPROD}\n",
                "        betas = torch.linspace(self.beta_start, self.beta_end, num_steps, dtype=torch.float64)\n"
                "        self.betas = betas.float().to(self.device)\n"
                "        self.alphas = (1.0 - betas).float().to(self.device)\n"
                "        self.alpha_bars = torch.cumprod(1.0 - betas, dim=0).float().to(self.device)\n",
            ),
            Edit(
                NS,
                Q_SAMPLE,
                "return (alpha_bar_t.double().sqrt() * original_samples.double() + (1.0 - alpha_bar_t.double()).sqrt()"
                " * noise.double()).to(original_samples.dtype)",
            ),
            Edit(
                NS,
                PLAIN_MEAN,
                "mean = ((x_t.double() - beta_t.double() / (1.0 - alpha_bar_t.double()).sqrt() * model_prediction.double())"
                " / alpha_t.double().sqrt()).to(x_t.dtype)",
            ),
            Edit(
                NS,
                "mean = coef_x0 * x0_hat + coef_xt * x_t",
                "mean = (coef_x0.double() * x0_hat.double() + coef_xt.double() * x_t.double()).to(x_t.dtype)",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "equivalent-formulas",
        ("2.1.1a", "2.1.2", "2.3.2", "2.2.1"),
        (
            Edit(NS, CUMPROD, "self.alpha_bars = torch.exp(torch.cumsum(torch.log(self.alphas), dim=0))"),
            Edit(
                NS,
                PLAIN_MEAN,
                "mean = 1.0 / alpha_t.sqrt() * (x_t - (1.0 - alpha_t) / (1.0 - alpha_bar_t).sqrt() * model_prediction)",
            ),
            Edit(
                NS,
                "mean = coef_x0 * x0_hat + coef_xt * x_t",
                "mean = (alpha_bar_prev.sqrt() * self.betas[t] * x0_hat + alpha_t.sqrt() * (1.0 - alpha_bar_prev) * x_t)"
                " / (1.0 - alpha_bar_t)",
            ),
            Edit(DM, MSE, "return ((eps_pred - eps) ** 2).mean()"),
        ),
        rewrite=True,
    ),
    Mutant(
        "batched-cfg",
        ("2.2.3",),
        (
            Edit(
                DM,
                NET_CALLS,
                "                both = net(torch.cat([x_t, x_t]), torch.cat([t_batch, t_batch]), torch.cat([cond, null]))\n"
                "                eps_cond, eps_null = both.chunk(2)\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "skip-unconditional-at-w0",
        ("2.2.3",),
        (
            Edit(
                DM,
                NET_CALLS + f"                {GUIDE}\n",
                "                eps = net(x_t, t_batch, cond)\n"
                "                if w != 0.0:\n"
                "                    eps = (1.0 + w) * eps - w * net(x_t, t_batch, null)\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "dropout-by-multiplication",
        ("2.2.2",),
        (
            Edit(
                DM,
                f"        {COIN}\n        {DROP_VIEW}\n        {WHERE}\n",
                "        keep = rand((batch_size,), device=cond.device, generator=generator) >= self.p_uncond\n"
                "        keep = keep.to(cond.dtype).view(batch_size, *([1] * (cond.dim() - 1)))\n"
                "        return cond * keep\n",
            ),
        ),
        rewrite=True,
    ),
    Mutant(
        "precomputed-buffers",
        ("2.1.1a", "2.1.1b"),
        (
            Edit(
                NS,
                f"        {CUMPROD}\n",
                f"        {CUMPROD}\n"
                "        self.sqrt_alpha_bars = self.alpha_bars.sqrt()\n"
                "        self.sqrt_one_minus_alpha_bars = (1.0 - self.alpha_bars).sqrt()\n",
            ),
            Edit(
                NS,
                f"        {GATHER}\n        {BROADCAST}\n        {Q_SAMPLE}\n",
                "        shape = (-1, *([1] * (original_samples.dim() - 1)))  # (B, 1, ..., 1)\n"
                "        signal = self.sqrt_alpha_bars[timesteps].view(shape)\n"
                "        spread = self.sqrt_one_minus_alpha_bars[timesteps].view(shape)\n"
                "        return signal * original_samples + spread * noise\n",
            ),
        ),
        rewrite=True,
    ),
)
