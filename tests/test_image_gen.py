"""Part 2.3's image generator (reference solution): data loaders, task 2.3.1's set-up, sampling output."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusion_models.computer_vision import (
    ImageGenerator,
    augment,
    load_cifar10,
    load_digits,
    plot_image,
    read_cifar10_folder,
)
from diffusion_models.computer_vision.datasets import CIFAR10_FOLDER
from diffusion_models.noise_scheduler import NoiseScheduler, scaled_linear_betas
from matplotlib.figure import Figure

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10(root: Path, per_batch: int = 3, seed: int = 0) -> dict[str, tuple[np.ndarray, list[int]]]:
    """A few-image CIFAR-10 in the real python-pickle format: root/cifar-10-batches-py/{data_batch_1..5,
    test_batch, batches.meta}, each batch a dict of b"data" (n, 3072) uint8 and b"labels"."""
    folder = root / CIFAR10_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(k) for k in rng.integers(0, 10, size=per_batch)]
        labels[0] = 0  # every file holds an airplane and a bird, so class subsets are never empty
        labels[1] = 2
        batch = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [b"x.png"] * per_batch,
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle, protocol=2)
        written[name] = (data, labels)
    meta = {
        b"num_cases_per_batch": per_batch,
        b"label_names": [n.encode() for n in CIFAR_NAMES],
        b"num_vis": 3072,
    }
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    return written


# ---------------------------------------------------------------------------------------- loaders
def test_cifar10_pickle_loader_reads_planes_as_hwc(tmp_path):
    written = write_cifar10(tmp_path)
    train = load_cifar10(tmp_path)
    assert train.images.shape == (15, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.class_names == tuple(CIFAR_NAMES)
    data, labels = written["data_batch_2"]
    # row i of b"data" is the red plane, then green, then blue, each 32x32 row-major
    image = train.images[3 + 1]
    assert image[5, 7, 0] == data[1, 0 * 1024 + 5 * 32 + 7]
    assert image[5, 7, 2] == data[1, 2 * 1024 + 5 * 32 + 7]
    np.testing.assert_array_equal(image, data[1].reshape(3, 32, 32).transpose(1, 2, 0))
    assert train.labels.tolist() == sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    test = load_cifar10(tmp_path / CIFAR10_FOLDER, train=False)  # the folder itself works too
    np.testing.assert_array_equal(
        test.images, written["test_batch"][0].reshape(3, 3, 32, 32).transpose(0, 2, 3, 1)
    )


def test_cifar10_missing_batch_is_named(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / CIFAR10_FOLDER / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        read_cifar10_folder(tmp_path / CIFAR10_FOLDER)


def test_cifar10_offline_error_says_where_and_what_to_pass(tmp_path):
    empty = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(empty)
    message = str(info.value)
    assert str((empty / CIFAR10_FOLDER).resolve()) in message and str(empty.resolve()) in message
    assert "root=" in message and "download=True" in message
    with pytest.raises(FileNotFoundError, match="root="):
        ImageGenerator("cifar10", denoising_steps=4, root=empty, device="cpu")


def test_cifar10_generator_keeps_class_subset_and_shifts_labels(tmp_path):
    write_cifar10(tmp_path)
    gen = ImageGenerator(
        "cifar10", denoising_steps=4, root=tmp_path, device="cpu"
    )  # airplane, automobile, bird
    assert gen.class_ids == [0, 1, 2] and gen.class_names == ["airplane", "automobile", "bird"]
    assert gen.input_shape == (3, 32, 32) and gen.condition_dim == 4
    assert gen.policy.condition_dim == 4 and gen.policy.input_shape == (3, 32, 32)
    assert set(np.unique(gen.data.labels)) <= {0, 1, 2}
    x, cond = next(iter(gen.data_loader))
    assert x.shape[1:] == (3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert cond.dtype == torch.int64 and cond.min() >= 1 and cond.max() <= 3

    birds = ImageGenerator("cifar10", denoising_steps=4, root=tmp_path, classes=["bird", 0], device="cpu")
    assert birds.class_ids == [2, 0] and birds.condition_dim == 3
    assert birds.condition_of("bird") == 1 and birds.condition_of(0) == 2


def test_digits_load_offline_in_native_resolution():
    digits = load_digits()
    assert digits.images.shape == (1797, 8, 8, 1) and digits.images.dtype == np.uint8
    assert digits.images.max() == 255 and digits.images.min() == 0
    assert sorted(set(digits.labels.tolist())) == list(range(10))


def test_unknown_dataset_and_classes_fail_loudly():
    with pytest.raises(ValueError, match="dataset"):
        ImageGenerator("mnist", denoising_steps=4, device="cpu")
    with pytest.raises(ValueError, match="classes"):
        ImageGenerator("digits", denoising_steps=4, classes=[3, 12], device="cpu")


def test_augmentations_append_distribution_preserving_copies():
    digits = load_digits()
    small = type(digits)(digits.images[:20], digits.labels[:20], digits.class_names)
    out = augment(small, ("hflip", "translate"), seed=0)
    assert len(out) == 60 and out.labels.tolist() == small.labels.tolist() * 3
    np.testing.assert_array_equal(out.images[20:40], small.images[:, :, ::-1])
    shifted = out.images[40:]
    assert not any(np.array_equal(a, b) for a, b in zip(shifted, small.images, strict=True) if a.any())
    with pytest.raises(ValueError, match="unknown"):
        augment(small, ("colour_jitter",))


# ---------------------------------------------------------------------------------------- task 2.3.1
@pytest.fixture(scope="module")
def digits_generator():
    return ImageGenerator("digits", denoising_steps=6, device="cpu", seed=0)


def test_task_2_3_1_sets_shapes_and_null_token(digits_generator):
    gen = digits_generator
    assert gen.input_shape == (1, 8, 8)
    assert gen.condition_dim == 11, "10 digit classes + the null token 0"
    assert gen.policy.sequential is False
    assert gen.policy.noise_scheduler.num_steps == 6 and gen.policy.p_uncond == 0.2
    stretched = NoiseScheduler(6, *scaled_linear_betas(6), device="cpu")
    assert torch.equal(gen.policy.noise_scheduler.betas, stretched.betas), "the schedule stretched to T = 6"


def test_short_schedules_are_stretched_to_reach_noise():
    assert scaled_linear_betas(1000) == pytest.approx((1e-4, 0.02))
    for steps in (50, 250):
        alpha_bar_last = NoiseScheduler(steps, *scaled_linear_betas(steps), device="cpu").alpha_bars[-1]
        assert float(alpha_bar_last) < 1e-4


def test_train_policy_returns_one_finite_loss_per_epoch():
    gen = ImageGenerator("digits", denoising_steps=6, device="cpu", classes=[0, 1], batch_size=128, seed=1)
    losses = gen.train_policy(1, progress=False)
    assert len(losses) == 1 and np.isfinite(losses[0]) and 0.0 < losses[0] < 5.0


# ---------------------------------------------------------------------------------------- sampling
def test_generate_images_returns_uint8_nhwc_grouped_by_class(digits_generator):
    gen = digits_generator
    images = gen.generate_images(guidance=2.0, num_samples=2, generator=torch.Generator().manual_seed(0))
    assert images.shape == (20, 8, 8, 1) and images.dtype == np.uint8
    assert gen.generated_labels(2).tolist() == [k for k in range(10) for _ in range(2)]
    again = gen.generate_images(guidance=2.0, num_samples=2, generator=torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(images, again)


def test_generate_images_of_one_class_by_number_or_name(digits_generator):
    gen = digits_generator
    sevens = gen.generate_images(num_samples=3, class_label=7, threshold=True, generator=torch.Generator())
    assert sevens.shape == (3, 8, 8, 1) and sevens.dtype == np.uint8
    assert gen.generated_labels(3, class_label="7").tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match="class_label"):
        gen.generate_images(num_samples=1, class_label=10)
    with pytest.raises(ValueError, match="num_samples"):
        gen.generate_images(num_samples=0)


def test_resized_digits_give_a_larger_model_input():
    gen = ImageGenerator("digits", denoising_steps=4, device="cpu", image_size=16)
    assert gen.input_shape == (1, 16, 16)
    assert gen.generate_images(num_samples=1, class_label=0).shape == (1, 16, 16, 1)


def test_plot_image_labels_one_row_per_class(digits_generator):
    gen = digits_generator
    images = load_digits().images[:30]
    fig = gen.plot_image(images, title="thirty")
    assert isinstance(fig, Figure) and len(fig.axes) == 10
    assert [ax.get_ylabel() for ax in fig.axes] == [str(k) for k in range(10)]
    grid = plot_image(images[:7])  # unlabelled: ceil(sqrt(7)) = 3 per row
    assert len(grid.axes) == 3 and all(ax.get_ylabel() == "" for ax in grid.axes)
    with pytest.raises(ValueError, match="uint8"):
        plot_image(images.astype(np.float32))
