"""Benchmark: batch norm on channels_last with several threads, ATen's call against the trainer's (grader.graph.kernels).

First one training-mode batch norm (forward and backward, batch 128) per channel count, then one epoch of the
trainer's whole loop (grader.train.train) on each model's exported graph, on random images, with ATen's batch norm
and with the trainer's, alternating. Under a worker's arithmetic (grader.numerics: the thread count, the kernel caps).

    python bench/batch_norm_threads.py --threads 2 submissions/seed004_gap_8440.py grader/reference/model.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from trainer_vs_naive import load_model, typed  # noqa: E402

from grader import numerics  # noqa: E402
from grader.graph import build, kernels  # noqa: E402
from grader.graph.export import export_graph  # noqa: E402
from grader.rubric import DEFAULT_RUBRIC, load_rubric  # noqa: E402
from grader.train import train  # noqa: E402

ATEN = torch.ops.aten.batch_norm.default
ROUNDS = 3
IMAGES = 12_800  # one epoch of the trainer's whole loop: augmentation, forward, backward, optimizer


def layer_ms(call, channels: int, size: int, repeat: int = 20) -> float:
    x = torch.randn(128, channels, size, size).contiguous(memory_format=torch.channels_last).requires_grad_()
    weight, bias = torch.rand(channels, requires_grad=True), torch.rand(channels, requires_grad=True)
    mean, var, grad = torch.zeros(channels), torch.ones(channels), torch.randn_like(x)
    for i in range(repeat + 3):
        if i == 3:
            start = time.perf_counter()
        call(x, weight, bias, mean, var, True, 0.1, 1e-5, False).backward(grad)
    return (time.perf_counter() - start) / repeat * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--threads", type=int, default=numerics.usable_cores())
    args = parser.parse_args()
    environment = numerics.worker_environment(args.threads)
    if any(os.environ.get(k) != v for k, v in environment.items()):  # the arithmetic is set when torch starts
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **environment})
    print(f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}; one batch norm, forward and backward:")
    for channels, size in ((8, 28), (16, 28), (12, 28), (20, 14), (24, 14), (32, 7)):
        print(f"  {channels:>2} channels at {size}x{size}: ATen {layer_ms(ATEN, channels, size):6.2f} ms   "
              f"the trainer's {layer_ms(kernels.batch_norm, channels, size):6.2f} ms")
    recipe = load_rubric(DEFAULT_RUBRIC).recipe
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (IMAGES, 28, 28), dtype=np.uint8), rng.integers(0, 10, IMAGES, dtype=np.uint8)
    for path in args.models:
        torch.manual_seed(0)
        graph = typed(*export_graph(load_model(path), torch.randn(4, 1, 28, 28)))
        runs = {"aten": [], "trainer": []}
        for _ in range(ROUNDS):  # alternating, against the machine's drift
            for name, call in (("aten", ATEN), ("trainer", kernels.batch_norm)):
                build.REPLACEMENTS["aten.batch_norm.default"] = call
                start = time.perf_counter()
                train(build.GraphModel(graph, {}), images, labels, images[:2], images[:0], recipe, 1, torch.device("cpu"),
                      lambda _: None)
                runs[name].append(IMAGES / (time.perf_counter() - start))
        build.REPLACEMENTS["aten.batch_norm.default"] = kernels.batch_norm
        aten, trainer = statistics.median(runs["aten"]), statistics.median(runs["trainer"])
        print(f"{Path(path).name}: the trainer's loop {aten:,.0f} images/s with ATen's batch norm, {trainer:,.0f} with "
              f"the trainer's ({trainer / aten:.2f}x)")


if __name__ == "__main__":
    main()
