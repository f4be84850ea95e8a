"""Data augmentation: transformed copies of a dataset's images.

- ``"hflip"``: a copy of every image mirrored left to right.
- ``"translate"``: a copy of every image shifted by one pixel in a random direction (never by zero),
  the border filled by repeating the edge pixels.

Each augmentation appends one transformed copy of the dataset: an epoch grows by a factor of
1 + len(names). Which augmentations suit a generator, and which only a classifier, is one of the
notebook's questions.
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
