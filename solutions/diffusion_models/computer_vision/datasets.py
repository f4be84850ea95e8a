"""Labelled image datasets that the image generator trains on, loaded without a network by default.

Two sources, both returned as :class:`LabelledImages` (uint8 ``(N, H, W, C)`` images and the
dataset's own class numbers):

- ``digits``: the 1797 handwritten digits bundled with scikit-learn (8x8, 17 grey levels, classes
  0-9). Always available offline.
- ``cifar10``: CIFAR-10 in its python-pickle format (the folder ``cifar-10-batches-py`` with
  ``data_batch_1`` ... ``data_batch_5``, ``test_batch`` and ``batches.meta``). Read from an existing
  folder; downloaded with torchvision only when the caller passes ``download=True``.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_META_FILE = "batches.meta"
DATA_ROOT_ENV = "DIFFUSION_DATA"  # where CIFAR-10 is looked for when no root is given


@dataclass(frozen=True)
class LabelledImages:
    """Images and their labels as the dataset numbers them.

    Attributes:
        images: (N, H, W, C) uint8.
        labels: (N,) int64, the dataset's class numbers (digits: the digit; CIFAR-10: 0-9).
        class_names: one name per dataset class number, ``class_names[labels[i]]`` names image i.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape (N,) = ({self.images.shape[0]},), got {self.labels.shape}"
            )
        if len(self.labels) and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < len(
            self.class_names
        ):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)}) to name a class")

    def __len__(self) -> int:
        return int(self.images.shape[0])


# ---------------------------------------------------------------------------------------- digits
def load_digits() -> LabelledImages:
    """The scikit-learn digits: 1797 images (N, 8, 8, 1) uint8, grey levels 0-16 scaled to 0-255."""
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    levels = np.asarray(bunch.images, dtype=np.float64)  # (N, 8, 8), integers 0..16
    images = np.rint(levels * (255.0 / 16.0)).astype(np.uint8)[..., None]  # (N, 8, 8, 1)
    labels = np.asarray(bunch.target, dtype=np.int64)
    return LabelledImages(images, labels, tuple(str(name) for name in bunch.target_names))


# ---------------------------------------------------------------------------------------- CIFAR-10
def _unpickle(path: Path) -> dict:
    # The python version of CIFAR-10 is a pickle by definition; load only files you trust.
    with path.open("rb") as handle:
        return pickle.load(handle, encoding="bytes")


def read_cifar10_folder(folder: str | Path, train: bool = True) -> LabelledImages:
    """Read CIFAR-10's python-pickle files from ``folder`` (the ``cifar-10-batches-py`` folder itself).

    Each batch file is a pickled dict with ``b"data"``: (n, 3072) uint8, each row the red, green and
    blue 32x32 planes, and ``b"labels"``: n ints in 0-9; ``batches.meta`` holds ``b"label_names"``.

    Returns:
        train: the five ``data_batch_*`` files; else ``test_batch``. Images (N, 32, 32, 3) uint8.
    """
    folder = Path(folder)
    names = CIFAR10_TRAIN_FILES if train else (CIFAR10_TEST_FILE,)
    missing = [name for name in (*names, CIFAR10_META_FILE) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 folder {str(folder)!r} lacks {', '.join(missing)}")
    meta = _unpickle(folder / CIFAR10_META_FILE)
    class_names = tuple(
        name.decode("utf-8") if isinstance(name, bytes) else str(name) for name in meta[b"label_names"]
    )
    planes, labels = [], []
    for name in names:
        batch = _unpickle(folder / name)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(f"{str(folder / name)!r}: b'data' must be (n, 3072) uint8, got {data.shape}")
        planes.append(data.reshape(-1, 3, 32, 32))  # (n, 3, 32, 32)
        labels.extend(int(label) for label in batch[b"labels"])
    images = np.ascontiguousarray(np.concatenate(planes).transpose(0, 2, 3, 1))  # (N, 32, 32, 3)
    return LabelledImages(images, np.asarray(labels, dtype=np.int64), class_names)


def _cifar10_candidates(root: Path) -> list[Path]:
    return [root / CIFAR10_FOLDER, root]


def load_cifar10(
    root: str | Path | None = None, train: bool = True, download: bool = False
) -> LabelledImages:
    """CIFAR-10 from an existing folder, or downloaded by torchvision when ``download=True``.

    Args:
        root: the folder holding ``cifar-10-batches-py`` (torchvision's layout), or that folder itself.
            None: ``$DIFFUSION_DATA`` if set, else ``./data``.
        train: the 50000 training images, else the 10000 test images.
        download: fetch and unpack the archive into ``root`` first (needs a network).

    Raises:
        FileNotFoundError: offline without the files; it says where it looked and what to pass.
    """
    root = Path(root if root is not None else os.environ.get(DATA_ROOT_ENV, "data")).expanduser()
    if download:
        import torchvision

        try:
            torchvision.datasets.CIFAR10(root=str(root), train=train, download=True)
        except OSError as err:  # URLError and socket errors are OSErrors
            raise RuntimeError(
                f"downloading CIFAR-10 into {str(root.resolve())!r} failed ({err}); without a network, "
                f"copy the folder {CIFAR10_FOLDER!r} there and pass download=False"
            ) from err
    for folder in _cifar10_candidates(root):
        if (folder / CIFAR10_META_FILE).is_file():
            return read_cifar10_folder(folder, train=train)
    looked = ", ".join(repr(str(folder.resolve())) for folder in _cifar10_candidates(root))
    raise FileNotFoundError(
        f"CIFAR-10 (python version) not found: looked for {CIFAR10_META_FILE!r} in {looked}. "
        f"Pass root= the folder that holds {CIFAR10_FOLDER!r} (data_batch_1..5, test_batch, batches.meta), "
        f"set ${DATA_ROOT_ENV}, or pass download=True where a network is reachable; "
        "dataset='digits' works offline"
    )


# ---------------------------------------------------------------------------------------- selection
def select_classes(
    data: LabelledImages, classes: Sequence[int | str] | None
) -> tuple[LabelledImages, list[int]]:
    """Keep only the images of ``classes`` (dataset class numbers or names), in the order given.

    Returns:
        the subset (labels still the dataset's numbers) and the kept class numbers, in order.
    """
    if classes is None:
        class_ids = list(range(len(data.class_names)))
    else:
        class_ids = []
        for item in classes:
            if isinstance(item, str):
                if item not in data.class_names:
                    raise ValueError(
                        f"classes: unknown class name {item!r}; the dataset has {data.class_names}"
                    )
                class_ids.append(data.class_names.index(item))
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= int(item) < len(data.class_names):
                    raise ValueError(f"classes: class number {item} outside [0, {len(data.class_names)})")
                class_ids.append(int(item))
            else:
                raise ValueError(f"classes must hold class numbers or names, got {item!r}")
        if not class_ids or len(set(class_ids)) != len(class_ids):
            raise ValueError(f"classes must name at least one class, each once, got {list(classes)}")
    keep = np.isin(data.labels, class_ids)
    return LabelledImages(data.images[keep], data.labels[keep], data.class_names), class_ids


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, H, W, C) uint8 images to (N, size, size, C) with antialiased bilinear filtering."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()  # (N, C, H, W)
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # (N, s, s, C)
