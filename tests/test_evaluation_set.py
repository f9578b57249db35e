"""grader.evaluation_set and the evaluate stage's reading of it, on small arrays: no worker, no training."""

import hashlib

import numpy as np
import pytest
from synthetic_mnist import images_and_labels

from grader.data import MnistSplit
from grader.evaluate import LOOKED_UP_POINTS, diagnose, evaluate
from grader.evaluation_set import DEFAULT, Perturbation, prepare, secret_seeds
from grader.sandbox.runner import EpochOutput

SEEDS = (2026, 12)  # the noise's and the orders'; a grade takes them from secret_seeds

VALIDATION, TEST = 300, 200


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
    """What the worker would return for a model `predict` ((M, 28, 28) uint8 -> (M,) classes): epoch 0 and one epoch,
    the last, with the copies' predictions."""
    untrained = np.zeros(len(evaluation.images), np.int64)
    return (EpochOutput(0, None, None, 0.0, untrained),
            EpochOutput(1, 0.5, 2.3, 1.0, predict(evaluation.images), predict(evaluation.copies)))


def test_the_worker_gets_every_image_exact_in_a_secret_order_and_a_perturbed_copy_of_each_in_another(split):
    images, _ = originals(split)
    e = prepare(split, SEEDS)
    assert e.images.shape == e.copies.shape == (VALIDATION + TEST, 28, 28) and e.images.dtype == e.copies.dtype == np.uint8
    assert (e.images == images[e.order]).all() and not (e.order == np.arange(len(e.order))).all()
    public = {digest(image) for image in images}
    assert not any(digest(copy) in public for copy in e.copies)  # no copy carries the exact public pixels
    assert not np.array_equal(e.order, e.copy_order)
    assert np.abs(e.copies.astype(int) - images[e.copy_order]).max() <= 2


def test_the_noise_changes_the_ink_and_the_zero_pattern_of_every_digit():
    digits = np.zeros((50, 28, 28), np.uint8)
    digits[:, 8:20, 10:18] = np.random.default_rng(0).integers(1, 256, (50, 12, 8))  # ink; the rest is background
    empty = np.zeros((0, 28, 28), np.uint8)
    e = prepare(MnistSplit(empty, empty[:, 0, 0], digits[:30], np.zeros(30, np.uint8), digits[30:], np.zeros(20, np.uint8), ""), SEEDS)
    perturbed = e.copies[np.argsort(e.copy_order)].astype(int)
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
    a, b = prepare(split, secret_seeds("a" * 64, "r" * 64)), prepare(split, secret_seeds("b" * 64, "r" * 64))
    assert not np.array_equal(a.order, b.order) and not np.array_equal(a.copy_order, b.copy_order)
    assert not np.array_equal(a.copies[np.argsort(a.copy_order)], b.copies[np.argsort(b.copy_order)])  # other noise
    again = prepare(split, secret_seeds("a" * 64, "r" * 64))
    assert np.array_equal(a.copies, again.copies) and np.array_equal(a.order, again.order)  # a repeat grade is identical
    key = tmp_path / "grader" / "evaluation.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    key.write_bytes(b"\1" * 32)  # another installation's key: other secrets for the same files
    assert not np.array_equal(prepare(split, secret_seeds("a" * 64, "r" * 64)).order, a.order)


def test_two_installations_grade_the_same_predictions_alike(split, tmp_path, monkeypatch):
    """Other keys, other orders and noise: the same accuracies, since they are computed on the exact images."""
    images, labels = originals(split)
    knows = np.random.default_rng(0).random(len(images)) < 0.9
    answers = {digest(image): int(label if k else (label + 1) % 10) for image, label, k in zip(images, labels, knows, strict=True)}

    def model(batch):  # a deterministic function of the pixels: right on 90% of the exact digits
        return np.array([answers.get(digest(image), 0) for image in batch])

    metrics = []
    for installation in ("one", "two"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / installation))
        e = prepare(split, secret_seeds("a" * 64, "r" * 64))
        history, m, _ = evaluate(epochs_of(model, e), split.validation_labels, split.test_labels, e)
        metrics.append((m.validation_accuracy, m.test_accuracy, history))
    assert (tmp_path / "one/grader/evaluation.key").read_bytes() != (tmp_path / "two/grader/evaluation.key").read_bytes()
    assert metrics[0] == metrics[1]
    assert metrics[0][0] == pytest.approx(100 * knows[:VALIDATION].mean())


def test_restore_puts_predictions_back_in_the_parents_order(split):
    e = prepare(split, SEEDS)
    sent = np.array([e.source(j) for j in range(len(e.images))])  # a "model" answering with each image's original index
    copies = e.copy_order.copy()
    restored = e.restore(sent, copies)
    assert (restored.validation == np.arange(VALIDATION)).all()
    assert (restored.test == np.arange(VALIDATION, VALIDATION + TEST)).all()
    assert (restored.copies == np.arange(VALIDATION + TEST)).all()
    assert e.restore(sent).copies is None  # before the last epoch
    with pytest.raises(ValueError):
        e.restore(sent[:-1])
    with pytest.raises(ValueError):
        e.restore(sent, copies[:-1])


def test_a_shift_moves_images_without_losing_the_digit(split):
    images, _ = originals(split)
    e = prepare(split, SEEDS, Perturbation(noise_levels=0, shift_pixels=1))
    perturbed = e.copies[np.argsort(e.copy_order)]
    assert all(digest(a) != digest(b) for a, b in zip(perturbed, images, strict=True))  # even with no noise
    assert perturbed.astype(int).sum() == pytest.approx(images.astype(int).sum(), rel=0.05)


