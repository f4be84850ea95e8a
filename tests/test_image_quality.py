"""The sample-quality evaluator: the Fréchet distance itself, and CAS / Fréchet of real and bad images."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from diffusion_models.computer_vision import load_digits

from kit.image_quality import SampleQualityEvaluator, frechet_distance, gaussian_fit

PER_CLASS = 20


def random_spd(rng: np.random.Generator, dim: int) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=5), random_spd(rng, 5)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(mu, np.eye(5), mu + 2.0, np.eye(5)) == pytest.approx(4.0 * 5)
    a, b = rng.uniform(0.1, 3.0, size=5), rng.uniform(0.1, 3.0, size=5)  # diagonal: sum (sqrt a - sqrt b)^2
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu, np.diag(a), mu, np.diag(b)) == pytest.approx(expected)


def test_frechet_distance_matches_the_sqrtm_formula():
    rng = np.random.default_rng(1)
    for dim in (3, 16):
        mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
        s1, s2 = random_spd(rng, dim), random_spd(rng, dim)
        cross = scipy.linalg.sqrtm(s1 @ s2).real
        expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2.0 * cross)
        got = frechet_distance(mu1, s1, mu2, s2)
        assert got == pytest.approx(expected, rel=1e-6)
        assert got == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-6), "d is symmetric"


def test_gaussian_fit_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_fit(np.zeros((1, 4)))


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    digits = load_digits()
    return SampleQualityEvaluator(digits.images, digits.labels, tmp_path_factory.mktemp("cache"), epochs=15)


def test_classifier_generalises_to_held_out_digits(evaluator):
    assert evaluator.classifier_accuracy >= 0.95
    assert evaluator.max_samples_per_class() >= 40
    parts = [set(evaluator.fit_idx), set(evaluator.reference_idx), set(evaluator.floor_idx)]
    assert sum(map(len, parts)) == 1797 and len(set.union(*parts)) == 1797, "the three splits are disjoint"


def test_real_digits_score_near_the_floor(evaluator):
    floor = evaluator.frechet_floor(PER_CLASS)
    assert floor > 0.0
    # real digits the classifier was trained on, never part of the reference: as good as the floor set
    seen = evaluator.images[evaluator.fit_idx]
    labels = evaluator.labels[evaluator.fit_idx]
    keep = np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])
    quality = evaluator.evaluate(seen[keep], labels[keep])
    assert quality.cas >= 0.95
    assert quality.frechet < 2.5 * floor, (
        f"real digits scored {quality.frechet:.3f} against a floor of {floor:.3f}"
    )


def test_noise_and_collapsed_samples_score_far_from_the_floor(evaluator):
    floor = evaluator.frechet_floor(PER_CLASS)
    labels = np.repeat(np.arange(10), PER_CLASS)
    noise = np.random.default_rng(0).integers(0, 256, size=(10 * PER_CLASS, 8, 8, 1), dtype=np.uint8)
    quality = evaluator.evaluate(noise, labels)
    assert quality.frechet > 20 * floor
    assert quality.cas < 0.4, "noise should be classified near chance (0.1)"
    # one real image per class, repeated: every sample has its class (CAS high) but no diversity
    real, real_labels = evaluator.real_samples(1)
    collapsed = np.repeat(real, PER_CLASS, axis=0)
    quality = evaluator.evaluate(collapsed, np.repeat(real_labels, PER_CLASS))
    assert quality.cas >= 0.9
    assert quality.frechet > 5 * floor, "mode collapse must cost Fréchet distance"


def test_classifier_is_cached(evaluator):
    assert evaluator.cache_path is not None and evaluator.cache_path.is_file()
    assert not evaluator.loaded_from_cache
    digits = load_digits()
    again = SampleQualityEvaluator(digits.images, digits.labels, evaluator.cache_path.parent, epochs=15)
    assert again.loaded_from_cache and again.classifier_accuracy == evaluator.classifier_accuracy
    images, _ = evaluator.real_samples(5)
    np.testing.assert_array_equal(again.features(images), evaluator.features(images))


def test_labels_outside_the_real_classes_are_rejected(evaluator):
    images, _ = evaluator.real_samples(1)
    with pytest.raises(ValueError, match="not classes"):
        evaluator.evaluate(images, np.full(len(images), 11))
