"""Augmentations for training a generator: ones that leave the data distribution where it was.

A classifier may be trained on anything that keeps the label (colour jitter, blur, noise, cutout,
heavy crops): it only has to be invariant to them. A generator learns to *produce* whatever it is
shown, so its augmentations must yield images that are as likely under the data distribution as
the originals; otherwise it reproduces the blur, the noise or the cutouts.

- ``"hflip"``: a mirrored copy of every image. Right for CIFAR-10 (a mirrored bird is a bird seen from
  the other side), wrong for digits (a mirrored 3 is no digit at all).
- ``"translate"``: a copy shifted by one pixel in a random direction, edges replicated. Objects are not
  always centred in photographs; on 8x8 digits one pixel is an eighth of the image, so use it there
  with care.

Each augmentation appends one transformed copy of the dataset, as the original homework suggested
("increase the size of your dataset"): an epoch grows by a factor of 1 + len(names).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .datasets import LabelledImages

AUGMENTATIONS = ("hflip", "translate")


def horizontal_flip(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> the same images mirrored left to right."""
    return np.ascontiguousarray(images[:, :, ::-1, :])


def translate(images: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """(N, H, W, C) -> each image shifted by (dy, dx) in [-max_shift, max_shift]^2, never (0, 0);
    the border is filled by repeating the edge pixels."""
    n, h, w, _ = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")  # (N, H+2s, W+2s, C)
    offsets = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1) if (dy, dx) != (0, 0)]
    choice = rng.integers(0, len(offsets), size=n)
    out = np.empty_like(images)
    for i, k in enumerate(choice):
        dy, dx = offsets[k]
        out[i] = padded[i, s + dy : s + dy + h, s + dx : s + dx + w]
    return out


def augment(data: LabelledImages, names: Sequence[str], seed: int = 0) -> LabelledImages:
    """The dataset followed by one augmented copy per name in ``names`` (see :data:`AUGMENTATIONS`)."""
    if isinstance(names, str):
        names = (names,)
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"augmentations: unknown {unknown}; choose from {AUGMENTATIONS}")
    rng = np.random.default_rng(seed)
    images, labels = [data.images], [data.labels]
    for name in names:
        images.append(horizontal_flip(data.images) if name == "hflip" else translate(data.images, rng))
        labels.append(data.labels)
    return LabelledImages(np.concatenate(images), np.concatenate(labels), data.class_names)
