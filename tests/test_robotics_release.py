"""The student version of part 2.4: the given code runs, each task stops at its own NotImplementedError."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

EXERCISE = textwrap.dedent(
    """
    import json
    import numpy as np
    import torch
    from diffusion_models.robotics import (
        Normalizer, PlanarReachEnv, generate_demonstrations, load_replay_buffer, make_windows, rollout,
    )

    verdicts = {}
    buffer = generate_demonstrations(2, seed=0)                      # given: env and expert
    buffer = load_replay_buffer({"data/state": buffer.states, "data/action": buffer.actions,
                                 "meta/episode_ends": buffer.episode_ends})
    verdicts["given"] = PlanarReachEnv().render().shape == (256, 256, 3)
    normalizer = Normalizer.fit(buffer.actions)                     # given: the statistics

    def stops_at(call):
        try:
            call()
        except NotImplementedError as err:
            return str(err)
        return "ran"

    verdicts["make_windows"] = stops_at(
        lambda: make_windows(buffer.states, buffer.actions, buffer.episode_ends, 2, 16))
    verdicts["normalize"] = stops_at(lambda: normalizer.normalize(buffer.actions))
    verdicts["unnormalize"] = stops_at(lambda: normalizer.unnormalize(buffer.actions))

    class Policy:
        def generate_sample(self, cond, generator=None):
            return torch.zeros(1, 16, 2)

    identity = Normalizer(minimum=[-1.0] * 4, maximum=[1.0] * 4)
    verdicts["rollout"] = stops_at(
        lambda: rollout(PlanarReachEnv(), Policy(), identity, normalizer, 2, 16, 8, max_steps=5, seed=0))
    print(json.dumps(verdicts))
    """
)


def test_release_stubs_of_part_2_4(release_dir):
    result = subprocess.run(
        [sys.executable, "-c", EXERCISE], cwd=release_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdicts["given"] is True
    assert verdicts["make_windows"].startswith("task 2.4.1: sliding windows")
    assert verdicts["normalize"].startswith("task 2.4.1: min-max normalization")
    assert verdicts["unnormalize"].startswith("task 2.4.1: undo the normalization")
    assert verdicts["rollout"].startswith("task 2.4.2: ")
