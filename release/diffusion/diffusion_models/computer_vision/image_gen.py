"""Class-conditional image generation with a DDPM and classifier-free guidance (part 2.3).

Labels: the dataset's K chosen classes become condition labels 1..K, in the order of
``ImageGenerator.class_ids``; label 0 is the null token of classifier-free guidance, so the model's
``condition_dim`` is K + 1. Everything the user passes in or gets back (``class_label``,
:meth:`ImageGenerator.generated_labels`) uses the dataset's own class numbers (the digit itself;
CIFAR-10's 0-9), or the class names.

Pixels: uint8 images in [0, 255] map to the model's range [-1, 1] by x = u / 127.5 - 1, the range
that thresholding (task 2.3.2) clamps the x_0 estimate to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from ..device import resolve_device
from ..diffusion_model import DiffusionModel
from ..noise_scheduler import NoiseScheduler, scaled_linear_betas
from ..validation import check_positive_int
from .augment import augment
from .datasets import LabelledImages, load_cifar10, load_digits, resize_images, select_classes
from .plotting import plot_image

DATASETS = ("digits", "cifar10")
DEFAULT_CLASSES = {"digits": None, "cifar10": ("airplane", "automobile", "bird")}  # None: all of them


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 in [0, 255] -> (N, C, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [-1, 1] (clipped outside) -> (N, H, W, C) uint8 in [0, 255]."""
    u = ((x.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)  # (N, C, H, W)
    return u.permute(0, 2, 3, 1).contiguous().numpy()  # (N, H, W, C)


class _StepProgress:
    """Wraps a data loader so that one progress bar counts the steps of all epochs."""

    def __init__(self, loader: DataLoader, epochs: int, enabled: bool) -> None:
        self.loader, self.epochs, self.epoch = loader, epochs, 0
        self.bar = tqdm(total=epochs * len(loader), desc="training", unit="step", disable=not enabled)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.epoch += 1
        self.bar.set_postfix(epoch=f"{self.epoch}/{self.epochs}")
        for batch in self.loader:
            yield batch
            self.bar.update(1)


class ImageGenerator:
    """A class-conditional DDPM over a labelled image dataset, trained with classifier-free guidance.

    Args:
        dataset: ``"digits"`` (scikit-learn's bundled 8x8 digits, offline) or ``"cifar10"``.
        denoising_steps: T. Below 1000 the linear beta schedule is stretched by 1000 / T
            (:func:`scaled_linear_betas`) so that x_{T-1} is still pure noise.
        p_uncond: probability of training a sample with the null token instead of its label.
        device: where the network runs; None = CUDA when available, else CPU.
        classes: dataset class numbers or names to keep; None = all digits, or CIFAR-10's airplane,
            automobile and bird as in the original homework.
        root, download: where CIFAR-10 lives, and whether to download it there (see ``load_cifar10``).
        augmentations: names from ``augment.AUGMENTATIONS``; each adds one augmented copy of the data.
        image_size: resize the images to image_size x image_size; None keeps the native size
            (8 for digits, 32 for CIFAR-10).
        batch_size: images per training step.
        network: a noise-prediction network to use instead of the built-in 2D U-Net.
        weights_path: a checkpoint written by ``self.policy.save_weights`` to start from.
        seed: seeds the data order, the training noise and the augmentations.
    """

    def __init__(
        self,
        dataset: str = "digits",
        denoising_steps: int = 1000,
        p_uncond: float = 0.2,
        device: str | torch.device | None = None,
        *,
        classes: Sequence[int | str] | None = None,
        root: str | Path | None = None,
        download: bool = False,
        augmentations: Sequence[str] = (),
        image_size: int | None = None,
        batch_size: int = 128,
        network: nn.Module | None = None,
        weights_path: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.load_dataset(
            dataset,
            classes=classes,
            root=root,
            download=download,
            augmentations=augmentations,
            image_size=image_size,
            batch_size=batch_size,
        )
        # A linear schedule over T = denoising_steps whose x_{T-1} is pure noise (the spec's at T = 1000).
        noise_scheduler = NoiseScheduler(
            denoising_steps, *scaled_linear_betas(denoising_steps), device=resolve_device(device)
        )
        # self.data.images is (N, H, W, C) uint8 and self.class_ids holds the K classes kept. The model
        # takes labels 1..K and the null token 0; pass it the noise_scheduler above, and p_uncond,
        # weights_path, device and network as given to this constructor.

        # TODO task 2.3.1: input_shape = (C, H, W), condition_dim = K + 1 (0 is the null token), self.policy = DiffusionModel(..., sequential=False)
        raise NotImplementedError("task 2.3.1: input_shape = (C, H, W), condition_dim = K + 1 (0 is the null token), self.policy = DiffusionModel(..., sequential=False)")

    # ------------------------------------------------------------------ data
    def load_dataset(
        self,
        dataset: str = "digits",
        *,
        classes: Sequence[int | str] | None = None,
        root: str | Path | None = None,
        download: bool = False,
        augmentations: Sequence[str] = (),
        image_size: int | None = None,
        batch_size: int = 128,
    ) -> DataLoader:
        """Load the training images and build ``self.data_loader``.

        Sets ``self.data`` (:class:`LabelledImages`, after class selection, resizing and augmentation),
        ``self.class_ids`` (the kept dataset class numbers; condition label k + 1 is ``class_ids[k]``),
        ``self.class_names`` and ``self.data_loader``, which yields (x_0: (B, C, H, W) float in [-1, 1],
        cond: (B,) int64 in 1..K).
        """
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        data: LabelledImages = load_digits() if dataset == "digits" else load_cifar10(root, True, download)
        data, self.class_ids = select_classes(
            data, classes if classes is not None else DEFAULT_CLASSES[dataset]
        )
        if image_size is not None:
            if image_size < 4:
                raise ValueError(f"image_size must be >= 4 pixels, got {image_size}")
            data = LabelledImages(resize_images(data.images, image_size), data.labels, data.class_names)
        if augmentations:
            data = augment(data, augmentations, seed=self.seed)
        self.dataset_name = dataset
        self.data = data
        self.class_names = [data.class_names[k] for k in self.class_ids]

        lookup = np.zeros(len(data.class_names), dtype=np.int64)
        lookup[self.class_ids] = np.arange(1, len(self.class_ids) + 1)  # dataset class -> 1..K
        cond = torch.from_numpy(lookup[data.labels])  # (N,) int64 in 1..K
        tensors = TensorDataset(images_to_tensor(data.images), cond)
        shuffle = torch.Generator().manual_seed(self.seed + 1)
        self.data_loader = DataLoader(tensors, batch_size=batch_size, shuffle=True, generator=shuffle)
        return self.data_loader

    def condition_of(self, class_label: int | str) -> int:
        """The condition label (1..K) of a dataset class number or class name."""
        if isinstance(class_label, str):
            if class_label not in self.class_names:
                raise ValueError(f"class_label {class_label!r} is not one of the classes {self.class_names}")
            return self.class_names.index(class_label) + 1
        if isinstance(class_label, (int, np.integer)) and not isinstance(class_label, bool):
            if int(class_label) not in self.class_ids:
                raise ValueError(
                    f"class_label {class_label} is not a trained class: use a dataset class number from "
                    f"{self.class_ids} (names {self.class_names})"
                )
            return self.class_ids.index(int(class_label)) + 1
        raise ValueError(f"class_label must be a class number or name, got {class_label!r}")

    # ------------------------------------------------------------------ training
    def train_policy(self, epochs: int = 1, lr: float = 1e-3, progress: bool = True) -> list[float]:
        """Train the diffusion model for ``epochs`` passes over the data; returns each epoch's mean loss."""
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        loader = _StepProgress(self.data_loader, epochs, progress)
        try:
            return self.policy.train(loader, epochs=epochs, lr=lr, generator=self.generator, progress=False)
        finally:
            loader.bar.close()

    # ------------------------------------------------------------------ sampling
    def generated_labels(self, num_samples: int = 8, class_label: int | str | None = None) -> np.ndarray:
        """(N,) dataset class numbers of the images :meth:`generate_images` returns, in its order."""
        check_positive_int(num_samples, "num_samples")
        if class_label is None:
            return np.repeat(np.asarray(self.class_ids, dtype=np.int64), num_samples)
        return np.full(num_samples, self.class_ids[self.condition_of(class_label) - 1], dtype=np.int64)

    def generate_images(
        self,
        guidance: float = 0.0,
        num_samples: int = 8,
        threshold: bool = False,
        class_label: int | str | None = None,
        generator: torch.Generator | None = None,
    ) -> np.ndarray:
        """Sample images with classifier-free guidance weight ``guidance``.

        Args:
            guidance: w of CFG eq. 6; 0 is the plain conditional model.
            num_samples: images per class.
            threshold: clamp the x_0 estimate to [-1, 1] in every step (task 2.3.2).
            class_label: a dataset class number (the digit; CIFAR-10's 0-9) or a class name; None = every
                trained class, num_samples each, grouped by class in the order of ``self.class_ids``.
            generator: a torch.Generator for reproducible samples.

        Returns:
            (N, H, W, C) uint8 with N = num_samples * K (or num_samples); labels from
            :meth:`generated_labels`.
        """
        labels = self.generated_labels(num_samples, class_label)
        cond = torch.tensor([self.class_ids.index(int(k)) + 1 for k in labels], dtype=torch.int64)  # (N,)
        x0 = self.policy.generate_sample(
            cond, guidance_weight=guidance, threshold=threshold, generator=generator
        )
        return tensor_to_images(x0)

    def plot_image(
        self,
        images: np.ndarray,
        labels: Sequence[int] | np.ndarray | None = None,
        title: str | None = None,
        columns: int | None = None,
    ) -> Figure:
        """A grid of images with one row per class, each row labelled with its class name.

        Args:
            images: (N, H, W, C) uint8.
            labels: (N,) dataset class numbers; None = the order of ``generate_images(class_label=None)``
                when N is a multiple of K (else the grid is unlabelled). Pass
                ``generated_labels(n, class_label)`` for the images of one class.
        """
        k = len(self.class_ids)
        if labels is None and len(images) % k == 0 and len(images) >= k:
            labels = np.repeat(np.asarray(self.class_ids), len(images) // k)
        return plot_image(images, labels, self.data.class_names, columns=columns, title=title)
