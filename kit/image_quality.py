"""Sample quality of a class-conditional image generator, measured without any download.

A small CNN classifier is trained on the generator's own dataset (and cached), then serves twice:

- **CAS**, classification accuracy score (Ravuri & Vinyals 2019, here in its "accuracy of a real-data
  classifier on generated samples" form): the fraction of images generated for class k that the
  classifier assigns to class k. It measures whether guidance produces the class it was asked for.
- **Fréchet distance** (the FID of Heusel et al. 2017, with this classifier's penultimate features in
  place of Inception's): d^2 = |mu_g - mu_r|^2 + tr(S_g + S_r - 2 (S_g^1/2 S_r S_g^1/2)^1/2) between
  Gaussians fitted to generated and real features. It measures fidelity *and* diversity: collapsing
  onto a few prototypes, as strong guidance does, raises it.

The real images are split per class, with a fixed seed, into three disjoint parts: half trains the
classifier, a quarter is the Fréchet *reference*, and a quarter the *floor* set. The floor is the
distance from real images the classifier never saw (the floor set) to the reference, at the same
number of images per class as the generated set: what a perfect generator would score, since the
estimate is biased upwards by a finite sample.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import REPO_ROOT

DEFAULT_CACHE_DIR = REPO_ROOT / "out" / "cache"
_ARCHITECTURE_VERSION = 1  # bump when FeatureClassifier or its training changes: invalidates the cache


# ---------------------------------------------------------------------------------------- maths
def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1^1/2 sigma2 sigma1^1/2)^1/2)
    (Dowson & Landau 1982). The symmetric form needs only eigendecompositions of symmetric PSD matrices,
    so no complex square roots appear (scipy's sqrtm of sigma1 sigma2 can).
    """
    evals, evecs = np.linalg.eigh(sigma1)
    sqrt1 = (evecs * np.sqrt(np.clip(evals, 0.0, None))) @ evecs.T  # sigma1^1/2
    middle = sqrt1 @ sigma2 @ sqrt1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_sqrt)


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and unbiased covariance (D, D), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D) to fit a Gaussian, got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def images_to_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [-1, 1], the generator's pixel range."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, H, W, C), got {images.dtype} {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


