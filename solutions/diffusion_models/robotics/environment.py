"""A planar point robot that must reach a goal past a round obstacle, with a gymnasium-style API.

The robot is a point mass driven by a PD controller towards a commanded target position, as the
agent of Push-T is (Chi et al. 2023): an action is where the robot should go, not a force. The
obstacle sits on the straight line from the start region to the goal, so every path goes round it
on the left or on the right. Touching the obstacle ends the episode as a failure; reaching the goal
ends it as a success. Coordinates are in [0, 1]^2 with y pointing up.

    env = PlanarReachEnv()
    observation, info = env.reset(seed=0)                 # (4,) float32: x, y, vx, vy
    observation, reward, terminated, truncated, info = env.step(np.array([0.3, 0.4]))
    image = env.render()                                   # (H, W, 3) uint8
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PlanarReachConfig:
    """Geometry and dynamics of the task; each default carries its reason."""

    goal: tuple[float, float] = (0.5, 0.9)  # straight above the obstacle: no side is shorter
    goal_radius: float = 0.05  # success once the robot's centre is this close to the goal
    start_low: tuple[float, float] = (0.35, 0.05)  # start region: a band below the obstacle,
    start_high: tuple[float, float] = (0.65, 0.15)  # symmetric about x = 0.5
    obstacle_center: tuple[float, float] = (0.5, 0.5)
    obstacle_radius: float = 0.15  # wide enough that driving straight up always hits it
    robot_radius: float = 0.02  # contact when the centre is closer than obstacle + robot radius
    kp: float = 100.0  # PD gains: critically damped (kd = 2 sqrt(kp)), settles in ~0.3 s
    kd: float = 20.0
    control_dt: float = 0.1  # seconds per env step (10 Hz control, as Push-T)
    substeps: int = 10  # Euler integration steps per env step
    max_episode_steps: int = 100  # truncation: an expert needs about 35
    render_size: int = 256  # pixels of the square image from render()


class PlanarReachEnv:
    """The task: observation (4,) = (x, y, vx, vy); action (2,) = target position (x*, y*).

    ``step`` returns ``(observation, reward, terminated, truncated, info)``: reward 1.0 on the step
    that reaches the goal, else 0.0; terminated on success or on contact with the obstacle; truncated
    after ``max_episode_steps``. ``info`` holds ``success``, ``collision`` and ``distance_to_goal``.
    """

    state_dim = 4
    action_dim = 2
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, config: PlanarReachConfig | None = None, render_mode: str = "rgb_array") -> None:
        if render_mode != "rgb_array":
            raise ValueError(f"render_mode must be 'rgb_array', got {render_mode!r}")
        self.config = config or PlanarReachConfig()
        self.render_mode = render_mode
        self.np_random = np.random.default_rng()
        self._position = np.zeros(2)
        self._velocity = np.zeros(2)
        self._steps = 0
        self._done = True

    # ------------------------------------------------------------------ gymnasium-style API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode at a random point of the start band (or at ``options["start"]``).

        Args:
            seed: reseeds the environment's generator, so the same seed gives the same episode.
            options: ``{"start": (x, y)}`` to place the robot by hand.

        Returns:
            (observation (4,) float32, info).
        """
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        cfg = self.config
        start = self.np_random.uniform(cfg.start_low, cfg.start_high)  # drawn even when overridden
        if options and options.get("start") is not None:
            start = np.asarray(options["start"], dtype=np.float64)
            if start.shape != (2,) or not np.all(np.isfinite(start)):
                raise ValueError(f"options['start'] must be a finite (x, y), got {options['start']!r}")
        self._position = start.astype(np.float64)
        self._velocity = np.zeros(2)
        self._steps = 0
        self._done = False
        return self._observation(), self._info(success=False, collision=self._in_contact())

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Drive the robot towards the target position ``action`` for one control period.

        Args:
            action: (2,) target position; clipped to the arena [0, 1]^2.

        Returns:
            (observation (4,) float32, reward, terminated, truncated, info).
        """
        if self._done:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        target = np.asarray(action, dtype=np.float64).reshape(-1)
        if target.shape != (2,) or not np.all(np.isfinite(target)):
            raise ValueError(f"action must be a finite target position of shape (2,), got {np.shape(action)}")
        target = np.clip(target, 0.0, 1.0)
        cfg = self.config
        dt = cfg.control_dt / cfg.substeps
        collision = False
        for _ in range(cfg.substeps):
            # semi-implicit Euler on x'' = kp (target - x) - kd x'
            acceleration = cfg.kp * (target - self._position) - cfg.kd * self._velocity
            self._velocity = self._velocity + dt * acceleration
            self._position = self._position + dt * self._velocity
            self._bounce_off_walls()
            if self._in_contact():
                collision = True
                break
        self._steps += 1
        success = not collision and self._distance_to_goal() <= cfg.goal_radius
        terminated = success or collision
        truncated = not terminated and self._steps >= cfg.max_episode_steps
        self._done = terminated or truncated
        reward = 1.0 if success else 0.0
        return self._observation(), reward, terminated, truncated, self._info(success, collision)

    def render(self) -> np.ndarray:
        """The map seen from above: (render_size, render_size, 3) uint8, y pointing up.

        Obstacle grey, goal region green, robot blue.
        """
        cfg = self.config
        n = cfg.render_size
        image = np.full((n, n, 3), 255, dtype=np.uint8)
        centres = (np.arange(n) + 0.5) / n
        x, y = np.meshgrid(centres, centres[::-1])  # row 0 is the top of the arena

        def disc(centre, radius, colour):
            image[(x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2] = colour

        disc(cfg.goal, cfg.goal_radius, (120, 200, 120))
        disc(cfg.obstacle_center, cfg.obstacle_radius, (110, 110, 110))
        disc(self._position, max(cfg.robot_radius, 1.5 / n), (40, 90, 220))
        return image

    def close(self) -> None:
        """Nothing to release; here for the gymnasium API."""

    # ------------------------------------------------------------------ internals
    @property
    def position(self) -> np.ndarray:
        """The robot's (x, y), a copy."""
        return self._position.copy()

    def _observation(self) -> np.ndarray:
        return np.concatenate([self._position, self._velocity]).astype(np.float32)  # (4,)

    def _distance_to_goal(self) -> float:
        return float(np.linalg.norm(self._position - np.asarray(self.config.goal)))

    def _in_contact(self) -> bool:
        cfg = self.config
        gap = np.linalg.norm(self._position - np.asarray(cfg.obstacle_center))
        return bool(gap < cfg.obstacle_radius + cfg.robot_radius)

    def _bounce_off_walls(self) -> None:
        outside = (self._position < 0.0) | (self._position > 1.0)
        self._position = np.clip(self._position, 0.0, 1.0)
        self._velocity = np.where(outside, 0.0, self._velocity)

    def _info(self, success: bool, collision: bool) -> dict[str, Any]:
        return {"success": success, "collision": collision, "distance_to_goal": self._distance_to_goal()}
