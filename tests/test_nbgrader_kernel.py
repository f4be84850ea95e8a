"""The fenced autograde kernel's plan, environment and log lines (autograder/nbgrader/kernel.py), without
running nbgrader: tests/test_nbgrader.py autogrades a hostile submission with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.nbgrader import kernel
from kit import REPO_ROOT


def test_the_kernel_reads_nothing_of_the_course_but_the_public_checks_and_the_modules_it_runs(tmp_path):
    folder = REPO_ROOT / "autograded" / "alice" / "diffusion"  # need not exist: only planned
    plan = kernel.kernel_plan(folder, tmp_path, [str(REPO_ROOT)])
    assert plan["writable"] == [str(folder), str(tmp_path)]
    allowed = {Path(p) for p in kernel.kit_files()}
    assert {p.relative_to(REPO_ROOT).as_posix() for p in allowed} >= {
        "autograder/__init__.py",
        "autograder/nbgrader/__init__.py",
        "autograder/nbgrader/cells.py",
        "autograder/nbgrader/launcher.py",
    }
    for path in map(Path, plan["readable"]):
        assert not REPO_ROOT.is_relative_to(path), f"{path} holds the course"
        if path.is_relative_to(REPO_ROOT):
            assert (
                path in allowed
                or path.is_relative_to(REPO_ROOT / ".venv")
                or path.is_relative_to(REPO_ROOT / "autograder" / "public")
            ), f"the kernel may read {path}"


def test_the_kernels_environment_holds_none_of_the_instructors_variables(tmp_path):
    instructor = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",
        "CUDA_VISIBLE_DEVICES": "",
        "HOME": "/home/instructor",
        "GITHUB_TOKEN": "secret",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "PYTHONPATH": "/home/instructor/lib",
        "TMPDIR": "/tmp",
    }
    env = kernel.kernel_environment(instructor, tmp_path)
    assert "secret" not in env.values() and "PYTHONPATH" not in env
    assert {env[name] for name in ("PATH", "LANG", "NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES")} == {
        "/usr/bin",
        "C.UTF-8",
        "autograde",
        "",
    }
    for name in ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR"):
        assert Path(env[name]).parent == tmp_path and Path(env[name]).is_dir(), name


def test_the_log_names_every_fence_that_is_missing():
    nothing = {"own_uid": False, "keep_read_search": False, "network_namespace": False}
    up, missing = kernel.describe(nothing | {"landlock_abi": 0, "seccomp": False, "root": False})
    assert up == [] and missing == ["own uid", "network namespace", "Landlock", "seccomp"]
    assert set(missing) <= set(kernel.MISSING)
    everything = {"own_uid": True, "keep_read_search": False, "network_namespace": True}
    up, missing = kernel.describe(everything | {"landlock_abi": 6, "seccomp": True, "root": True})
    assert missing == [] and len(up) == 4


def test_nbgraders_execute_is_replaced_and_nothing_else():
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    chosen = kernel.with_fenced_kernel(defaults)
    assert [p for p in chosen if p not in defaults] == [kernel.FencedExecute] and Execute not in chosen
    assert len(chosen) == len(defaults)
    with pytest.raises(ValueError, match="changed"):
        kernel.with_fenced_kernel([p for p in defaults if p is not Execute])