# ---------------------------------------------------------------------------------------- classifier
class FeatureClassifier(nn.Module):
    """A small CNN: (conv-BN-ReLU x2, then 2x2 max-pool) per stage while the image is larger than 4x4,
    global average pooling, a ReLU feature layer (the Fréchet features), and the class logits.

    forward(x: (B, C, H, W) in [-1, 1]) -> logits (B, K); features(x) -> (B, feature_dim).
    """

    def __init__(
        self, in_channels: int, num_classes: int, image_size: int, width: int = 32, feature_dim: int = 64
    ):
        super().__init__()
        layers: list[nn.Module] = []
        channels, size, out = in_channels, image_size, width
        while True:
            for _ in range(2):
                layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
                channels = out
            if size <= 4:
                break
            layers.append(nn.MaxPool2d(2))
            size, out = size // 2, min(out * 2, 128)
        self.body = nn.Sequential(*layers)
        self.feature = nn.Sequential(nn.Linear(channels, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(feature_dim, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature(self.body(x).mean(dim=(2, 3)))  # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, K)


def _random_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to one pixel (edges replicated): the classifier should not care."""
    _, _, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")  # (B, C, H+2, W+2)
    offset = torch.randint(0, 9, (x.shape[0],), generator=generator)  # (B,) one of 3x3 shifts
    out = torch.empty_like(x)
    for k in range(9):
        chosen = offset == k
        dy, dx = divmod(k, 3)
        out[chosen] = padded[chosen, :, dy : dy + h, dx : dx + w]
    return out


@dataclass(frozen=True)
class SampleQuality:
    """The scores of one set of generated images."""

    cas: float  # accuracy of the classifier on the images w.r.t. the class they were generated for
    cas_per_class: dict[int, float] = field(repr=False)
    frechet: float  # Fréchet distance to the real reference set, in classifier features


class SampleQualityEvaluator:
    """Scores generated images against a real labelled dataset; see the module docstring.

    Args:
        images: (N, H, W, C) uint8 real images.
        labels: (N,) int64 dataset class numbers; the classifier covers the classes that occur.
        cache_dir: where the trained classifier is cached, keyed by a hash of the data and settings.
        seed: the split and the classifier's training.
        epochs: classifier training epochs.
        device: where the classifier runs.

    Attributes:
        classifier_accuracy: accuracy on the real images it was not trained on (reference + floor sets).
        cache_path: the cached weights' file (None without a cache_dir); loaded_from_cache: whether
            they were read from it rather than trained.
        fit_idx, reference_idx, floor_idx: the three disjoint splits, as indices into images.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
        seed: int = 0,
        epochs: int = 40,
        device: str | torch.device = "cpu",
    ) -> None:
        images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
        images_to_input(images[:1])  # validates dtype and layout
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape (N,) = ({len(images)},), got {labels.shape}")
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"images must be square, got {images.shape[1]}x{images.shape[2]}")
        self.class_ids = sorted(int(k) for k in np.unique(labels))
        if len(self.class_ids) < 2:
            raise ValueError(f"need images of at least 2 classes to train a classifier, got {self.class_ids}")
        self.device = torch.device(device)
        self.seed, self.epochs = seed, epochs
        self.images, self.labels = images, labels
        counts = np.bincount(labels)[self.class_ids]
        if counts.min() < 8:
            raise ValueError(
                f"need at least 8 real images per class to split into fit, reference and floor sets, "
                f"got {counts.min()} of class {self.class_ids[int(counts.argmin())]}"
            )
        self.fit_idx, self.reference_idx, self.floor_idx = self._split(labels, seed)
        self.classifier = self._load_or_train(Path(cache_dir) if cache_dir is not None else None)
        held_out = np.concatenate([self.reference_idx, self.floor_idx])
        self.classifier_accuracy = self.accuracy(images[held_out], labels[held_out])[0]
        self._reference_stats = gaussian_fit(self.features(images[self.reference_idx]))

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per class: the first half (after a seeded shuffle) to fit, then reference, then floor."""
        rng = np.random.default_rng(seed)
        fit, reference, floor = [], [], []
        for k in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == k))
            half = len(idx) // 2
            quarter = half + (len(idx) - half) // 2
            fit.append(idx[:half])
            reference.append(idx[half:quarter])
            floor.append(idx[quarter:])
        return tuple(np.sort(np.concatenate(part)) for part in (fit, reference, floor))

    def _cache_key(self) -> str:
        digest = hashlib.sha256()
        digest.update(self.images.tobytes())
        digest.update(self.labels.tobytes())
        digest.update(
            json.dumps([_ARCHITECTURE_VERSION, self.seed, self.epochs, list(self.images.shape)]).encode()
        )
        return digest.hexdigest()[:20]

    def _new_classifier(self) -> FeatureClassifier:
        _, size, _, channels = self.images.shape
        return FeatureClassifier(channels, len(self.class_ids), size)

    def _load_or_train(self, cache_dir: Path | None) -> FeatureClassifier:
        path = None if cache_dir is None else cache_dir / f"classifier-{self._cache_key()}.pt"
        self.cache_path, self.loaded_from_cache = path, path is not None and path.is_file()
        if self.loaded_from_cache:
            with torch.random.fork_rng(devices=[]):
                model = self._new_classifier()
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.to(self.device).eval()
        model = self._train()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(model.state_dict(), tmp)
            tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        return model.to(self.device).eval()

    def _train(self) -> FeatureClassifier:
        generator = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = self._new_classifier()
        x = images_to_input(self.images[self.fit_idx])  # (N_fit, C, H, W)
        y = torch.from_numpy(self._class_index(self.labels[self.fit_idx]))  # (N_fit,) in 0..K-1
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        steps_per_epoch = max(1, -(-len(x) // 64))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, 3e-3, total_steps=self.epochs * steps_per_epoch
        )
        model.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), 64):
                batch = order[start : start + 64]
                loss = F.cross_entropy(
                    model(_random_shift(x[batch], generator)), y[batch], label_smoothing=0.05
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
        return model.eval()

    def _class_index(self, labels: np.ndarray) -> np.ndarray:
        lookup = {k: i for i, k in enumerate(self.class_ids)}
        unknown = sorted(set(labels.tolist()) - set(lookup))
        if unknown:
            raise ValueError(f"labels {unknown} are not classes of the real data {self.class_ids}")
        return np.asarray([lookup[int(k)] for k in labels], dtype=np.int64)

    # ------------------------------------------------------------------ measurements
    @torch.no_grad()
    def _run(self, images: np.ndarray, head: bool) -> torch.Tensor:
        outputs = []
        for start in range(0, len(images), 512):
            x = images_to_input(images[start : start + 512]).to(self.device)
            outputs.append((self.classifier(x) if head else self.classifier.features(x)).cpu())
        return torch.cat(outputs)

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N, feature_dim) float64 classifier features."""
        return self._run(images, head=False).double().numpy()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 -> (N,) predicted dataset class numbers."""
        index = self._run(images, head=True).argmax(dim=1).numpy()
        return np.asarray(self.class_ids, dtype=np.int64)[index]

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, dict[int, float]]:
        """Overall accuracy and accuracy per class of the classifier on (images, labels)."""
        labels = np.asarray(labels, dtype=np.int64)
        self._class_index(labels)
        correct = self.predict(images) == labels
        per_class = {int(k): float(correct[labels == k].mean()) for k in np.unique(labels)}
        return float(correct.mean()), per_class

    def frechet(self, images: np.ndarray) -> float:
        """Fréchet distance between the images' features and the real reference set's."""
        return frechet_distance(*gaussian_fit(self.features(images)), *self._reference_stats)

    def real_samples(self, num_per_class: int) -> tuple[np.ndarray, np.ndarray]:
        """num_per_class real images of each class from the floor set (unseen by the classifier)."""
        labels = self.labels[self.floor_idx]
        chosen = []
        for k in self.class_ids:
            idx = self.floor_idx[labels == k]
            if num_per_class > len(idx):
                raise ValueError(
                    f"num_per_class={num_per_class} exceeds the {len(idx)} floor images of class {k}; "
                    f"use at most {self.max_samples_per_class()}"
                )
            chosen.append(idx[:num_per_class])
        chosen = np.concatenate(chosen)
        return self.images[chosen], self.labels[chosen]

    def max_samples_per_class(self) -> int:
        """The most images per class :meth:`frechet_floor` can compare at."""
        return int(np.bincount(self.labels[self.floor_idx])[self.class_ids].min())

    def frechet_floor(self, num_per_class: int) -> float:
        """Real-vs-real Fréchet distance at num_per_class images per class: the best a generator can score."""
        return self.frechet(self.real_samples(num_per_class)[0])

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> SampleQuality:
        """CAS and Fréchet distance of generated images; labels are the classes they were generated for."""
        cas, per_class = self.accuracy(images, labels)
        return SampleQuality(cas=cas, cas_per_class=per_class, frechet=self.frechet(images))
