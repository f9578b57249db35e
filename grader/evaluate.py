"""The evaluate stage, on the trusted side: accuracies from the worker's predictions and our labels.

The worker sees the validation and test images without labels, exact and shuffled, and after the last
epoch their perturbed copies (grader.evaluation_set); it returns one predicted class per image and epoch.
The labels and the orders never leave this process.
"""

from __future__ import annotations

import math

import numpy as np

from grader import results as R
from grader.evaluation_set import EvaluationSet, Predictions
from grader.protocol import LayerStat
from grader.results import Diagnostics, EpochRecord, FeatureMaps, Flag, LayerActivation, Metrics, Mistake, PerturbationEffect
from grader.sandbox.runner import EpochOutput

PRETRAINED_ABOVE = 30.0  # percent: an untrained 10-class model sits near 10%
PRETRAINED_FIRST_LOSS_BELOW = 1.0  # an untrained model's first batch costs about ln 10 = 2.3
MISTAKES_SHOWN = 32
# Flag a model this many points better on the exact images than on their perturbed copies (honest models measured:
# within 0.015 points at every epoch, README "Answers looked up from the public pixels")...
LOOKED_UP_POINTS = 0.1
LOOKED_UP_STANDARD_ERRORS = 3.0  # ... and by this many standard errors of the paired difference, whichever is more


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Percent of predictions equal to labels; shapes must match."""
    if predictions.shape != labels.shape:
        raise ValueError(f"{predictions.shape[0]} predictions for {labels.shape[0]} images")
    return float((predictions == labels).mean() * 100)


def evaluate(epochs: tuple[EpochOutput, ...], validation_labels: np.ndarray, test_labels: np.ndarray,
             evaluation: EvaluationSet | None = None) -> tuple[tuple[EpochRecord, ...], Metrics, tuple[Flag, ...]]:
    """Per-epoch history (epoch 0, the untrained model, left out), the final metrics, and flags.

    Without `evaluation` the predictions are for the validation then the test images, as they are."""
    n = len(validation_labels)
    restored = [restore(e, n, len(test_labels), evaluation) for e in epochs]
    rows = [(e, accuracy(p.validation, validation_labels), accuracy(p.test, test_labels)) for e, p in zip(epochs, restored, strict=True)]
    history = tuple(EpochRecord(e.epoch, e.train_loss if e.train_loss is not None else float("nan"), val, test, e.seconds)
                    for e, val, test in rows if e.epoch > 0)
    before = rows[0][1] if rows else None
    first_loss = next((e.first_loss for e in epochs if e.epoch == 1), None)
    flags = []
    if before is not None and before > PRETRAINED_ABOVE:
        flags.append(Flag(R.PRETRAINED_WEIGHTS, f"the untrained model already scores {before:.1f}% (chance is about 10%): "
                                                f"it ships trained weights. The grade must come from the rubric's training"))
    elif first_loss is not None and first_loss < PRETRAINED_FIRST_LOSS_BELOW:
        flags.append(Flag(R.PRETRAINED_WEIGHTS, f"the first training batch already costs only {first_loss:.2f} (an untrained model: "
                                                f"about 2.3): the model ships trained weights. The grade must come from the rubric's training"))
    last = history[-1] if history else None
    effect = None
    if evaluation is not None and last is not None:
        if restored[-1].copies is None:
            raise ValueError("the worker returned no predictions for the perturbed copies after the last epoch")
        effect = copy_effect(restored[-1], evaluation, np.concatenate([validation_labels, test_labels]))
        if effect.effect_points > effect.threshold_points:
            flags.append(Flag(R.ANSWERS_LOOKED_UP, f"the trained model scores {effect.canary_accuracy:.2f}% on the {effect.canaries} public "
                                                   f"images with their exact pixels but {effect.perturbed_accuracy_on_canaries:.2f}% on the "
                                                   f"same images imperceptibly perturbed: it looks answers up from the public pixels "
                                                   f"instead of recognizing digits"))
    metrics = Metrics(last.validation_accuracy if last else None, last.test_accuracy if last else None, before, effect)
    return history, metrics, tuple(flags)


def restore(epoch: EpochOutput, validation: int, test: int, evaluation: EvaluationSet | None) -> Predictions:
    """One epoch's predictions in the parent's order."""
    if evaluation is not None:
        return evaluation.restore(epoch.predictions, epoch.copy_predictions)
    if epoch.predictions.shape != (validation + test,):
        raise ValueError("the worker returned predictions of the wrong length")
    p = epoch.predictions
    return Predictions(p[:validation], p[validation:], None)


def copy_effect(predictions: Predictions, evaluation: EvaluationSet, labels: np.ndarray) -> PerturbationEffect:
    """Accuracy on the exact images against their perturbed copies, and the threshold of the flag.

    A paired comparison: only the images right one way and wrong the other count; with b and c of them,
    b - c has a standard error of about sqrt(b + c) whatever the model's accuracy (McNemar's test)."""
    exact_right = np.concatenate([predictions.validation, predictions.test]) == labels
    perturbed_right = predictions.copies == labels
    only_exact, only_perturbed = int((exact_right & ~perturbed_right).sum()), int((perturbed_right & ~exact_right).sum())
    k = len(labels)

    def percent(count: float) -> float:
        return round(100 * float(count) / k, 4) if k else 0.0

    return PerturbationEffect(evaluation.kind, k, percent(exact_right.sum()), percent(perturbed_right.sum()),
                              percent(only_exact - only_perturbed),
                              round(max(LOOKED_UP_POINTS, LOOKED_UP_STANDARD_ERRORS * percent(math.sqrt(only_exact + only_perturbed))), 4))


def diagnose(final: EpochOutput, validation_images: np.ndarray, validation_labels: np.ndarray, test_images: np.ndarray,
             test_labels: np.ndarray, activations: tuple[LayerStat, ...], feature_maps: dict[str, np.ndarray],
             evaluation: EvaluationSet | None = None) -> Diagnostics:
    """Confusion matrix and misclassified digits of the test set, and the worker's look inside the model."""
    predicted = restore(final, len(validation_labels), len(test_labels), evaluation).test
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test_labels.astype(np.int64), predicted), 1)
    wrong = np.flatnonzero(predicted != test_labels)[:MISTAKES_SHOWN]
    mistakes = tuple(Mistake(int(i), int(test_labels[i]), int(predicted[i]), test_images[i]) for i in wrong)
    stats = tuple(LayerActivation(a.layer[:100], a.type[:50], a.mean, a.std, a.sparsity)
                  for a in activations if None not in (a.mean, a.std, a.sparsity))
    maps = tuple(FeatureMaps(name, array) for name, array in feature_maps.items())
    # The feature maps are the worker's, for the first image it was sent.
    sample_image, source = (evaluation.images[0], evaluation.source(0)) if evaluation is not None else (validation_images[0], 0)
    sample_label = np.concatenate([validation_labels, test_labels])[source]
    return Diagnostics(tuple(tuple(int(v) for v in row) for row in confusion), mistakes, stats, maps, sample_image, int(sample_label))
