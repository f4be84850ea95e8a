"""Part 2.4: a diffusion policy for a planar robot task (Chi et al. 2023, "Diffusion Policy").

Tasks:
    2.4.1  make_windows, Normalizer.normalize / unnormalize   windows with edge padding, [-1, 1] scaling
    2.4.2  rollout                                             receding-horizon control

Given: the environment (PlanarReachEnv), the scripted multimodal expert (generate_demonstrations),
the replay-buffer loader (zarr / npz / dict, Diffusion Policy layout), the policies (build_policy,
RegressionPolicy), their evaluation (rollout_episodes) and plotting.
"""

from .environment import PlanarReachConfig, PlanarReachEnv
from .evaluation import EVAL_SEED_OFFSET, rollout_episodes
from .expert import LEFT, RIGHT, ScriptedExpert, generate_demonstrations, passing_side
from .normalizer import Normalizer
from .plotting import outcome, plot_trajectories
from .policy import PolicyConfig, RegressionPolicy, build_policy, policy_dataset
from .replay_buffer import ReplayBuffer, load_replay_buffer, save_replay_buffer
from .rollout import Rollout, rollout
from .windows import check_horizons, make_windows

__all__ = [
    "EVAL_SEED_OFFSET",
    "LEFT",
    "RIGHT",
    "Normalizer",
    "PlanarReachConfig",
    "PlanarReachEnv",
    "PolicyConfig",
    "RegressionPolicy",
    "ReplayBuffer",
    "Rollout",
    "ScriptedExpert",
    "build_policy",
    "check_horizons",
    "generate_demonstrations",
    "load_replay_buffer",
    "make_windows",
    "outcome",
    "passing_side",
    "plot_trajectories",
    "policy_dataset",
    "rollout",
    "rollout_episodes",
    "save_replay_buffer",
]
