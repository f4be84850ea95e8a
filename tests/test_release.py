"""The generated folders: no drift from solutions/, stubs that raise per task, one shared interface, and
nbgrader's source/ holding nothing but what students may get."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kit import PACKAGE, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR
from kit.markers import MarkerError, find_regions, to_reference, to_stub
from kit.notebook_source import NOTEBOOK_TEXT
from kit.release import build

API_DUMP = Path(__file__).with_name("api_dump.py")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_committed_source_release_and_reference_equal_a_fresh_build(tmp_path, repo_root):
    fresh_release, fresh_reference = build(tmp_path)
    for fresh, committed in (
        (tmp_path / "source" / "diffusion", repo_root / "source" / "diffusion"),
        (fresh_release, repo_root / "release" / "diffusion"),
        (fresh_reference, repo_root / "reference" / PACKAGE),
        (tmp_path / "reference" / "written", repo_root / "reference" / "written"),
    ):
        ours, theirs = _tree(fresh), _tree(committed)
        assert sorted(ours) == sorted(theirs), (
            f"files of {committed.relative_to(repo_root)} differ from a fresh build: run `make release` "
            "and commit source/, release/ and reference/"
        )
        drifted = [name for name in ours if ours[name] != theirs[name]]
        assert not drifted, (
            f"{drifted} of {committed.relative_to(repo_root)} drifted from solutions/: run `make release` "
            "and commit the result"
        )


def test_nbgrader_source_is_the_release_but_for_the_notebook(repo_root):
    """source/diffusion/ holds exactly what nbgrader copies into the release: every file but the
    notebook is the release's, byte for byte; the notebook is the source version nbgrader converts."""
    source, release = _tree(SOURCE_DIR), _tree(repo_root / "release" / "diffusion")
    assert sorted(source) == sorted(release)
    assert [name for name in source if name.endswith(".ipynb")] == ["diffusion.ipynb"]
    assert [name for name in source if source[name] != release[name]] == ["diffusion.ipynb"]


