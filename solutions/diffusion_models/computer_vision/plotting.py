"""A labelled grid of images as a matplotlib figure (one row per class when labels are given)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def _strip(images: np.ndarray, columns: int) -> np.ndarray:
    """(n, H, W, C) uint8 with n <= columns -> one (H, columns * (W + 1) - 1, C) row, 1-pixel gaps."""
    n, h, w, c = images.shape
    row = np.full((h, columns * (w + 1) - 1, c), 255, dtype=np.uint8)
    for i in range(n):
        row[:, i * (w + 1) : i * (w + 1) + w] = images[i]
    return row


def plot_image(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    columns: int | None = None,
    title: str | None = None,
) -> Figure:
    """A grid of images; with ``labels``, one row per class, each row labelled with its class.

    Args:
        images: (N, H, W, C) uint8, C = 1 (grey) or 3 (RGB), as ``ImageGenerator.generate_images`` returns.
        labels: (N,) class numbers; rows follow the order in which the classes first appear.
        class_names: the name of each class number, for the row labels (else the numbers).
        columns: images per row; default: the largest class (with labels) or ceil(sqrt(N)).
        title: the figure's title.

    Returns:
        a ``matplotlib.figure.Figure`` (shown by Jupyter when it is a cell's value; ``fig.savefig`` to keep).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 (N, H, W, C) with C in (1, 3), got {images.dtype} {images.shape}"
        )
    if labels is None:
        columns = columns or max(1, math.ceil(math.sqrt(len(images))))
        groups = [(None, images[i : i + columns]) for i in range(0, len(images), columns)]
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape (N,) = ({len(images)},), got {labels.shape}")
        order = list(dict.fromkeys(labels.tolist()))
        groups = [(label, images[labels == label]) for label in order]
        columns = columns or max(len(group) for _, group in groups)
        groups = [(label, group[:columns]) for label, group in groups]
    if not groups:
        raise ValueError("images is empty: nothing to plot")

    h, w = images.shape[1:3]
    cell = 0.45 if max(h, w) <= 16 else 0.8  # inches per image: small images need less room
    fig = Figure(figsize=(columns * cell + 0.8, len(groups) * cell * h / w + (0.5 if title else 0.1)))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (label, group) in zip(axes, groups, strict=True):
        strip = _strip(group, columns)
        if strip.shape[-1] == 1:
            ax.imshow(strip[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(strip, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if label is not None:
            name = class_names[label] if class_names is not None else str(label)
            ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(
        left=0.8 / fig.get_figwidth(), right=0.99, top=0.9 if title else 0.99, bottom=0.01, hspace=0.08
    )
    return fig
