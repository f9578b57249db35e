"""The evaluate stage, on the trusted side: accuracies from the worker's predictions and our labels.

The worker sees the validation and test images without labels; it returns one predicted class
per image and epoch. The labels never leave this process.
"""

from __future__ import annotations

import numpy as np

from grader.results import Diagnostics, EpochRecord, FeatureMaps, Flag, LayerActivation, Metrics, Mistake
from grader.sandbox.runner import EpochOutput

PRETRAINED_ABOVE = 30.0  # percent: an untrained 10-class model sits near 10%
PRETRAINED_FIRST_LOSS_BELOW = 1.0  # an untrained model's first batch costs about ln 10 = 2.3
MISTAKES_SHOWN = 32


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Percent of predictions equal to labels; shapes must match."""
    if predictions.shape != labels.shape:
        raise ValueError(f"{predictions.shape[0]} predictions for {labels.shape[0]} images")
    return float((predictions == labels).mean() * 100)


def evaluate(epochs: tuple[EpochOutput, ...], validation_labels: np.ndarray, test_labels: np.ndarray) -> tuple[tuple[EpochRecord, ...], Metrics, tuple[Flag, ...]]:
    """Per-epoch history (epoch 0, the untrained model, left out), the final metrics, and flags."""
    n = len(validation_labels)
    if any(e.predictions.shape != (n + len(test_labels),) for e in epochs):
        raise ValueError("the worker returned predictions of the wrong length")
    rows = [(e, accuracy(e.predictions[:n], validation_labels), accuracy(e.predictions[n:], test_labels)) for e in epochs]
    history = tuple(EpochRecord(e.epoch, e.train_loss if e.train_loss is not None else float("nan"), val, test, e.seconds)
                    for e, val, test in rows if e.epoch > 0)
    before = rows[0][1] if rows else None
    first_loss = next((e.first_loss for e in epochs if e.epoch == 1), None)
    flags = []
    if before is not None and before > PRETRAINED_ABOVE:
        flags.append(Flag("pretrained_weights", f"the untrained model already scores {before:.1f}% (chance is about 10%): "
                                                f"it ships trained weights. The grade must come from the rubric's training"))
    elif first_loss is not None and first_loss < PRETRAINED_FIRST_LOSS_BELOW:
        flags.append(Flag("pretrained_weights", f"the first training batch already costs only {first_loss:.2f} (an untrained model: "
                                                f"about 2.3): the model ships trained weights. The grade must come from the rubric's training"))
    last = history[-1] if history else None
    metrics = Metrics(last.validation_accuracy if last else None, last.test_accuracy if last else None, before)
    return history, metrics, tuple(flags)


def diagnose(final: EpochOutput, validation_images: np.ndarray, validation_labels: np.ndarray, test_images: np.ndarray,
             test_labels: np.ndarray, activations: list[dict], feature_maps: dict[str, np.ndarray]) -> Diagnostics:
    """Confusion matrix and misclassified digits of the test set, and the worker's look inside the model."""
    predicted = final.predictions[len(validation_labels):]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test_labels.astype(np.int64), predicted), 1)
    wrong = np.flatnonzero(predicted != test_labels)[:MISTAKES_SHOWN]
    mistakes = tuple(Mistake(int(i), int(test_labels[i]), int(predicted[i]), test_images[i]) for i in wrong)
    stats = tuple(
        LayerActivation(str(a["layer"])[:100], str(a["type"])[:50], float(a["mean"]), float(a["std"]), float(a["sparsity"]))
        for a in activations
        if all(isinstance(a.get(k), (int, float)) for k in ("mean", "std", "sparsity"))
    )
    maps = tuple(FeatureMaps(name, array) for name, array in feature_maps.items())
    return Diagnostics(tuple(tuple(int(v) for v in row) for row in confusion), mistakes, stats, maps,
                       validation_images[0], int(validation_labels[0]))
