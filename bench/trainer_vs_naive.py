"""Benchmark: the grader's trainer against the naive loop, same model, recipe and images, in one run.

The naive loop is what the seed write-ups do: a torchvision-style Dataset of PIL images, a
per-image RandomAffine, a DataLoader. Both train the same submission from the same initial
weights with the rubric's optimizer and schedule for --epochs epochs on the rubric's training
split; the timed part is training only, and both are then evaluated on the validation split.
`graph` is the same trainer on the model's exported graph, as the trusted trainer runs it (grader.graph).
Last, the ceiling: the model's training step alone on one fixed batch, which bounds any loop, eager, as the
exported graph, and under torch.compile (with its compile time).

    MNIST_DIR=../shared/mnist python bench/trainer_vs_naive.py --epochs 2
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.util
import os
import platform
import time

import msgspec
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from grader import data as mnist
from grader.boundary import decode_graph
from grader.graph.build import GraphModel
from grader.graph.export import export_graph
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.train import MEAN, STD, choose_memory_format, make_optimizer, normalize, predict, train


def typed(graph: dict, arrays: dict):
    """The export as the trainer gets it: through the boundary's binding to torch's schemas."""
    return decode_graph(msgspec.json.encode(graph), arrays)


def as_graph(model: torch.nn.Module) -> GraphModel:
    """The model as the trainer trains it: exported, through the boundary's types, rebuilt (grader.graph)."""
    return GraphModel(typed(*export_graph(model, torch.randn(4, 1, 28, 28))), {})


class PilMnist(Dataset):
    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i], mode="L")), int(self.labels[i])


def naive_loop(model, split, recipe, epochs: int, workers: int, after_epoch=lambda: None) -> float:
    a = recipe.augment
    transform = transforms.Compose([
        transforms.RandomAffine(a.rotate_degrees, translate=(a.translate_pixels / 28, a.translate_pixels / 28),
                                scale=(1 - a.scale, 1 + a.scale), fill=0),
        transforms.ToTensor(),
        transforms.Normalize((MEAN,), (STD,)),
    ])
    loader = DataLoader(PilMnist(split.train_images, split.train_labels, transform), batch_size=recipe.batch_size,
                        shuffle=True, drop_last=True, num_workers=workers)
    optimizer, scheduler = make_optimizer(model, recipe, len(loader) * recipe.epochs)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        after_epoch()
    return time.perf_counter() - start


def grader_loop(model, split, recipe, epochs: int) -> float:
    marks = []
    train(model, split.train_images, split.train_labels, split.validation_images[:250], split.validation_images[:0], recipe, epochs,
          torch.device("cpu"), lambda e: marks.append(time.perf_counter()))
    return marks[-1] - marks[0]  # from the end of the untrained evaluation to the end of training


def step_ceiling(model, recipe, steps: int = 60) -> tuple[float, float]:
    """Images/s of the model's own training step (forward, backward, optimizer) on one fixed batch in
    the grader's memory format, with no data pipeline at all: what no training loop can beat; and the
    seconds of the five warm-up steps before it (a compiled model compiles there)."""
    x = torch.randn(recipe.batch_size, 1, 28, 28)
    memory_format = choose_memory_format(model, x)
    x, y = x.contiguous(memory_format=memory_format), torch.randint(0, 10, (recipe.batch_size,))
    optimizer, _ = make_optimizer(model, recipe, steps)
    model.train()
    warm_up = time.perf_counter()
    for step in range(steps + 5):
        if step == 5:  # warm-up done
            start = time.perf_counter()
            warm_up = start - warm_up
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * recipe.batch_size / (time.perf_counter() - start), warm_up


def load_model(path: str) -> torch.nn.Module:
    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, torch.nn.Module) and c.__module__ == "submission"]
    return classes[-1]()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="submissions/seed004_gap_8440.py")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes for the naive loop")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    rubric = load_rubric(DEFAULT_RUBRIC)
    recipe = dataclasses.replace(rubric.recipe, epochs=args.epochs)  # both schedules span the benchmarked epochs
    split = mnist.load_split(mnist.find_mnist(args.data_dir), recipe.split)
    torch.manual_seed(recipe.seed)
    initial = load_model(args.model)
    validation = normalize(torch.from_numpy(split.validation_images))
    images = len(split.train_images) // recipe.batch_size * recipe.batch_size * args.epochs
    print(f"{args.model}, {args.epochs} epochs, {images:,} training images each; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    results = {}
    for name in ("naive", "grader", "graph"):
        model = as_graph(copy.deepcopy(initial)) if name == "graph" else copy.deepcopy(initial)
        torch.manual_seed(recipe.seed)
        seconds = naive_loop(model, split, recipe, args.epochs, args.workers) if name == "naive" else grader_loop(model, split, recipe, args.epochs)
        acc = float((predict(model, validation) == split.validation_labels).mean() * 100)
        results[name] = (images / seconds, acc)
        print(f"{name:>6}: {images / seconds:8,.0f} images/s  {seconds:7.1f} s  validation accuracy {acc:.2f}%", flush=True)
    print(f" ratio: {results['grader'][0] / results['naive'][0]:.2f}x the naive loop's throughput; "
          f"accuracy difference {results['grader'][1] - results['naive'][1]:+.2f} points")
    print(f" graph: {results['graph'][0] / results['grader'][0]:.2f}x the eager trainer's throughput; "
          f"accuracy difference {results['graph'][1] - results['grader'][1]:+.2f} points")
    ceiling, _ = step_ceiling(copy.deepcopy(initial), recipe)
    print(f"ceiling: {ceiling:8,.0f} images/s  the model's training step alone, no data pipeline "
          f"({ceiling / results['naive'][0]:.2f}x the naive loop; the grader reaches {results['grader'][0] / ceiling:.0%} of it)")
    ceiling, _ = step_ceiling(as_graph(copy.deepcopy(initial)), recipe)
    print(f"ceiling: {ceiling:8,.0f} images/s  the same for the exported graph")
    ceiling, compiling = step_ceiling(torch.compile(copy.deepcopy(initial)), recipe)
    print(f"ceiling: {ceiling:8,.0f} images/s  the model under torch.compile (inductor), after {compiling:.0f} s of compiling")


if __name__ == "__main__":
    main()
