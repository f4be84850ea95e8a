"""The scripted expert whose demonstrations are multimodal: it goes round the obstacle on a side
chosen by a fair coin, whatever the start, so no function of the state can tell which side a
demonstration takes, and the average of the two modes runs straight into the obstacle.

The expert follows a polyline start -> beside the obstacle -> goal with a carrot: its action is the
point of the path ``lookahead`` ahead of the robot, which the PD controller then chases.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_positive_int
from .environment import PlanarReachConfig, PlanarReachEnv
from .replay_buffer import ReplayBuffer

LEFT, RIGHT = -1, 1


class ScriptedExpert:
    """Carrot-chasing along a path that passes the obstacle on ``side`` (-1 left, +1 right).

    Args:
        start: (2,) the robot's position at reset.
        side: LEFT (-1) or RIGHT (+1).
        rng: draws the path's jitter and the action noise.
        config: the environment's geometry.
        lookahead: how far along the path the commanded target runs ahead of the robot.
        action_noise: standard deviation of Gaussian noise added to each action (widens the states
            the demonstrations cover, as DART does).
    """

    def __init__(
        self,
        start: np.ndarray,
        side: int,
        rng: np.random.Generator,
        config: PlanarReachConfig | None = None,
        lookahead: float = 0.08,
        action_noise: float = 0.01,
    ) -> None:
        if side not in (LEFT, RIGHT):
            raise ValueError(f"side must be -1 (left) or +1 (right), got {side!r}")
        self.config = cfg = config or PlanarReachConfig()
        self.side = side
        self.rng = rng
        self.lookahead = lookahead
        self.action_noise = action_noise
        cx, cy = cfg.obstacle_center
        clearance = cfg.obstacle_radius + cfg.robot_radius + rng.uniform(0.08, 0.13)
        half_span = rng.uniform(0.05, 0.12)
        corners = [
            np.asarray(start, dtype=np.float64),
            np.array([cx + side * clearance, cy - half_span]),
            np.array([cx + side * clearance, cy + half_span]),
            np.asarray(cfg.goal, dtype=np.float64),
        ]
        self.path = _densify(corners, spacing=0.005)  # (P, 2)
        self._progress = 0

    def act(self, observation: np.ndarray) -> np.ndarray:
        """observation (4,) -> action (2,): the path point ``lookahead`` beyond the nearest one."""
        position = np.asarray(observation[:2], dtype=np.float64)
        ahead = self.path[self._progress :]
        self._progress += int(np.argmin(np.linalg.norm(ahead - position, axis=1)))  # never walks back
        carrot = min(len(self.path) - 1, self._progress + round(self.lookahead / 0.005))
        action = self.path[carrot] + self.action_noise * self.rng.standard_normal(2)
        return action.astype(np.float32)


def _densify(corners: list[np.ndarray], spacing: float) -> np.ndarray:
    points = [corners[0]]
    for a, b in zip(corners[:-1], corners[1:], strict=True):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / spacing)))
        points.extend(a + (b - a) * k / n for k in range(1, n + 1))
    return np.stack(points)  # (P, 2)


def generate_demonstrations(
    num_episodes: int,
    seed: int = 0,
    side: int | None = None,
    config: PlanarReachConfig | None = None,
) -> ReplayBuffer:
    """Roll the scripted expert out ``num_episodes`` times, deterministically from ``seed``.

    Args:
        num_episodes: how many demonstrations.
        seed: the same seed gives the same buffer, bit for bit.
        side: None for a fair coin per episode (multimodal demonstrations); LEFT or RIGHT to force one
            mode (a unimodal control set).
        config: the environment's geometry.

    Returns:
        a ReplayBuffer: states (N, 4) observed before each action, actions (N, 2), episode_ends (E,).
    """
    check_positive_int(num_episodes, "num_episodes")
    env = PlanarReachEnv(config)
    states, actions, ends = [], [], []
    for episode in range(num_episodes):
        rng = np.random.default_rng([seed, episode])
        observation, _ = env.reset(seed=int(rng.integers(2**31)))
        chosen = side if side is not None else (LEFT if rng.random() < 0.5 else RIGHT)
        expert = ScriptedExpert(env.position, chosen, rng, env.config)
        info = {"success": False}
        done = False
        while not done:
            action = expert.act(observation)
            states.append(observation)
            actions.append(action)
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        if not info["success"]:
            raise RuntimeError(f"the scripted expert failed episode {episode} of seed {seed}: {info}")
        ends.append(len(states))
    return ReplayBuffer(
        states=np.stack(states).astype(np.float32),
        actions=np.stack(actions).astype(np.float32),
        episode_ends=np.asarray(ends, dtype=np.int64),
    )


def passing_side(positions: np.ndarray, config: PlanarReachConfig | None = None) -> int:
    """Which side of the obstacle a trajectory passes: -1 left, +1 right, 0 if it never gets past
    the obstacle's centre line (y = obstacle y).

    Args:
        positions: (L, 2) or (L, >=2) robot positions (x, y, ...) in time order.
    """
    cfg = config or PlanarReachConfig()
    positions = np.asarray(positions)
    past = np.nonzero(positions[:, 1] >= cfg.obstacle_center[1])[0]
    if len(past) == 0:
        return 0
    return LEFT if positions[past[0], 0] < cfg.obstacle_center[0] else RIGHT
