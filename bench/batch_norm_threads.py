"""Benchmark: batch norm on channels_last with several threads, ATen's call against the trainer's (grader.graph.kernels).

First one training-mode batch norm (forward and backward, batch 128) per channel count, then each model's whole
training step on its exported graph, as the trainer runs it, with ATen's batch norm and with the trainer's. Under a
worker's arithmetic (grader.numerics: the thread count, the kernel caps).

    python bench/batch_norm_threads.py --threads 2 submissions/seed004_gap_8440.py grader/reference/model.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from trainer_vs_naive import load_model, step_ceiling, typed  # noqa: E402

from grader import numerics  # noqa: E402
from grader.graph import build, kernels  # noqa: E402
from grader.graph.export import export_graph  # noqa: E402
from grader.rubric import DEFAULT_RUBRIC, load_rubric  # noqa: E402

ATEN = torch.ops.aten.batch_norm.default
ROUNDS = 5


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
    for path in args.models:
        torch.manual_seed(0)
        graph = typed(*export_graph(load_model(path), torch.randn(4, 1, 28, 28)))
        runs = {"aten": [], "trainer": []}
        for _ in range(ROUNDS):  # alternating, against the machine's drift
            for name, call in (("aten", ATEN), ("trainer", kernels.batch_norm)):
                build.REPLACEMENTS["aten.batch_norm.default"] = call
                runs[name].append(step_ceiling(build.GraphModel(graph, {}), recipe, 80))
        build.REPLACEMENTS["aten.batch_norm.default"] = kernels.batch_norm
        speeds = {name: statistics.median(values) for name, values in runs.items()}
        print(f"{Path(path).name}: training step {speeds['aten']:,.0f} images/s with ATen's batch norm, "  # medians
              f"{speeds['trainer']:,.0f} with the trainer's ({speeds['trainer'] / speeds['aten']:.2f}x)")


if __name__ == "__main__":
    main()