def lookup_model(split, e, knows: np.ndarray, looked_up: np.ndarray):
    """A network right on the digits in `knows`, behind a table of the exact public pixels of those in `looked_up`."""
    images, labels = originals(split)
    table = {digest(images[i]): int(labels[i]) for i in np.flatnonzero(looked_up)}
    perturbed = {digest(copy): int(source) for copy, source in zip(e.copies, e.copy_order, strict=True)}
    exact = {digest(image): int(source) for image, source in zip(e.images, e.order, strict=True)}

    def model(batch):
        sources = np.array([exact.get(digest(image), perturbed.get(digest(image))) for image in batch])
        honest = np.where(knows[sources], labels[sources], (labels[sources] + 1) % 10)
        found = np.array([table.get(digest(image), -1) for image in batch])
        return np.where(found >= 0, found, honest)

    return model


def test_a_lookup_table_of_the_public_pixels_is_flagged(split):
    images, _ = originals(split)
    e = prepare(split, SEEDS)
    knows = np.random.default_rng(0).random(len(images)) < 0.6
    _, metrics, flags = evaluate(epochs_of(lookup_model(split, e, knows, np.ones(len(images), bool)), e), split.validation_labels,
                                 split.test_labels, e)
    assert "answers_looked_up" in [f.id for f in flags]
    assert metrics.perturbation.canary_accuracy == 100.0 and metrics.perturbation.perturbed_accuracy_on_canaries < 75
    assert metrics.perturbation.effect_points > 20


def test_a_table_of_only_the_digits_the_network_gets_wrong_is_flagged(split):
    """Graded on the exact images, a small table of the hard ones would lift a good network past the threshold."""
    images, _ = originals(split)
    e = prepare(split, SEEDS)
    knows = np.random.default_rng(1).random(len(images)) < 0.95
    looked_up = ~knows  # about 25 of the 500
    _, metrics, flags = evaluate(epochs_of(lookup_model(split, e, knows, looked_up), e), split.validation_labels, split.test_labels, e)
    assert metrics.validation_accuracy == 100.0  # what the table buys on the exact images...
    assert "answers_looked_up" in [f.id for f in flags]  # ...and the flag that scores it 0
    assert metrics.perturbation.effect_points == pytest.approx(100 * looked_up.mean())


def test_an_honest_model_that_the_perturbation_moves_a_little_is_not_flagged(split):
    _, labels = originals(split)
    e = prepare(split, (1, 2))
    rng = np.random.default_rng(3)
    knows = rng.random(len(labels)) < 0.9
    exact = {digest(image) for image in e.images}

    def model(batch):  # right on 90% of the digits, and 2% of its answers on the copies change with the noise (either way)
        sources = e.order if digest(batch[0]) in exact else e.copy_order
        right = knows[sources] ^ ((rng.random(len(batch)) < 0.02) & (sources is e.copy_order))
        return np.where(right, labels[sources], (labels[sources] + 1) % 10)

    _, metrics, flags = evaluate(epochs_of(model, e), split.validation_labels, split.test_labels, e)
    assert "answers_looked_up" not in [f.id for f in flags]
    effect = metrics.perturbation
    assert effect.canaries == VALIDATION + TEST and effect.kind == DEFAULT.kind
    assert effect.canary_accuracy == pytest.approx(100 * knows.mean())
    assert abs(effect.effect_points) < effect.threshold_points and effect.threshold_points >= LOOKED_UP_POINTS
    assert effect.effect_points == pytest.approx(effect.canary_accuracy - effect.perturbed_accuracy_on_canaries)


def test_the_last_epoch_must_bring_the_copies_predictions(split):
    e = prepare(split, SEEDS)
    epochs = epochs_of(lambda batch: np.zeros(len(batch), np.int64), e)
    with pytest.raises(ValueError, match="perturbed copies"):
        evaluate((epochs[0], EpochOutput(1, 0.5, 2.3, 1.0, epochs[1].predictions)), split.validation_labels, split.test_labels, e)


def test_without_an_evaluation_set_predictions_are_read_as_validation_then_test(split):
    labels = np.concatenate([split.validation_labels, split.test_labels]).astype(np.int64)
    epochs = (EpochOutput(0, None, None, 0.0, labels), EpochOutput(1, 0.5, 2.3, 1.0, labels))
    history, metrics, flags = evaluate(epochs, split.validation_labels, split.test_labels)
    assert metrics.validation_accuracy == 100.0 and metrics.perturbation is None
    with pytest.raises(ValueError):
        evaluate((EpochOutput(1, 0.5, 2.3, 1.0, labels[:-1]),), split.validation_labels, split.test_labels)


def test_diagnostics_read_the_test_predictions_and_name_the_sample_the_worker_saw(split):
    _, labels = originals(split)
    e = prepare(split, SEEDS)
    perfect = np.array([labels[e.source(j)] for j in range(len(e.images))], dtype=np.int64)
    d = diagnose(EpochOutput(1, 0.5, 2.3, 1.0, perfect), split.validation_images, split.validation_labels, split.test_images,
                 split.test_labels, [], {}, e)
    assert sum(d.confusion[i][i] for i in range(10)) == TEST and not d.mistakes
    assert (d.sample_image == e.images[0]).all() and d.sample_label == labels[e.source(0)]
