"""grader.evaluation_set and the evaluate stage's reading of it, on small arrays: no worker, no training."""

import hashlib

import numpy as np
import pytest
from synthetic_mnist import images_and_labels

from grader.data import MnistSplit
from grader.evaluate import diagnose, evaluate
from grader.evaluation_set import DEFAULT, Perturbation, prepare, secret_seeds
from grader.sandbox.runner import EpochOutput

SEEDS = (2026, 12)  # the noise's and the order's; a grade takes them from secret_seeds

VALIDATION, TEST, CANARIES = 300, 200, 100


@pytest.fixture(scope="module")
def split():
    val_images, val_labels = images_and_labels(VALIDATION, seed=5)
    test_images, test_labels = images_and_labels(TEST, seed=6)
    empty = np.zeros((0, 28, 28), np.uint8)
    return MnistSplit(empty, empty[:, 0, 0], val_images, val_labels, test_images, test_labels, "")


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def originals(split):
    return np.concatenate([split.validation_images, split.test_images]), np.concatenate([split.validation_labels, split.test_labels])


def epochs_of(predict, evaluation) -> tuple[EpochOutput, ...]:
    """What the worker would return for a model `predict` ((M, 28, 28) uint8 -> (M,) classes): epoch 0 and one epoch."""
    untrained = np.zeros(len(evaluation.images), np.int64)
    return (EpochOutput(0, None, None, 0.0, untrained), EpochOutput(1, 0.5, 2.3, 1.0, predict(evaluation.images)))


def test_the_worker_gets_every_image_perturbed_and_some_exact_in_a_shuffled_order(split):
    images, _ = originals(split)
    e = prepare(split, SEEDS, canaries=CANARIES)
    assert e.images.shape == (VALIDATION + TEST + CANARIES, 28, 28) and e.images.dtype == np.uint8
    public = {digest(image) for image in images}
    sent = [digest(image) for image in e.images]
    assert sum(h in public for h in sent) == CANARIES  # only the canaries carry exact public pixels
    assert {h for h in sent if h in public} == {digest(images[i]) for i in e.canaries}
    assert not (e.order == np.arange(len(e.order))).all()
    perturbed = e.images[e.order < VALIDATION + TEST][np.argsort(e.order[e.order < VALIDATION + TEST])]
    assert np.abs(perturbed.astype(int) - images).max() <= 2


def test_the_noise_changes_the_ink_and_the_zero_pattern_of_every_digit():
    digits = np.zeros((50, 28, 28), np.uint8)
    digits[:, 8:20, 10:18] = np.random.default_rng(0).integers(1, 256, (50, 12, 8))  # ink; the rest is background
    empty = np.zeros((0, 28, 28), np.uint8)
    e = prepare(MnistSplit(empty, empty[:, 0, 0], digits[:30], np.zeros(30, np.uint8), digits[30:], np.zeros(20, np.uint8), ""), SEEDS, canaries=0)
    perturbed = e.images[np.argsort(e.order)].astype(int)
    ink = digits > 0
    assert ((perturbed != digits) & ink).sum(axis=(1, 2)).min() > 0.5 * ink.sum(axis=(1, 2)).min()  # 4 in 5 ink pixels move
    assert ((perturbed > 0) != ink).any(axis=(1, 2)).all()  # no digit keeps its pattern of zero pixels
    lit = (perturbed > 0) & ~ink
    assert (lit.sum(axis=(1, 2)) == 3).all() and set(np.unique(perturbed[~ink])) == {0, 1}  # three pixels at 1, not a brighter background
    touching = np.zeros_like(ink)
    touching[:, 7:21, 9:19] = True
    assert not (lit & ~touching).any()  # next to the ink


