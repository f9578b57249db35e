"""The evaluation images as the worker gets them: exact, in a secret order, and perturbed copies at the end.

The accuracies are computed on the exact public validation and test images, so a model gets the same
accuracy on every installation. Those images are public, so a model could carry their answers: a table
keyed by their exact pixels, or by their position in the evaluation set. Each run therefore sends the
worker
- every evaluation image with its exact pixels, in a secret random order, which the parent keeps to put
  the predictions back (a table keyed by position matches nothing); the grade is computed on these;
- after the last epoch only, a copy of every one of them with a fresh, secret perturbation that an honest
  model does not notice (integer noise on the ink, and three background pixels next to it lit, so no byte
  pattern and no pattern of zero pixels of a public image survives; README, "Answers looked up from the
  public pixels", has the measurements), in a secret order of its own.
A model much better on the exact images than on their perturbed copies looked its answers up: flagged.
The secrets come from this installation's own random key (made once, kept in the user's config folder,
readable by the grader's user alone) and the hashes of the submission and the rubric: a repeat grade of
the same files is identical, no submission can know them, and they never leave this process: the worker
sees only `EvaluationSet.images` and `EvaluationSet.copies`.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.data import MnistSplit


@dataclass(frozen=True)
class Perturbation:
    """How each evaluation image is changed before the worker sees it."""

    noise_levels: int = 2  # intensity levels (of 255): each ink (non-zero) pixel gets a uniform integer in [-noise, noise], clipped
    background: float = 0.0  # this fraction of the background (zero) pixels becomes 1 (changes the zero pattern; costs accuracy)
    edge_pixels: int = 3  # this many background pixels touching the ink (of 8 neighbours) become 1: the zero pattern changes
    shift_pixels: int = 0  # each image moves by up to this many pixels in x and in y (zeros come in at the edge)

    @property
    def kind(self) -> str:
        background = f"_background{self.background:g}" if self.background else ""
        background += f"_edge{self.edge_pixels}" if self.edge_pixels else ""
        shift = f"_shift{self.shift_pixels}" if self.shift_pixels else ""
        return f"noise{self.noise_levels}{background}{shift}"


DEFAULT = Perturbation()


@dataclass(frozen=True)
class Predictions:
    """The worker's predictions put back in the parent's order."""

    validation: np.ndarray  # (V,) one class per validation image, exact
    test: np.ndarray  # (T,) one class per test image, exact
    copies: np.ndarray | None  # (V + T,) one class per perturbed copy of the validation then test images; after the last epoch only


@dataclass(frozen=True)
class EvaluationSet:
    """What the worker sees (`images`, `copies`) and the secrets that read its predictions (the rest, never sent)."""

    images: np.ndarray  # (V + T, 28, 28) uint8: the exact validation and test images, shuffled
    copies: np.ndarray  # (V + T, 28, 28) uint8: the same images perturbed, shuffled another way
    kind: str  # Perturbation.kind of the copies
    validation: int  # V: the originals are the validation images, then the test images
    order: np.ndarray  # (V + T,) images[j] is original order[j]
    copy_order: np.ndarray  # (V + T,) copies[j] is original copy_order[j], perturbed

    def restore(self, predictions: np.ndarray, copy_predictions: np.ndarray | None = None) -> Predictions:
        """The predictions for `images` (and for `copies`, when sent) in the parent's order; the runner checked their lengths."""
        ordered = _unshuffle(predictions, self.order)
        copies = None if copy_predictions is None else _unshuffle(copy_predictions, self.copy_order)
        return Predictions(ordered[: self.validation], ordered[self.validation :], copies)

    def source(self, position: int) -> int:
        """Which original (index into validation then test images) `images[position]` is."""
        return int(self.order[position])


def _unshuffle(predictions: np.ndarray, order: np.ndarray) -> np.ndarray:
    if predictions.shape != order.shape:
        raise ValueError(f"{predictions.shape[0]} predictions for {order.shape[0]} images")
    ordered = np.empty_like(predictions)
    ordered[order] = predictions
    return ordered


