"""Write ``source/diffusion/diffusion.ipynb``, the nbgrader source notebook of the homework.

    python -m kit.notebook_source            # rewrite the notebook (python -m kit.release does it first)
    python -m kit.notebook_source --check    # exit 1 when the committed notebook is out of date

The notebook is written from here so that its prose reads as one document, its autograded cells
follow one pattern, and their points are the autograder's: each task's cell is worth exactly the
points of that task's checks in ``autograder.checks`` (a change there changes the notebook, and
``tests/test_notebook.py`` fails until it is regenerated). Which file each TODO lives in is read from
the solution markers of ``solutions/diffusion_models``.

Cells carry nbgrader's metadata (schema 3):

- one **autograded** code cell per task (``check_<task>``): visible, it runs the task's public checks
  (``public_checks.check``); hidden (``### BEGIN HIDDEN TESTS``), it ends with a placeholder value
  that nbgrader's own process replaces by the task's points from the full autograder, run outside the
  kernel (:mod:`autograder.nbgrader.cells`, :mod:`autograder.nbgrader.scores`);
- one **manually graded** markdown answer cell per written question (``answer_<name>``), holding the
  model answer; ``nbgrader generate_assignment`` replaces it by "YOUR ANSWER HERE".

Do not edit the .ipynb by hand: edit this file and rerun it.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from . import PACKAGE, SOLUTIONS_DIR, SOURCE_DIR
from .markers import find_regions

NOTEBOOK_PATH = SOURCE_DIR / "diffusion.ipynb"
SMALL_ENV = "DIFFUSION_NOTEBOOK_SMALL"  # =1: every training and sampling run shrinks to seconds
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"

# What each task asks, in the words of its check cell's first line.
TASK_TITLES = {
    "2.1.1a": "NoiseScheduler.__init__: betas, alphas, alpha_bars",
    "2.1.1b": "NoiseScheduler.add_noise: q(x_t | x_0), eq. 4",
    "2.1.2": "NoiseScheduler.denoise_step: one reverse step, Algorithm 2",
    "2.2.1": "DiffusionModel.compute_loss_on_batch: the training loss, Algorithm 1",
    "2.2.2": "DiffusionModel.drop_condition: classifier-free guidance training",
    "2.2.3": "DiffusionModel.generate_sample: sampling with guidance, CFG eq. 6",
    "2.3.1": "ImageGenerator.__init__: input_shape, condition_dim and the model",
    "2.3.2": "NoiseScheduler.denoise_step(threshold=True): eq. 15 and eq. 7",
    "2.4.1": "make_windows and Normalizer: training windows, [-1, 1] scaling",
    "2.4.2": "rollout: receding-horizon control",
}


# ---------------------------------------------------------------------------------------- inputs
def task_files(solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, list[str]]:
    """Task -> the package files (relative to the assignment folder) whose solution markers name it."""
    files: dict[str, list[str]] = {}
    for path in sorted((solutions_dir / PACKAGE).rglob("*.py")):
        relative = path.relative_to(solutions_dir).as_posix()
        for region in find_regions(path.read_text(encoding="utf-8"), path):
            if relative not in files.setdefault(region.task, []):
                files[region.task].append(relative)
    return files


@dataclass(frozen=True)
class Grading:
    """What the autograder grades: points per task, the points of its public checks (the rest is graded
    by hidden checks after submission), and the tasks that have public checks."""

    points: dict[str, float]
    public_tasks: frozenset[str]
    public_points: dict[str, float] = field(default_factory=dict)

    def split(self, task: str) -> tuple[float, float]:
        """(public, hidden) points of ``task``."""
        public = self.public_points.get(task, 0.0)
        return public, self.points.get(task, 0.0) - public


def autograder_grading() -> Grading:
    """Read the autograder's registry (``autograder.checks``) and its public checks."""
    from autograder.checks import all_groups
    from autograder.public import PUBLIC_CHECKS

    points: dict[str, float] = {}
    public_points: dict[str, float] = {}
    for group in all_groups():
        for check in group.checks:
            points[check.task] = points.get(check.task, 0.0) + float(check.points)
            if check.public:
                public_points[check.task] = public_points.get(check.task, 0.0) + float(check.points)
    return Grading(points, frozenset(c.task for c in PUBLIC_CHECKS), public_points)


# ---------------------------------------------------------------------------------------- cells
def check_grade_id(task: str) -> str:
    """nbgrader's grade_id of ``task``'s autograded cell: ``check_2_1_2`` for task 2.1.2."""
    return "check_" + task.replace(".", "_")


