"""Measurement: does the evaluation images' secret perturbation move an honest model's accuracy?

One worker run trains the submission with the rubric's recipe, as `grader grade` does, and predicts
every validation and test image several times each epoch: with its exact public pixels and with each
candidate perturbation (grader.evaluation_set). For each candidate it prints the accuracy on the
exact and on the perturbed images, the difference, and how many predictions the perturbation turned
right-to-wrong and wrong-to-right: an honest model should move by no more than that noise.

    MNIST_DIR=../shared/mnist python bench/perturbation.py submissions/seed004_gap_8440.py --epochs 2
    MNIST_DIR=../shared/mnist python bench/perturbation.py reference/model.py --epochs 19 --kinds noise2_edge3 everywhere2
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import secrets

import numpy as np

from grader import data as mnist
from grader.evaluation_set import Perturbation, _perturb
from grader.load import choose_model, resolve_submission
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.sandbox.runner import TrainingData, run_worker

CANDIDATES = {p.kind: p for p in (
    Perturbation(2, edge_pixels=0), Perturbation(2, background=0.05, edge_pixels=0), Perturbation(2, background=0.2, edge_pixels=0),
    Perturbation(1), Perturbation(2), Perturbation(4), Perturbation(2, edge_pixels=10), Perturbation(2, shift_pixels=1))}


def everywhere(images: np.ndarray, levels: int, rng: np.random.Generator) -> np.ndarray:
    """The first candidate: noise on every pixel, background included (which brightens it on average: clipped at 0)."""
    noise = rng.integers(-levels, levels + 1, size=images.shape, dtype=np.int16)
    return np.clip(images + noise, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", choices=[*CANDIDATES, "everywhere2"], default=["everywhere2", "noise2", "noise2_edge3"],
                        help="the candidates to measure (everywhere2: noise in [-2, 2] on every pixel, background included)")
    args = parser.parse_args()
    kinds = args.kinds
    rubric = load_rubric(DEFAULT_RUBRIC)
    split = mnist.load_split(mnist.find_mnist(), rubric.recipe.split)
    originals = np.concatenate([split.validation_images, split.test_images])  # (20000, 28, 28)
    labels = np.concatenate([split.validation_labels, split.test_labels])
    rng = np.random.default_rng(secrets.randbits(128))
    variants = [originals] + [everywhere(originals, 2, rng) if kind == "everywhere2" else _perturb(originals, CANDIDATES[kind], rng)
                              for kind in kinds]
    submission = resolve_submission(args.submission)
    choice = choose_model(submission, "")
    request = {"mode": "grade", "file": choice.file, "model_class": choice.model_class, "left_out": list(submission.left_out),
               "recipe": dataclasses.asdict(rubric.recipe), "epochs": args.epochs, "device": "cpu", "threads": 1}
    run = run_worker(submission, request, rubric.limits, TrainingData(split.train_images, split.train_labels, np.concatenate(variants), split.validation_images[:0]))
    if run.error:
        raise SystemExit(f"the worker failed: {run.error}")
    n, v = len(originals), len(split.validation_labels)
    print(f"{args.submission}: {args.epochs} epochs, {n} images ({v} validation, {n - v} test)")
    print("epoch  perturbation            exact val  pert val  exact test pert test  diff(all) points  right->wrong  wrong->right  z")
    for e in run.epochs[1:]:
        exact = e.predictions[:n] == labels
        for i, kind in enumerate(kinds, start=1):
            perturbed = e.predictions[i * n:(i + 1) * n] == labels
            b, c = int((exact & ~perturbed).sum()), int((perturbed & ~exact).sum())
            z = (b - c) / math.sqrt(b + c) if b + c else 0.0
            print(f"{e.epoch:5}  {kind:22} {100 * exact[:v].mean():9.2f} {100 * perturbed[:v].mean():9.2f} "
                  f"{100 * exact[v:].mean():10.2f} {100 * perturbed[v:].mean():9.2f} {100 * (b - c) / n:+16.3f} "
                  f"{b:13} {c:13} {z:+5.2f}")


if __name__ == "__main__":
    main()