def secret_seeds(submission_sha256: str, rubric_sha256: str) -> tuple[int, int]:
    """The seeds of the noise and of the order for grading these files: secret, and the same for a repeat grade."""
    digest = hmac.new(_installation_key(), f"{submission_sha256}:{rubric_sha256}".encode(), "sha256").digest()
    return int.from_bytes(digest[:16], "big"), int.from_bytes(digest[16:], "big")


def _installation_key() -> bytes:
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "grader"
    path = folder / "evaluation.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(secrets.token_bytes(32))
        except FileExistsError:  # another grader made it first
            pass
    return path.read_bytes()


def prepare(split: MnistSplit, seeds: tuple[int, int], perturbation: Perturbation = DEFAULT) -> EvaluationSet:
    """This run's evaluation images, from `seeds` (the noise's and the orders': `secret_seeds`)."""
    noise_seed, order_seed = seeds
    # Two generators: learning the noise (the worker sees it, knowing the public pixels) says nothing of the orders.
    noise_rng, order_rng = np.random.default_rng(noise_seed), np.random.default_rng(order_seed)
    originals = np.concatenate([split.validation_images, split.test_images])  # (V + T, 28, 28)
    order, copy_order = order_rng.permutation(len(originals)), order_rng.permutation(len(originals))
    copies = _perturb(originals, perturbation, noise_rng)
    return EvaluationSet(originals[order], copies[copy_order], perturbation.kind, len(split.validation_images), order, copy_order)


def _perturb(images: np.ndarray, p: Perturbation, rng: np.random.Generator) -> np.ndarray:
    """(N, 28, 28) uint8 -> the same images, each one different in at least one pixel."""
    # Noise on the background would brighten it on average (clipped at 0): a bias that a fragile model notices (measured).
    ink = images > 0
    noise = rng.integers(-p.noise_levels, p.noise_levels + 1, size=images.shape, dtype=np.int16)
    lit = rng.random(images.shape) < p.background
    if p.edge_pixels:
        lit |= _edge(ink, p.edge_pixels, rng)
    out = np.clip(images + np.where(ink, noise, lit), 0, 255).astype(np.uint8)
    if p.shift_pixels:
        out = _shift(out, rng.integers(-p.shift_pixels, p.shift_pixels + 1, size=(len(out), 2)))
    same = np.flatnonzero((out == images).all(axis=(1, 2)))  # all noise clipped or zero: rare, but never let one through
    pixel = rng.integers(0, 28, size=(len(same), 2))
    values = out[same, pixel[:, 0], pixel[:, 1]]
    out[same, pixel[:, 0], pixel[:, 1]] = np.where(values < 255, values + 1, values - 1)
    return out


def _shift(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move each image by its (dy, dx), filling with zeros (MNIST's background)."""
    pad = int(np.abs(shifts).max())
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    out = np.empty_like(images)
    for dy, dx in {(int(a), int(b)) for a, b in shifts}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[rows] = padded[rows, pad - dy : pad - dy + 28, pad - dx : pad - dx + 28]
    return out


def _edge(ink: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """(N, 28, 28) bool: `count` random background pixels per image among those touching its ink."""
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    touching = np.zeros_like(ink)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            touching |= padded[:, 1 + dy : 29 + dy, 1 + dx : 29 + dx]
    candidates = (touching & ~ink).reshape(len(ink), -1)
    scores = np.where(candidates, rng.random(candidates.shape), -1.0)  # the highest `count` random scores win
    chosen = np.argpartition(-scores, count - 1, axis=1)[:, :count]
    out = np.zeros_like(candidates)
    np.put_along_axis(out, chosen, np.take_along_axis(candidates, chosen, axis=1), axis=1)
    return out.reshape(ink.shape)