def _text(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = int(points) if float(points).is_integer() else points
    return meta


class NotebookWriter:
    """Collects cells in order; ids are stable (the grade_id, else a running number)."""

    def __init__(self, files: dict[str, list[str]], grading: Grading) -> None:
        self.files, self.grading = files, grading
        self.cells: list[NotebookNode] = []

    def _add(self, cell: NotebookNode, cell_id: str | None = None) -> None:
        cell["id"] = cell_id or f"cell-{len(self.cells):03d}"
        self.cells.append(cell)

    def md(self, source: str) -> None:
        self._add(nbformat.v4.new_markdown_cell(_text(source)))

    def code(self, source: str) -> None:
        self._add(nbformat.v4.new_code_cell(_text(source)))

    def answer(self, name: str, points: float, model_answer: str) -> None:
        """A manually graded markdown cell; its text is the model answer, hidden from students."""
        grade_id = f"answer_{name}"
        cell = nbformat.v4.new_markdown_cell(_text(model_answer))
        cell.metadata["nbgrader"] = _nbgrader(
            grade_id, grade=True, solution=True, locked=False, points=points
        )
        self._add(cell, grade_id)

    def todo(self, task: str, what: str) -> None:
        """The TODO box of a task: the files to edit (from the solution markers) and what to do."""
        where = " and ".join(f"`{f}`" for f in self.files[task])
        body = "\n".join(f"> {line}" for line in _text(what).splitlines())
        self.md(f"> **TODO, task {task}** ({where}):\n{body}")

    def check(self, task: str) -> None:
        """The task's check cell: public checks for students, the full autograder at autograde time."""
        title = TASK_TITLES[task]
        where = ", ".join(self.files.get(task, []))
        points = self.grading.points.get(task)
        visible = [f"# Task {task}: {title} ({where})."]
        public, hidden = self.grading.split(task)  # the autograder's registry, never typed in here
        if points is None:
            visible += ["# Not autograded."]
        elif public:
            visible += [
                f"# Autograded, {points:g} points: {public:g} from the public checks below, "
                f"{hidden:g} more from hidden checks graded after you submit."
            ]
        else:
            visible += [f"# Autograded, {points:g} points, all from hidden checks graded after you submit."]
        if task in self.grading.public_tasks:
            visible += [
                "# Its public checks print [PASS], or [FAIL] with what was expected and what came back.",
                "from public_checks import check",
                "",
                f'_ = check("{task}")',
            ]
        elif points is None:
            visible += ["# No automatic checks of this task yet: the cells below exercise it."]
        if points is None:  # not graded: a plain cell with the public checks, if any
            self.code("\n".join(visible))
            return
        source = "\n".join(
            [
                HIDDEN_BEGIN,
                "from autograder.nbgrader.cells import prepare_autograding, recorded_by_nbgrader",
                "",
                "prepare_autograding()",
                HIDDEN_END,
                *visible,
                HIDDEN_BEGIN,
                f'recorded_by_nbgrader("{task}")',
                HIDDEN_END,
            ]
        )
        grade_id = check_grade_id(task)
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = _nbgrader(
            grade_id, grade=True, solution=False, locked=True, points=points
        )
        self._add(cell, grade_id)


# ---------------------------------------------------------------------------------------- the notebook
WRITTEN_POINTS = {  # manually graded answers
    "forward_marginal": 2,
    "augmentations": 4,
    "guidance_without_retraining": 2,
    "thresholding": 3,
    "thresholded_samples": 2,
}
PARTS = {
    "2.1": ("Noise scheduler", ("2.1.1a", "2.1.1b", "2.1.2"), ("forward_marginal",)),
    "2.2": ("The diffusion model", ("2.2.1", "2.2.2", "2.2.3"), ()),
    "2.3": (
        "Image generation",
        ("2.3.1", "2.3.2"),
        ("augmentations", "guidance_without_retraining", "thresholding", "thresholded_samples"),
    ),
    "2.4": ("Robotics: a diffusion policy", ("2.4.1", "2.4.2"), ()),
}


def _points_table(grading: Grading) -> str:
    """Points per part: autograded (by public checks you run, plus hidden checks after you submit)
    and written."""
    rows = [
        "| part | autograded: public + hidden checks | written | tasks |",
        "| --- | --- | --- | --- |",
    ]
    totals = [0.0, 0.0, 0.0]
    for part, (name, tasks, questions) in PARTS.items():
        public = sum(grading.split(task)[0] for task in tasks)
        hidden = sum(grading.split(task)[1] for task in tasks)
        written = sum(WRITTEN_POINTS[q] for q in questions)
        totals = [totals[0] + public, totals[1] + hidden, totals[2] + written]
        rows.append(
            f"| {part} {name} | {public + hidden:g}: {public:g} + {hidden:g} | {written:g} | {', '.join(tasks)} |"
        )
    public, hidden, written = totals
    rows.append(f"| **total** | **{public + hidden:g}: {public:g} + {hidden:g}** | **{written:g}** | |")
    return "\n".join(rows)


def _intro(nb: NotebookWriter) -> None:
    nb.md(
        _text(
            """
        # Diffusion models with classifier-free guidance

        In this homework you implement a denoising diffusion probabilistic model (DDPM; Ho, Jain and
        Abbeel 2020, [arXiv 2006.11239](https://arxiv.org/abs/2006.11239)) trained with classifier-free
        guidance (CFG; Ho and Salimans 2022, [arXiv 2207.12598](https://arxiv.org/abs/2207.12598)), and
        use it twice: to generate images of a chosen class (part 2.3) and to plan the actions of a robot
        (part 2.4). Equation numbers refer to these two papers; read section 2 and 3 of DDPM and
        section 3 of CFG as you go.

        **How this works.**

        - You write code in the package `diffusion_models/` next to this notebook. Each place to fill in
          reads `# TODO task X: ...` followed by `raise NotImplementedError("task X: ...")`; replace both
          lines with your code. The TODO boxes below name the file and the task.
        - After each task, run its **check cell**. It runs the task's public checks on your code and
          prints `[PASS]`, or `[FAIL]` with what was expected, what came back and a hint. The autograder
          runs the same checks and hidden ones on top: each check cell says how many of the task's
          points its public checks carry and how many more hidden checks grade after you submit
          (the table below sums them up). Passing the public checks is necessary, not sufficient.
        - Answer the written questions in the cells that say "YOUR ANSWER HERE"; they are graded by hand.
        - **Timesteps are zero-indexed.** Algorithms 1 and 2 of the DDPM paper count t from 1 to T; here
          t runs over 0, ..., T-1, t = 0 is the last denoising step, and the paper's $\\beta_1$ is
          `betas[0]`.
        - The notebook runs on a CPU or a GPU without edits: the device is chosen for you (CUDA when it
          is available). Your package is reloaded when you edit it (`%autoreload`); restart the kernel if
          something still behaves oddly.
        - Submit with `collect_submission.sh` (last cell).
        """
        )
        + "\n\n"
        + _points_table(nb.grading)
    )
    nb.code(
        f"""
        %matplotlib inline
        %load_ext autoreload
        %autoreload 2

        import os

        import matplotlib.pyplot as plt
        import numpy as np
        import torch
        from diffusion_models import NoiseScheduler, default_device

        device = default_device()  # CUDA when available, else the CPU
        ON_GPU = device.type == "cuda"
        # SMALL shrinks every run below to seconds. It is on for the course's own tests ({SMALL_ENV}=1)
        # and while nbgrader autogrades, since your points come from the check cells, not from these runs.
        SMALL = (
            os.environ.get("{SMALL_ENV}") == "1" or os.environ.get("NBGRADER_EXECUTION") == "autograde"
        )
        torch.manual_seed(0)
        print(f"torch {{torch.__version__}} on {{device}}" + (" (SMALL settings)" if SMALL else ""))
        """
    )
    nb.code(
        """
        # Settings of the runs in parts 2.3 and 2.4. Change them freely for your experiments.
        DATASET = "digits"  # scikit-learn's 8x8 digits, bundled; "cifar10" needs CIFAR-10's python files
        IMAGE_CLASSES = None  # None: every class of the dataset (digits: 0-9)
        IMAGE_STEPS = 1000 if ON_GPU else 250  # T; below 1000 the betas are stretched to keep x_{T-1} noise
        IMAGE_EPOCHS = 160  # passes over the 1797 digits: about 3 minutes on a 2-core CPU at T = 250
        IMAGE_BATCH = 128
        SAMPLES_PER_CLASS = 8
        ROBOT_DEMOS = 200  # scripted demonstrations; with 100 epochs the policy reaches the goal every time
        ROBOT_EPOCHS = 100  # up to 10 minutes per policy on a 2-core CPU; below about 40 it fails (0% success)
        ROBOT_STEPS = 50  # T of the policy
        ROBOT_WIDTHS = (32, 64, 128)  # channels of the 1D U-Net's levels
        ROBOT_BATCH = 256
        ROBOT_EPISODES = 20  # evaluation rollouts
        ROBOT_MAX_STEPS = 100  # the environment's own limit
        if SMALL:  # the pipeline runs end to end; the pictures are noise
            IMAGE_CLASSES, IMAGE_STEPS, IMAGE_EPOCHS, IMAGE_BATCH, SAMPLES_PER_CLASS = (0, 1), 10, 1, 64, 2
            ROBOT_DEMOS, ROBOT_EPOCHS, ROBOT_STEPS, ROBOT_WIDTHS, ROBOT_BATCH = 4, 1, 5, (16, 32, 64), 64
            ROBOT_EPISODES, ROBOT_MAX_STEPS = 2, 16
        """
    )


def _part_2_1(nb: NotebookWriter) -> None:
    nb.md(
        """
        ## Part 2.1: the noise scheduler

        ### 2.1.1 The forward process (adding noise)

        The forward process takes a clean sample $x_0$ and adds Gaussian noise in T small steps,
        $q(x_t \\mid x_{t-1}) = \\mathcal{N}(\\sqrt{1 - \\beta_t}\\, x_{t-1}, \\beta_t I)$, with a fixed
        variance schedule $\\beta_t$ (DDPM, section 2). We use the paper's linear schedule,
        $\\beta$ from `beta_start` = $10^{-4}$ to `beta_end` = 0.02, and write
        $\\alpha_t = 1 - \\beta_t$ and $\\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s$.
        Read eq. 4 before you start.
        """
    )
    nb.todo(
        "2.1.1a",
        """
        in `NoiseScheduler.__init__`, set `self.betas` (linspace from `beta_start` to `beta_end`, T
        points), `self.alphas` and `self.alpha_bars` (a cumulative product): float32 tensors of shape
        (T,) on `self.device`. Zero-indexed: `alphas[0]` is 1 - `beta_start`.
        """,
    )
    nb.todo(
        "2.1.1b",
        """
        `NoiseScheduler.add_noise(original_samples, noise, timesteps)` returns
        $x_t = \\sqrt{\\bar\\alpha_t}\\, x_0 + \\sqrt{1 - \\bar\\alpha_t}\\, \\epsilon$ (eq. 4) for a batch:
        each sample has its own timestep, and the samples may have any shape (B, ...), so reshape the
        per-sample coefficients to broadcast.
        """,
    )
    nb.md(
        """
        **Question (2.1.1).** What does $q(x_t \\mid x_0)$ represent for a diffusion model, and why does
        it matter for training? (Read section 2 of the DDPM paper.)
        """
    )
    nb.answer(
        "forward_marginal",
        WRITTEN_POINTS["forward_marginal"],
        """
        **Model answer.** $q(x_t \\mid x_0)$ is the marginal of the forward (noising) process: the
        distribution of the noisy sample at step t given the clean data point $x_0$, after all the
        Gaussian steps up to t are composed. Because every step is Gaussian with a fixed variance, it has
        a closed form (eq. 4):
        $q(x_t \\mid x_0) = \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1 - \\bar\\alpha_t) I)$, i.e.
        $x_t = \\sqrt{\\bar\\alpha_t}\\, x_0 + \\sqrt{1 - \\bar\\alpha_t}\\, \\epsilon$ with
        $\\epsilon \\sim \\mathcal{N}(0, I)$. It has no learned parameters.

        Why it matters:
        - **Training samples any t in one step**, without simulating the chain $x_0 \\to x_1 \\to \\dots
          \\to x_t$: Algorithm 1 draws t uniformly, draws one $\\epsilon$ and forms $x_t$ directly, so
          each minibatch covers random noise levels at the cost of one network call.
        - The same reparameterisation makes the target simple: the network predicts the $\\epsilon$ that
          produced $x_t$, and the loss is a plain mean squared error (eq. 14).
        - $\\bar\\alpha_t$ says how much signal is left: it falls from about 1 at t = 0 to nearly 0 at
          t = T-1, so $x_{T-1}$ is almost $\\mathcal{N}(0, I)$, which is why sampling can start from pure
          noise. Inverting eq. 4 also gives the estimate of $x_0$ (eq. 15) used for thresholding.
        """,
    )
    nb.check("2.1.1a")
    nb.check("2.1.1b")
    nb.code(
        """
        # The forward process on one digit: alpha_bar_t, and x_t at a few timesteps.
        from diffusion_models.computer_vision import images_to_tensor, load_digits

        scheduler = NoiseScheduler(1000, device=device)
        steps = [0, 50, 100, 250, 500, 999]
        x0 = images_to_tensor(load_digits().images[:1]).to(device).repeat(len(steps), 1, 1, 1)  # (6, 1, 8, 8)
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)).to(device)
        x_t = scheduler.add_noise(x0, eps, torch.tensor(steps, device=device))

        fig, axes = plt.subplots(1, len(steps) + 1, figsize=(12, 2))
        axes[0].plot(scheduler.alpha_bars.cpu())
        axes[0].set_title("alpha_bar_t")
        axes[0].set_xlabel("t")
        for ax, t, image in zip(axes[1:], steps, x_t.cpu(), strict=True):
            ax.imshow(image[0], cmap="gray", vmin=-1, vmax=1)
            ax.set_title(f"x_t, t = {t}")
            ax.axis("off")
        plt.show()
        """
    )
    nb.md(
        """
        ### 2.1.2 The reverse process (removing noise)

        A reverse step takes the noisy sample $x_t$, the timestep t and the network's noise prediction
        $\\epsilon_\\theta(x_t, t)$, and samples a slightly less noisy $x_{t-1}$ (DDPM, section 3.2 and
        Algorithm 2, line 4):
        $x_{t-1} = \\frac{1}{\\sqrt{\\alpha_t}}\\left(x_t - \\frac{\\beta_t}{\\sqrt{1 - \\bar\\alpha_t}}\\,
        \\epsilon_\\theta\\right) + \\sigma_t z$ with $\\sigma_t^2 = \\beta_t$ and
        $z \\sim \\mathcal{N}(0, I)$, and no noise on the last step (t = 0 here).
        """
    )
    nb.todo(
        "2.1.2",
        """
        `NoiseScheduler.denoise_step(model_prediction, t, x_t, threshold=False, generator=None)`
        without thresholding (that is task 2.3.2): the mean of Algorithm 2, plus $\\sqrt{\\beta_t}\\, z$
        for t > 0. Draw z with `randn(..., generator=generator)` from `diffusion_models.randomness`, so
        that the same generator gives the same step.
        """,
    )
    nb.check("2.1.2")


def _part_2_2(nb: NotebookWriter) -> None:
    nb.md(
        """
        ## Part 2.2: the diffusion model

        `DiffusionModel` holds a noise-prediction network $\\epsilon_\\theta(x_t, t, c)$ (a 1D U-Net for
        action sequences, a 2D U-Net for images), its `NoiseScheduler`, and the training and sampling
        code. Every network is called as `net(x_t, t, cond)` with `t` a (B,) int64 tensor.

        ### 2.2.1 The training loss

        Algorithm 1 of DDPM: draw $t \\sim \\mathrm{Uniform}\\{0, \\dots, T-1\\}$ per sample and
        $\\epsilon \\sim \\mathcal{N}(0, I)$, form $x_t$ with `add_noise`, and regress the network's output
        on $\\epsilon$ with a mean squared error.
        """
    )
    nb.todo(
        "2.2.1",
        """
        `DiffusionModel.compute_loss_on_batch(data, cond, generator=None)`: Algorithm 1, returning a
        differentiable scalar. Pass the condition through `self.drop_condition(cond, generator)` (task
        2.2.2) before the network call, and draw t and $\\epsilon$ with `diffusion_models.randomness` and
        `generator`.
        """,
    )
    nb.check("2.2.1")
    nb.md(
        """
        ### 2.2.2 Classifier-free guidance: training

        Guided sampling (2.2.3) needs two noise predictions, a conditional one
        $\\epsilon_\\theta(x_t, t, c)$ and an unconditional one $\\epsilon_\\theta(x_t, t, \\varnothing)$.
        CFG trains both with one network: during training, each sample's condition is replaced by the
        null token $\\varnothing$ with probability `p_uncond` (CFG, section 3.2 and Algorithm 1). The null
        token is all zeros: for images the class label 0, which is why `condition_dim` is the number of
        classes + 1.
        """
    )
    nb.todo(
        "2.2.2",
        """
        `DiffusionModel.drop_condition(cond, generator=None)`: a new tensor in which each sample's
        condition, independently with probability `self.p_uncond`, is all zeros. Do not modify `cond` in
        place.
        """,
    )
    nb.check("2.2.2")
    nb.md(
        """
        ### 2.2.3 Sampling with guidance

        Draw $x_{T-1} \\sim \\mathcal{N}(0, I)$ and denoise it step by step, t = T-1 down to 0. At each
        step use the guided noise estimate of CFG eq. 6,
        $\\tilde\\epsilon_\\theta(x_t, t, c) = (1 + w)\\, \\epsilon_\\theta(x_t, t, c) - w\\,
        \\epsilon_\\theta(x_t, t, \\varnothing)$, where w is the guidance weight (w = 0 is the plain
        conditional model), then take the reverse step of 2.1.2.
        """
    )
    nb.todo(
        "2.2.3",
        """
        `DiffusionModel.generate_sample(cond, guidance_weight=0.0, threshold=False, generator=None)`:
        the loop above, with the null condition `torch.zeros_like(cond)`, calling
        `self.noise_scheduler.denoise_step(eps, t, x_t, threshold, generator)`. It already runs without
        gradients and with the network in evaluation mode.
        """,
    )
    nb.check("2.2.3")


def _part_2_3(nb: NotebookWriter) -> None:
    nb.md(
        """
        ## Part 2.3: image generation

        Diffusion models are best known for images, and parts 2.1 and 2.2 did most of the work: the file
        `diffusion_models/computer_vision/image_gen.py` handles the data and the plots. We use the 8x8
        handwritten digits bundled with scikit-learn (1797 images, 10 classes), which train in minutes
        on a CPU; CIFAR-10 (airplanes, cars, birds, as in the original homework) works the same way with
        `DATASET = "cifar10"` once its python files are on disk, and wants a GPU.

        Class labels: the K classes become condition labels 1, ..., K and label 0 is the null token.
        """
    )
    nb.todo(
        "2.3.1",
        """
        in `ImageGenerator.__init__`, set `self.input_shape` = (C, H, W) of the images,
        `self.condition_dim` = K + 1, and `self.policy`, a `DiffusionModel(..., sequential=False)` built
        with the constructor's arguments. A `condition_dim` that counts only the classes is the classic
        bug here: label K would then be out of range.
        """,
    )
    nb.check("2.3.1")
    nb.code(
        """
        from diffusion_models.computer_vision import ImageGenerator, plot_image

        generator = ImageGenerator(
            DATASET, denoising_steps=IMAGE_STEPS, classes=IMAGE_CLASSES, batch_size=IMAGE_BATCH
        )
        print(
            f"{len(generator.data)} training images, input_shape {generator.input_shape}, "
            f"classes {generator.class_names}, condition_dim {generator.condition_dim}, "
            f"device {generator.policy.device}"
        )
        real = np.concatenate([generator.data.images[generator.data.labels == k][:8] for k in generator.class_ids])
        generator.plot_image(real, title="training images")
        """
    )
    nb.md(
        """
        ### Data augmentation (optional)

        Augmentation enlarges a dataset with transformed copies of its images. You may have used it to
        train a classifier; for a generator, the augmentations worth using are not the same.
        `diffusion_models/computer_vision/augment.py` implements two, shown below: a mirror image
        (`"hflip"`) and a shift by one pixel (`"translate"`). Whether each of them suits a generator of
        these digits is for you to judge (see the question below). To train with some, pass their names,
        e.g. `augmentations=("translate",)`, to `ImageGenerator`; optionally add your own in
        `augment.py`. Training on a larger dataset takes longer, so this is not required.

        **Question (2.3, augmentations).** Why might we want a classifier to be invariant to different
        augmentations than a generator? Name two augmentations that we might use on a classification
        dataset but not on a dataset for a generative model, and two that suit a generative model (they
        may suit a classifier too).
        """
    )
    nb.answer(
        "augmentations",
        WRITTEN_POINTS["augmentations"],
        """
        **Model answer.** A classifier models $p(y \\mid x)$: an augmentation only has to keep the
        label, and making the classifier invariant to it is the point, even if the augmented images look
        nothing like real data (they act as a regulariser). A generator models $p(x \\mid y)$ and learns
        to *produce* whatever it is trained on: every augmented image becomes an example of what it should
        generate. So a generator's augmentations must keep the images on the data distribution, as likely
        as the originals; otherwise it reproduces the artefacts (augmentations "leak" into the samples).

        Classifier yes, generator no (each keeps the label but makes unrealistic images):
        - Gaussian noise or blur: the generator would learn to produce noisy or blurry images.
        - Cutout / random erasing: samples would contain grey or black patches.
        - (also: strong colour jitter or grayscale, large rotations such as upside-down cars, heavy crops.)

        Suitable for a generator (and for a classifier):
        - Horizontal flips where the world is mirror-symmetric: a mirrored car, plane or bird is still a
          realistic photo (CIFAR-10). Not for digits or text: a mirrored 3 is not a digit.
        - Small translations (a shift or crop of a pixel or two, edges padded): objects are not always
          centred, so shifted images are as likely as the originals. (Also: mild rescaling.)
        """,
    )
    nb.code(
        """
        # The augmentations of augment.py on the first training images.
        from diffusion_models.computer_vision import AUGMENTATIONS, augment

        augmented = augment(generator.data, AUGMENTATIONS)  # the data followed by one copy per augmentation
        n = len(generator.data)
        rows = [augmented.images[k * n : k * n + 8] for k in range(1 + len(AUGMENTATIONS))]
        plot_image(np.concatenate(rows), columns=8, title="rows: original, " + ", ".join(AUGMENTATIONS))
        """
    )
    nb.md(
        """
        ### Training, and samples without guidance

        Train the model (a progress bar shows the steps), then generate `SAMPLES_PER_CLASS` images of
        each class with w = 0, the plain conditional model. Every sampling cell below starts from the
        same noise (`torch.Generator().manual_seed(0)`), so the images differ only by the settings.
        """
    )
    nb.code(
        """
        losses = generator.train_policy(epochs=IMAGE_EPOCHS)
        plt.figure(figsize=(4, 2.5))
        plt.plot(range(1, len(losses) + 1), losses, marker=".")
        plt.xlabel("epoch")
        plt.ylabel("mean training loss")
        plt.show()
        """
    )
    nb.code(
        """
        def show_samples(w: float, threshold: bool = False):
            images = generator.generate_images(
                guidance=w,
                num_samples=SAMPLES_PER_CLASS,
                threshold=threshold,
                generator=torch.Generator().manual_seed(0),
            )
            return generator.plot_image(images, title=f"w = {w}" + (", thresholded" if threshold else ""))


        show_samples(0)
        """
    )
    nb.md(
        """
        ### Samples with guidance

        Now generate with guidance weights w = 0.5, 1, 2 and 5. We do not retrain the model for this:
        guidance is applied purely at sampling time.

        **Question (2.3, guidance).** Explain why we do not have to retrain the model to sample with a
        different guidance weight.
        """
    )
    nb.answer(
        "guidance_without_retraining",
        WRITTEN_POINTS["guidance_without_retraining"],
        """
        **Model answer.** Classifier-free guidance trains one network that is both the conditional model
        $\\epsilon_\\theta(x_t, t, c)$ and the unconditional one $\\epsilon_\\theta(x_t, t, \\varnothing)$:
        the null-token dropout of task 2.2.2 (probability `p_uncond`) teaches it both. The guidance
        weight appears only at sampling time, in the linear combination of the two predictions,
        $\\tilde\\epsilon = (1 + w)\\, \\epsilon_\\theta(x_t, t, c) - w\\, \\epsilon_\\theta(x_t, t,
        \\varnothing)$ (CFG eq. 6). It is not a parameter of the network or of the loss, so the same
        weights serve every w: changing w changes how two outputs of the trained network are mixed, not
        the network. (Nor is a separate classifier needed, unlike classifier guidance.)
        """,
    )
    for w in ("0.5", "1", "2", "5"):
        nb.code(f"show_samples({w})")
    nb.md(
        """
        ### 2.3.2 Thresholding

        With large guidance weights the samples often saturate. A fix is to compute, in each reverse
        step, the model's current estimate of the clean sample (DDPM eq. 15),
        $\\hat x_0 = \\left(x_t - \\sqrt{1 - \\bar\\alpha_t}\\, \\epsilon\\right) / \\sqrt{\\bar\\alpha_t}$,
        clip it to the data range [-1, 1], and take the step as the mean of the posterior
        $q(x_{t-1} \\mid x_t, \\hat x_0)$ (eq. 6 and 7):
        $\\tilde\\mu_t = \\frac{\\sqrt{\\bar\\alpha_{t-1}}\\, \\beta_t}{1 - \\bar\\alpha_t}\\, \\hat x_0 +
        \\frac{\\sqrt{\\alpha_t}\\, (1 - \\bar\\alpha_{t-1})}{1 - \\bar\\alpha_t}\\, x_t$, with
        $\\bar\\alpha_{-1} = 1$ (zero-indexed), then add $\\sqrt{\\beta_t}\\, z$ as before (none at t = 0).

        **Question (2.3, thresholding).** What does thresholding the estimate of $x_0$ to [-1, 1] do, and
        why? Why is it particularly useful with large guidance weights? With guidance weight 0, how often
        does the estimate leave [-1, 1], in which steps, and how much does thresholding then change the
        samples? (In a step where the estimate stays inside [-1, 1], nothing is clipped and the step is
        exactly the one without thresholding: see the TODO below.)
        """
    )
    nb.answer(
        "thresholding",
        WRITTEN_POINTS["thresholding"],
        """
        **Model answer.** Each reverse step implicitly predicts the clean image,
        $\\hat x_0 = (x_t - \\sqrt{1 - \\bar\\alpha_t}\\, \\epsilon)/\\sqrt{\\bar\\alpha_t}$ (eq. 15), and
        moves $x_t$ towards it. The data lie in [-1, 1] (pixels scaled from [0, 255]), so any estimate
        outside that range is certainly wrong. Thresholding clips $\\hat x_0$ to [-1, 1] and steps to the
        posterior mean of eq. 7 given the clipped estimate: the trajectory is pulled back to the data
        range at every step instead of drifting further out, and errors do not compound.

        Large w: the guided estimate $(1 + w)\\, \\epsilon_c - w\\, \\epsilon_u$ extrapolates away from the
        unconditional prediction, and its size grows with w. Divided by $\\sqrt{\\bar\\alpha_t}$, which is
        tiny at high t, this pushes $\\hat x_0$ far outside [-1, 1]; without clipping the samples come out
        saturated, over-contrasted and with artefacts (pixels stuck at black or white). Clipping removes
        exactly this, so higher w becomes usable (the "static thresholding" of Imagen, Saharia et al. 2022).

        At w = 0 the estimate comes from the model's own conditional prediction. For a well-trained model
        it mostly stays in range, so thresholding changes little: it still acts in the early, noisiest
        steps, where $\\hat x_0$ is a poor estimate and can leave [-1, 1] (more so for an under-trained
        model), so it is not exactly a no-op, but its effect on the final samples is small, and much
        smaller than at large w.
        """,
    )
    nb.todo(
        "2.3.2",
        """
        the `threshold=True` branch of `NoiseScheduler.denoise_step`: $\\hat x_0$ by eq. 15, clamped to
        [-1, 1], the posterior mean of eq. 7 (with $\\bar\\alpha_{-1} = 1$ at t = 0), then the same noise
        as in 2.1.2. For an estimate already inside [-1, 1] the clamp changes nothing, and then eq. 7 gives
        exactly the mean of Algorithm 2: the two branches differ only where the estimate is clipped.
        """,
    )
    nb.check("2.3.2")
    nb.md("Now the same sweep with thresholding: w = 0, 0.5, 1, 2 and 5, from the same starting noise.")
    for w in ("0", "0.5", "1", "2", "5"):
        nb.code(f"show_samples({w}, threshold=True)")
    nb.md(
        """
        **Question (2.3, results).** How do the samples with thresholding compare with those without?
        With thresholding and a high guidance weight, which class-specific features are most prominent?
        Which settings gave you the best images?
        """
    )
    nb.answer(
        "thresholded_samples",
        WRITTEN_POINTS["thresholded_samples"],
        """
        **Model answer** (what the reference solution gives on the digits with the default CPU settings,
        as `make demo` runs them: T = 250, 160 epochs; grade the student's account of their own figures).
        Without guidance (w = 0) most samples are recognisable digits, but some are malformed or ambiguous
        (a classifier trained on real digits recognises about 97% of them). As w grows the digits become
        prototypical: from w = 2 on every sample is clearly its class, strokes are bolder with more
        contrast, and the samples of a class look more and more alike. Diversity is lost, so the
        distance to the real digits (Fréchet distance of classifier features) is smallest around
        w = 0.5 to 1 and grows again at w = 2 and 5.

        With thresholding, the samples at w = 0 and 0.5 are almost unchanged. At large w it tempers the
        saturation and the stray bright pixels, and the samples come closer to real digits (Fréchet
        distance 1.05 -> 0.77 at w = 5, 0.46 -> 0.40 at w = 2 in one run of `make demo`; the figures
        move a little from run to run, the ordering does not), though on 8x8 grey digits the visible
        difference is small; on colour photographs, large w without thresholding is known to give
        over-saturated colours (Saharia et al. 2022, Imagen). With thresholding and high w the features that define each class
        dominate: the closed loop of 0, the single vertical stroke of 1, the open top and crossbar of 4,
        the flat top bar of 7, the two loops of 8, while variations of slant, thickness and style
        disappear. The best images come from moderate guidance, w = 0.5 to 1, with thresholding (at
        small w it makes little difference): recognisable and still varied; w = 5 gives the most typical
        but least diverse digits.
        """,
    )
    nb.md(
        """
        ### Free experiments

        Experiment with training time, guidance weights and thresholding (or augmentations, or a class at
        a time with `class_label=`), and try to get the best images you can, or show something else
        interesting. Make at least two more generations below.
        """
    )
    nb.code(
        """
        # Room for your experiments. One to start from: a single class at w = 3, thresholded.
        one_class = generator.class_ids[-1]
        images = generator.generate_images(
            guidance=3,
            num_samples=SAMPLES_PER_CLASS,
            threshold=True,
            class_label=one_class,
            generator=torch.Generator().manual_seed(1),
        )
        generator.plot_image(
            images, labels=generator.generated_labels(SAMPLES_PER_CLASS, one_class), title="w = 3, thresholded"
        )
        """
    )


def _part_2_4(nb: NotebookWriter) -> None:
    nb.md(
        """
        ## Part 2.4: robotics, a diffusion policy

        A policy maps what a robot observes to what it does. Diffusion Policy (Chi et al. 2023,
        [arXiv 2303.04137](https://arxiv.org/abs/2303.04137)) generates a whole *sequence* of actions with
        a conditional DDPM: the condition c is the recent history of states, the sample $x_0$ is the next
        `action_horizon` actions, and the network is a 1D U-Net over time (`sequential=True`).

        The task (`diffusion_models/robotics/environment.py`): a point robot in the unit square starts
        below a round obstacle and must reach the goal above it. An action is a target position that a PD
        controller chases; touching the obstacle ends the episode as a failure. The scripted expert goes
        round the obstacle on the left or on the right by the toss of a fair coin, whatever the start. The
        demonstrations are therefore **multimodal**: a policy that regresses the average action drives
        straight into the obstacle, while a diffusion policy can sample one of the two ways.
        """
    )
    nb.code(
        """
        from diffusion_models.robotics import (
            PlanarReachEnv,
            PolicyConfig,
            build_policy,
            generate_demonstrations,
            outcome,
            plot_trajectories,
            policy_dataset,
            rollout_episodes,
        )

        buffer = generate_demonstrations(ROBOT_DEMOS, seed=0)
        print(f"{buffer.num_episodes} demonstrations, {len(buffer.states)} steps, states {buffer.states.shape[1:]}")
        fig, ax = plt.subplots(figsize=(3.5, 3.5))
        plot_trajectories(ax, [buffer.episode(i)[0] for i in range(buffer.num_episodes)], title="demonstrations")
        plt.show()
        """
    )
    nb.md(
        """
        ### 2.4.1 Training windows

        Each step n of a demonstration gives one training pair: the condition is the last
        `state_horizon` states $s_{n-h+1}, \\dots, s_n$ (oldest first, flattened), the sample is the next
        `action_horizon` actions $a_n, \\dots, a_{n+H-1}$. Where a window runs over the edge of its
        episode, it is padded with that episode's first state (before the start) or last action (after the
        end); no window mixes two episodes. States and actions are scaled per feature to [-1, 1], the
        range the diffusion model samples in: $x' = 2 (x - \\min) / (\\max - \\min) - 1$.
        """
    )
    nb.todo(
        "2.4.1",
        """
        `make_windows(states, actions, episode_ends, state_horizon, action_horizon)` (one window per step,
        edge padding inside each episode; `episode_ends` holds each episode's exclusive end index), and
        `Normalizer.normalize` / `Normalizer.unnormalize` (min-max scaling to [-1, 1] and back).
        """,
    )
    nb.check("2.4.1")
    nb.md(
        """
        Now train the policy for `ROBOT_EPOCHS` epochs (set in the settings cell at the top). Training
        time matters here: with the default 100 epochs the policy reaches the goal in every evaluation
        episode, while below about 40 epochs it reaches it in none (0% success), however correct your
        code. Shorten it only to try the pipeline out.
        """
    )
    nb.code(
        """
        config = PolicyConfig(denoising_steps=ROBOT_STEPS, down_dims=ROBOT_WIDTHS)
        dataset, state_normalizer, action_normalizer = policy_dataset(
            buffer, config.state_horizon, config.action_horizon
        )
        sample, cond = dataset[0]
        print(
            f"{len(dataset)} windows: sample {tuple(sample.shape)} = (action_horizon, action_dim), "
            f"condition {tuple(cond.shape)} = (state_horizon * state_dim,)"
        )

        loader = torch.utils.data.DataLoader(
            dataset, batch_size=ROBOT_BATCH, shuffle=True, generator=torch.Generator().manual_seed(0)
        )
        policy = build_policy(PlanarReachEnv.state_dim, PlanarReachEnv.action_dim, config)
        policy_losses = policy.train(
            loader,
            epochs=ROBOT_EPOCHS,
            warmup_steps=min(200, ROBOT_EPOCHS * len(loader) // 10 + 1),
            generator=torch.Generator().manual_seed(1),
        )
        print(f"final training loss {policy_losses[-1]:.4f}")
        """
    )
    nb.md(
        """
        ### 2.4.2 Receding-horizon control

        The policy plans `action_horizon` actions but executes only the first `num_actions` of them, then
        plans again from the new state history: planning ahead keeps consecutive plans consistent, and
        re-planning keeps the robot reactive (Chi et al., section 3.1). At the start of an episode the
        history is `state_horizon` copies of the first observation, as in the padded windows.
        """
    )
    nb.todo(
        "2.4.2",
        """
        `rollout(...)`: until the episode ends or `max_steps` actions were taken, normalize the state
        history and flatten it into a (1, state_horizon * state_dim) condition, sample a plan with
        `policy.generate_sample(cond, generator=generator)`, unnormalize it, execute its first
        `num_actions` actions with `env.step` (stopping as soon as the episode ends), and re-plan.
        """,
    )
    nb.check("2.4.2")
    nb.code(
        """
        def evaluate(model, name: str):
            # your rollout (task 2.4.2) from ROBOT_EPISODES seeded starts, the same for every policy;
            # trajectories: blue success, red collision, orange timeout
            runs = rollout_episodes(
                PlanarReachEnv(), model, state_normalizer, action_normalizer, config, ROBOT_EPISODES, ROBOT_MAX_STEPS
            )
            success = np.mean([run.success for run in runs])
            fig, ax = plt.subplots(figsize=(3.5, 3.5))
            plot_trajectories(
                ax,
                [run.states[:, :2] for run in runs],
                [outcome(run.info) for run in runs],
                title=f"{name}: success {success:.2f}",
            )
            plt.show()
            return runs


        diffusion_runs = evaluate(policy, "diffusion policy")
        """
    )
    nb.md(
        """
        For comparison (optional, it trains a second network): the same 1D U-Net trained by mean squared
        error to output the plan directly. With two modes in the data, its best guess is their average.
        """
    )
    nb.code(
        """
        baseline = build_policy(PlanarReachEnv.state_dim, PlanarReachEnv.action_dim, config, regression=True)
        baseline.train(
            loader,
            epochs=ROBOT_EPOCHS,
            warmup_steps=min(200, ROBOT_EPOCHS * len(loader) // 10 + 1),
            generator=torch.Generator().manual_seed(1),
        )
        baseline_runs = evaluate(baseline, "regression baseline")
        """
    )


def _collect(nb: NotebookWriter) -> None:
    nb.md(
        """
        ## Collect your submission

        Save this notebook (File > Save), then run the cell below, or `bash collect_submission.sh` in a
        terminal in this folder. It writes `diffusion_submission.zip` with this notebook and the files of
        `diffusion_models/` that hold your TODOs, and stops with the list of missing files if any is
        missing or renamed. Upload the zip to the autograder.
        """
    )
    nb.code("!bash collect_submission.sh")


def build_notebook(files: dict[str, list[str]] | None = None, grading: Grading | None = None) -> NotebookNode:
    """The source notebook: every part of the homework in order, with nbgrader's metadata."""
    nb = NotebookWriter(files if files is not None else task_files(), grading or autograder_grading())
    for part in (_intro, _part_2_1, _part_2_2, _part_2_3, _part_2_4, _collect):
        part(nb)
    notebook = nbformat.v4.new_notebook(cells=nb.cells)
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    nbformat.validate(notebook)
    return notebook


def render(notebook: NotebookNode) -> str:
    """The notebook as the text written to disk (nbformat's JSON, one trailing newline)."""
    return nbformat.writes(notebook) + "\n"


def graded_cells(notebook: NotebookNode) -> Iterator[NotebookNode]:
    """The cells nbgrader grades (autograded and manually graded)."""
    return (cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade"))


def write(path: Path = NOTEBOOK_PATH) -> Path:
    path.write_text(render(build_notebook()), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook on disk is out of date")
    args = parser.parse_args(argv)
    if args.check:
        fresh = render(build_notebook())
        if not NOTEBOOK_PATH.is_file() or NOTEBOOK_PATH.read_text(encoding="utf-8") != fresh:
            print(f"{NOTEBOOK_PATH} is out of date: run `python -m kit.notebook_source`", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK_PATH} is up to date")
        return 0
    print(f"wrote {write()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
