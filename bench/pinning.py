"""Benchmark: what pinning the arithmetic (grader.numerics) costs and buys, on this machine.

    MNIST_DIR=../shared/mnist python bench/pinning.py --train-limit 10000 submissions/seed004_gap_8440.py

Trains the model's exported graph with the grader's trainer for one epoch (as a grade trains it), each time in a
fresh process, under: the machine's defaults with all its cores, one thread with the native kernels, the grader's
pin (one thread, torch's kernels at AVX2, MKL CNR, oneDNN's convolutions at the CPU's best of AVX-512 and AVX2), the
pin with oneDNN off (torch's own convolutions), on an AVX-512 CPU the pin with its convolutions at AVX2 (issue 13's
pin), and the pin at each other thread count. Prints images per second and the final training loss to every digit: equal
losses mean the same arithmetic. Only for models you trust: their code runs in the child process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from grader import numerics

CHILD = """
import contextlib, io, json, sys, time, torch
sys.path.insert(0, "bench")
from trainer_vs_naive import as_graph
from grader import data as mnist, train
from grader.load import choose_model, resolve_submission
from grader.load.importer import import_model_class
from grader.rubric import DEFAULT_RUBRIC, load_rubric
path, limit, threads, onednn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
torch.set_num_threads(threads)
torch.backends.mkldnn.enabled = onednn
recipe = load_rubric(DEFAULT_RUBRIC).recipe
split = mnist.load_split(mnist.find_mnist(None), recipe.split, limit)
submission = resolve_submission(path)
choice = choose_model(submission)
with contextlib.redirect_stdout(io.StringIO()):
    cls = import_model_class(submission.root, choice.file, choice.model_class)[0]
    torch.manual_seed(recipe.seed)
    model = as_graph(cls())
epochs = []
start = time.perf_counter()
train.train(model, split.train_images, split.train_labels, split.validation_images[:2000], split.validation_images[:0], recipe, 1,
            torch.device("cpu"), epochs.append)
seconds = time.perf_counter() - start
print(json.dumps({"loss": epochs[-1].train_loss, "images_per_second": len(split.train_images) / seconds,
                  "kernels": train.describe_kernels() if onednn else torch.backends.cpu.get_cpu_capability() + ", oneDNN off"}))
"""


def run(path: str, limit: int, threads: int, env: dict, onednn: bool = True) -> dict:
    return run_child(CHILD, [path, str(limit), str(threads), "1" if onednn else "0"], env)


def run_child(code: str, arguments: list[str], env: dict) -> dict:
    """`code` run by a fresh Python with `arguments`, its arithmetic set by `env` alone (this machine's own thread counts
    and kernel caps left out), and the JSON line it printed last."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", *numerics.KERNEL_CAPS)}
    out = subprocess.run([sys.executable, "-c", code, *arguments], env={**clean, **env}, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--train-limit", type=int, default=10_000)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    pinned = numerics.worker_environment(1)
    configurations = [
        (f"machine defaults, {cores} threads", cores, {}, True),
        ("1 thread, native kernels", 1, {}, True),
        ("grader's pin: 1 thread", 1, pinned, True),
        ("grader's pin, oneDNN off", 1, pinned, False),
        *((f"pin at {n} threads", n, {**pinned, "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)}, True)
          for n in range(2, cores + 1)),
    ]
    if pinned.get("ONEDNN_MAX_CPU_ISA", "AVX2") != "AVX2":  # issue 13's pin had the convolutions at AVX2 too
        configurations += [(f"pin at {n} thread{'s' if n > 1 else ''}, convolutions at AVX2", n,
                            {**pinned, "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n), "ONEDNN_MAX_CPU_ISA": "AVX2"}, True)
                           for n in range(1, cores + 1)]
    print(f"{args.model}, 1 epoch on {args.train_limit:,} images, {cores} cores, {numerics.cpu_model()}")
    print("| configuration | kernels | images/s | final training loss |")
    print("| --- | --- | ---: | --- |")
    for name, threads, env, onednn in configurations:
        r = run(args.model, args.train_limit, threads, env, onednn)
        print(f"| {name} | {r['kernels']} | {r['images_per_second']:,.0f} | {r['loss']!r} |", flush=True)


if __name__ == "__main__":
    main()
