"""Benchmark: every honest model trained both ways, its own eager module (the old path) and its exported
graph (what the trusted trainer runs), same initial weights, recipe, seed and images; in one process.

    MNIST_DIR=../shared/mnist python bench/graph_vs_eager.py --epochs 1 --train-limit 5000 \\
        submissions/seed*.py grader/reference/model.py ../shared/real-submissions/*/

Prints validation and test accuracy per path, their difference, and the time per path. Only for
models you trust: their code runs in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import io
import sys
import time

import msgspec
import numpy as np
import torch

from grader import data as mnist
from grader.boundary import decode_graph
from grader.graph.build import GraphModel
from grader.graph.export import ExportFailed, export_graph
from grader.load import choose_model, resolve_submission
from grader.load.importer import SubmissionImporter, import_model_class
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.train import train


def typed(graph: dict, arrays: dict):
    """The export as the trainer gets it: through the boundary's binding to torch's schemas."""
    return decode_graph(msgspec.json.encode(graph), arrays)


def build(path: str, seed: int) -> torch.nn.Module:
    submission = resolve_submission(path)
    choice = choose_model(submission)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        cls, _ = import_model_class(submission.root, choice.file, choice.model_class)
        torch.manual_seed(seed)
        model = cls()
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, SubmissionImporter)]  # the next one has its own modules
    for name in [n for n, m in sys.modules.items() if str(getattr(m, "__file__", "") or "").startswith(submission.root)]:
        del sys.modules[name]
    return model


def accuracies(model, split, recipe, epochs: int) -> tuple[float, float, float]:
    evaluation = np.concatenate([split.validation_images, split.test_images])
    last = {}
    torch.manual_seed(recipe.seed)
    start = time.perf_counter()
    train(model, split.train_images, split.train_labels, evaluation, recipe, epochs, torch.device("cpu"),
          lambda e: last.update(predictions=e.predictions))
    n = len(split.validation_labels)
    predictions = last["predictions"]
    return (float((predictions[:n] == split.validation_labels).mean() * 100), float((predictions[n:] == split.test_labels).mean() * 100),
            time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    rubric = load_rubric(DEFAULT_RUBRIC)
    recipe = rubric.recipe
    split = mnist.load_split(mnist.find_mnist(args.data_dir), recipe.split, args.train_limit)
    recipe = dataclasses.replace(recipe, epochs=max(args.epochs, 1))
    print(f"{args.epochs} epoch(s) on {len(split.train_images):,} images; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'submission':28} {'eager val':>9} {'graph val':>9} {'eager test':>10} {'graph test':>10} {'diff':>6} {'eager s':>7} {'graph s':>7}")
    for path in args.submissions:
        name = path.rstrip("/").rsplit("/", 1)[-1]
        try:
            model = build(path, recipe.seed)
            probe = copy.deepcopy(model)
            graph = GraphModel(typed(*export_graph(probe, torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))), {})
        except ExportFailed as e:
            print(f"{name:28} not exportable: {str(e)[:80]}")
            continue
        eager_val, eager_test, eager_s = accuracies(model, split, recipe, args.epochs)
        graph_val, graph_test, graph_s = accuracies(graph, split, recipe, args.epochs)
        diff = max(abs(graph_val - eager_val), abs(graph_test - eager_test))
        print(f"{name:28} {eager_val:9.2f} {graph_val:9.2f} {eager_test:10.2f} {graph_test:10.2f} {diff:6.2f} {eager_s:7.1f} {graph_s:7.1f}",
              flush=True)


if __name__ == "__main__":
    main()