def test_no_nbgrader_command_can_list_or_copy_the_solutions(repo_root):
    """nbgrader finds assignments as the folders source/<id>/ (NbGraderAPI.get_source_assignments, which
    formgrader lists with a "Generate" button) and copies only source/<id>/ into release/<id>/ (the
    converters' init_assignment). solutions/ is neither: it lies beside nbgrader's folders."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", str(repo_root)).load_config()
    coursedir = CourseDirectory(config=config)
    assert Path(coursedir.root) == repo_root
    assert NbGraderAPI(coursedir=coursedir, config=config).get_source_assignments() == {"diffusion"}
    nbgrader_folders = [
        Path(coursedir.root, getattr(coursedir, f"{step}_directory")).resolve()
        for step in ("source", "release", "submitted", "autograded", "feedback", "solution")
    ]
    assert SOLUTIONS_DIR.resolve().parent == repo_root
    assert all(not SOLUTIONS_DIR.resolve().is_relative_to(folder) for folder in nbgrader_folders)
    assert SOLUTIONS_DIR.resolve() not in nbgrader_folders
    for path in SOURCE_DIR.rglob("*.py"):  # nbgrader copies these verbatim: no solution in any of them
        assert "BEGIN SOLUTION" not in path.read_text(encoding="utf-8"), path


def _all_source_regions():
    for path in sorted((SOLUTIONS_DIR / PACKAGE).rglob("*.py")):
        for region in find_regions(path.read_text(encoding="utf-8"), path):
            yield path, region


def test_every_task_region_becomes_a_named_not_implemented_error(release_dir):
    regions = list(_all_source_regions())
    assert {"2.1.1a", "2.1.1b", "2.1.2", "2.2.1", "2.2.2", "2.2.3", "2.3.2"} <= {r.task for _, r in regions}
    for path, region in regions:
        stub = (release_dir / path.relative_to(SOLUTIONS_DIR)).read_text(encoding="utf-8")
        assert f'raise NotImplementedError("task {region.task}: {region.what}")' in stub
        assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub


# Each core task, exercised on the stubs: the call must stop at that task's NotImplementedError.
EXERCISE = textwrap.dedent(
    """
    import json, torch
    import diffusion_models as dm
    from diffusion_models.noise_scheduler import NoiseScheduler

    class Sched(NoiseScheduler):
        def __init__(self):  # a scheduler whose attributes exist, bypassing task 2.1.1a
            self.num_steps, self.device = 5, torch.device("cpu")
            self.betas = torch.linspace(1e-4, 0.02, 5)
            self.alphas = 1 - self.betas
            self.alpha_bars = torch.cumprod(self.alphas, 0)

    class Net(torch.nn.Module):
        def forward(self, x, t, c):
            return x

    def model(**kw):
        m = dm.DiffusionModel.__new__(dm.DiffusionModel)
        m.input_shape, m.condition_dim, m.sequential, m.p_uncond = (1, 4, 4), 3, False, 0.5
        m.device, m.noise_scheduler, m.noise_pred_net = torch.device("cpu"), Sched(), Net()
        from diffusion_models.ema import ExponentialMovingAverage
        m.ema = ExponentialMovingAverage(m.noise_pred_net)
        return m

    x = torch.zeros(2, 1, 4, 4)
    calls = {
        "2.1.1a": lambda: dm.NoiseScheduler(5, device="cpu"),
        "2.1.1b": lambda: Sched().add_noise(x, x, torch.tensor([0, 1])),
        "2.1.2": lambda: Sched().denoise_step(x, 1, x),
        "2.3.2": lambda: Sched().denoise_step(x, 1, x, threshold=True),
        "2.2.2": lambda: model().drop_condition(torch.tensor([1, 2])),
        "2.2.1": lambda: model().compute_loss_on_batch(x, torch.tensor([1, 2])),
        "2.2.3": lambda: model().generate_sample(torch.tensor([1, 2])),
    }
    seen = {}
    for task, call in calls.items():
        try:
            call()
            seen[task] = "returned"
        except NotImplementedError as err:
            seen[task] = str(err)
    print(json.dumps(seen))
    """
)


def test_release_package_imports_and_each_core_task_stops_at_its_own_todo(release_dir):
    result = subprocess.run(
        [sys.executable, "-c", EXERCISE], cwd=release_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    for task, message in seen.items():
        assert message.startswith(f"task {task}:"), f"task {task}: {message}"


def _api(folder: Path) -> dict:
    result = subprocess.run(
        [sys.executable, str(API_DUMP)], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_stubs_and_reference_share_names_signatures_and_docstrings(release_dir, reference_dir):
    release_api, reference_api = _api(release_dir), _api(reference_dir)
    assert release_api == reference_api
    assert "DiffusionModel" in reference_api["diffusion_models.diffusion_model"]


# ---------------------------------------------------------------- the marker grammar
GOOD = "def f():\n    ### BEGIN SOLUTION task 1.2: the thing, eq. 3\n    return 1\n    ### END SOLUTION\n"


def test_stub_and_reference_of_a_region():
    assert to_stub(GOOD) == (
        "def f():\n    # TODO task 1.2: the thing, eq. 3\n"
        '    raise NotImplementedError("task 1.2: the thing, eq. 3")\n'
    )
    assert to_reference(GOOD) == "def f():\n    return 1\n"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n", 1, "must name its task"),
        ("    ### BEGIN SOLUTION task 2.1\n    x = 1\n    ### END SOLUTION\n", 1, "must name its task"),
        ("x = 1\n### END SOLUTION\n", 2, "without a BEGIN"),
        ("### BEGIN SOLUTION task 1: a\nx = 1\n", 1, "never closed"),
        ("### BEGIN SOLUTION task 1: a\n### BEGIN SOLUTION task 2: b\n### END SOLUTION\n", 2, "nested"),
        ("### BEGIN SOLUTION task 1: a\n### END SOLUTION\n", 2, "empty"),
    ],
)
def test_malformed_markers_name_file_and_line(text, line, problem):
    with pytest.raises(MarkerError, match=problem) as info:
        to_stub(text, "pkg/mod.py")
    assert str(info.value).startswith(f"pkg/mod.py:{line}:")


def test_build_refuses_solutions_with_bad_markers(tmp_path):
    solutions = tmp_path / "solutions"
    (solutions / PACKAGE).mkdir(parents=True)
    (solutions / PACKAGE / "bad.py").write_text("### BEGIN SOLUTION task 1: a\nx = 1\n")
    with pytest.raises(MarkerError, match="bad.py:1: BEGIN SOLUTION task 1 is never closed"):
        build(tmp_path / "out", solutions)
    assert not (tmp_path / "out").exists()  # nothing written


def test_build_copies_other_files_verbatim(tmp_path):
    fresh_release, _ = build(tmp_path)
    given = [
        path
        for path in SOLUTIONS_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != NOTEBOOK_TEXT
    ]
    assert given and all(path.suffix != ".ipynb" for path in given)  # the notebook: built from NOTEBOOK_TEXT
    assert not (fresh_release / NOTEBOOK_TEXT).exists()  # the text notebook is built, not copied
    for path in given:  # .py files become stubs
        if path.suffix != ".py":
            assert filecmp.cmp(path, fresh_release / path.relative_to(SOLUTIONS_DIR), shallow=False)
    assert filecmp.cmp(
        REPO_ROOT / "collect_submission.sh", fresh_release / "collect_submission.sh", shallow=False
    )
