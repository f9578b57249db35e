"""Benchmark: how much one model's accuracy moves from training seed to training seed, through the real grader.

    MNIST_DIR=../shared/mnist python bench/seed_spread.py --seeds 8 --epochs 3 --train-limit 20000 --workers 2 \\
        submissions/seed004_gap_8440.py grader/reference/model.py

Each model is graded once with the rubric's seed policy set to run every seed (1..N, side by side on
`--workers` cores, one thread each), so the numbers are the grader's own. Prints, per model, each seed's
validation and test accuracy and their mean, standard deviation and range: the noise the rubric's
borderline band ([seeds] band) is sized against. Short runs (--epochs, --train-limit) are noisier than full ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform

from grader import api
from grader.rubric import DEFAULT_RUBRIC, Seeds, load_rubric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--workers", type=int, default=1, help="seeds trained side by side")
    parser.add_argument("--rubric", default=str(DEFAULT_RUBRIC))
    args = parser.parse_args()
    rubric = load_rubric(args.rubric)
    every_seed = dataclasses.replace(rubric, seeds=Seeds(args.seeds, args.seeds, rubric.seeds.band))
    print(f"{args.seeds} seeds, {args.epochs or rubric.recipe.epochs} epochs, "
          f"{args.train_limit or rubric.recipe.split.train:,} training images; {platform.machine()}")
    print("| model | params | validation per seed | val mean | val sd | val range | test mean | test sd |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for path in args.models:
        g = api.grade(path, every_seed, epochs=args.epochs, train_limit=args.train_limit, cores=args.workers)
        if g.error:
            print(f"| {path} | error: {g.error.message} |")
            continue
        t = g.training
        (val, val_sd), (test, test_sd) = t.spread("validation_accuracy"), t.spread("test_accuracy")
        values = [r.validation_accuracy for r in t.runs]
        print(f"| {path} | {g.inspection.parameters.counted:,} | {' '.join(f'{v:.2f}' for v in values)} | {val:.2f} | {val_sd:.3f} "
              f"| {max(values) - min(values):.2f} | {test:.2f} | {test_sd:.3f} |", flush=True)


if __name__ == "__main__":
    main()