def test_secrets_differ_between_submissions_and_repeat_for_the_same_files(split, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    a, b = prepare(split, secret_seeds("a" * 64, "r" * 64), canaries=CANARIES), prepare(split, secret_seeds("b" * 64, "r" * 64), canaries=CANARIES)
    assert not np.array_equal(a.order, b.order) and not np.array_equal(a.canaries, b.canaries)
    assert not np.array_equal(a.images, b.images)
    again = prepare(split, secret_seeds("a" * 64, "r" * 64), canaries=CANARIES)
    assert np.array_equal(a.images, again.images) and np.array_equal(a.order, again.order)  # a repeat grade is identical
    key = tmp_path / "grader" / "evaluation.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    key.write_bytes(b"\1" * 32)  # another installation's key: other secrets for the same files
    assert not np.array_equal(prepare(split, secret_seeds("a" * 64, "r" * 64), canaries=CANARIES).order, a.order)


def test_restore_puts_predictions_back_in_the_parents_order(split):
    e = prepare(split, SEEDS, canaries=CANARIES)
    sent = np.array([e.source(j) for j in range(len(e.images))])  # a "model" answering with each image's original index
    restored = e.restore(sent)
    assert (restored.validation == np.arange(VALIDATION)).all()
    assert (restored.test == np.arange(VALIDATION, VALIDATION + TEST)).all()
    assert (restored.canaries == e.canaries).all()
    with pytest.raises(ValueError):
        e.restore(sent[:-1])


def test_a_shift_moves_images_without_losing_the_digit(split):
    images, _ = originals(split)
    e = prepare(split, SEEDS, Perturbation(noise_levels=0, shift_pixels=1), canaries=0)
    perturbed = e.images[np.argsort(e.order)]
    assert all(digest(a) != digest(b) for a, b in zip(perturbed, images, strict=True))  # even with no noise
    assert perturbed.astype(int).sum() == pytest.approx(images.astype(int).sum(), rel=0.05)


def test_a_lookup_table_of_the_public_pixels_is_flagged_and_gains_nothing(split):
    images, labels = originals(split)
    table = {digest(image): int(label) for image, label in zip(images, labels, strict=True)}
    e = prepare(split, SEEDS, canaries=CANARIES)
    knows = np.random.default_rng(0).random(len(images)) < 0.6  # the network behind the table: right on 60% of the digits

    def model(batch):
        found = np.array([table.get(digest(image), -1) for image in batch])
        sources = np.array([e.source(j) for j in range(len(batch))])
        honest = np.where(knows[sources], labels[sources], (labels[sources] + 1) % 10)
        return np.where(found >= 0, found, honest)

    history, metrics, flags = evaluate(epochs_of(model, e), split.validation_labels, split.test_labels, e)
    assert "answers_looked_up" in [f.id for f in flags]
    assert metrics.perturbation.canary_accuracy == 100.0
    assert metrics.perturbation.effect_points > 20
    assert metrics.validation_accuracy < 75  # graded on the perturbed images: the table never matched them


def test_an_honest_model_that_the_perturbation_moves_a_little_is_not_flagged(split):
    _, labels = originals(split)
    e = prepare(split, (1, 2), canaries=CANARIES)
    rng = np.random.default_rng(3)
    knows = rng.random(len(labels)) < 0.9

    def model(batch):  # right on 90% of the digits, and 2% of its answers change with the noise (either way)
        sources = np.array([e.source(j) for j in range(len(batch))])
        right = knows[sources] ^ (rng.random(len(batch)) < 0.02)
        return np.where(right, labels[sources], (labels[sources] + 1) % 10)

    _, metrics, flags = evaluate(epochs_of(model, e), split.validation_labels, split.test_labels, e)
    assert "answers_looked_up" not in [f.id for f in flags]
    effect = metrics.perturbation
    assert effect.canaries == CANARIES and effect.kind == DEFAULT.kind
    assert abs(effect.effect_points) < effect.threshold_points and effect.threshold_points >= 2.0
    assert effect.effect_points == pytest.approx(effect.canary_accuracy - effect.perturbed_accuracy_on_canaries)


def test_without_an_evaluation_set_predictions_are_read_as_validation_then_test(split):
    labels = np.concatenate([split.validation_labels, split.test_labels]).astype(np.int64)
    epochs = (EpochOutput(0, None, None, 0.0, labels), EpochOutput(1, 0.5, 2.3, 1.0, labels))
    history, metrics, flags = evaluate(epochs, split.validation_labels, split.test_labels)
    assert metrics.validation_accuracy == 100.0 and metrics.perturbation is None
    with pytest.raises(ValueError):
        evaluate((EpochOutput(1, 0.5, 2.3, 1.0, labels[:-1]),), split.validation_labels, split.test_labels)


def test_diagnostics_read_the_test_predictions_and_name_the_sample_the_worker_saw(split):
    _, labels = originals(split)
    e = prepare(split, SEEDS, canaries=CANARIES)
    perfect = np.array([labels[e.source(j)] for j in range(len(e.images))], dtype=np.int64)
    d = diagnose(EpochOutput(1, 0.5, 2.3, 1.0, perfect), split.validation_images, split.validation_labels, split.test_images,
                 split.test_labels, [], {}, e)
    assert sum(d.confusion[i][i] for i in range(10)) == TEST and not d.mistakes
    assert (d.sample_image == e.images[0]).all() and d.sample_label == labels[e.source(0)]
