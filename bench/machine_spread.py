"""Benchmark: the machine as a source of spread. The same model from the same seed, trained with the rubric's whole
recipe under each arithmetic this project can meet, against the spread from seed to seed.

    MNIST_DIR=../shared/mnist python bench/machine_spread.py --jobs 2 --out machine_spread.jsonl \
        grader/reference/model.py submissions/seed002_plain_fc_16614.py submissions/seed004_gap_8440.py

`--only pin2 --` (keys: pin1 pin2 onednn-off conv-avx2 gpu) runs those arithmetics alone, to re-run one column.

The arithmetics: the grader's pin at one thread (a batch worker), the pin at two threads (a single grade on two
cores), the pin with oneDNN off (torch's own convolutions: another family of kernels, as another processor has), on
an AVX-512 CPU the pin with its convolutions at AVX2 (what an AVX2 machine of the vendor runs), and a GPU when there
is one. Each run is a fresh process (the environment must be set before torch loads) training the
model's exported graph with the grader's trainer (grader.train) for the rubric's epochs, as a grade trains it, then predicting the exact validation and test
images. `--jobs` runs that many one-thread runs side by side, and a run of more threads alone (threads that share a
core with another run wait on each other: four times as slow): the numbers do not depend on it (each run's
arithmetic is its own), only the time does. The seed-to-seed spread beside it is the reference's recorded five seeds
(reference/results.json, one arithmetic). Only for models you trust: their code runs in the child process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor

from pinning import run_child  # bench/, this script's folder

from grader import api, numerics

CHILD = """
import contextlib, io, json, sys, time, numpy as np, torch
sys.path.insert(0, "bench")
from trainer_vs_naive import as_graph
from grader import data as mnist, numerics, train
from grader.evaluate import accuracy
from grader.load import choose_model, resolve_submission
from grader.load.importer import import_model_class
from grader.rubric import DEFAULT_RUBRIC, load_rubric
path, threads, onednn, device, epochs = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", torch.device(sys.argv[4]), int(sys.argv[5])
numerics.pin_torch(torch, threads)
torch.backends.mkldnn.enabled = onednn
recipe = load_rubric(DEFAULT_RUBRIC).recipe
split = mnist.load_split(mnist.find_mnist(None), recipe.split)
submission = resolve_submission(path)
choice = choose_model(submission)
with contextlib.redirect_stdout(io.StringIO()):
    cls = import_model_class(submission.root, choice.file, choice.model_class)[0]
    torch.manual_seed(recipe.seed)
    model = as_graph(cls())
torch.manual_seed(recipe.seed)
start = time.perf_counter()
train.train(model, split.train_images, split.train_labels, split.validation_images[:8], split.validation_images[:0], recipe,
            epochs or recipe.epochs, device, lambda e: None)
seconds = time.perf_counter() - start
predicted = train.predict(model, train.normalize(torch.from_numpy(np.concatenate([split.validation_images, split.test_images])).to(device)))
v = len(split.validation_labels)
print(json.dumps({"validation_accuracy": accuracy(predicted[:v], split.validation_labels),
                  "test_accuracy": accuracy(predicted[v:], split.test_labels), "seconds": seconds,
                  "device": train.describe_device(device)}))
"""


def arithmetics() -> dict[str, tuple[str, int, bool, str, dict]]:
    """{key: (name, threads, oneDNN on, device, environment over the pin's)} of each arithmetic to try on this machine."""
    found = {"pin1": ("pin, 1 thread (a batch worker)", 1, True, "cpu", {}),
             "pin2": ("pin, 2 threads (a single grade on 2 cores)", 2, True, "cpu", {}),
             "onednn-off": ("pin, 1 thread, oneDNN off (other convolution kernels)", 1, False, "cpu", {})}
    if numerics.worker_environment(1).get("ONEDNN_MAX_CPU_ISA", "AVX2") != "AVX2":
        found["conv-avx2"] = ("pin, 1 thread, convolutions at AVX2 (an AVX2 machine's)", 1, True, "cpu", {"ONEDNN_MAX_CPU_ISA": "AVX2"})
    import torch

    if torch.cuda.is_available():
        found["gpu"] = (f"GPU ({torch.cuda.get_device_name(0)})", 1, True, "cuda", {})
    return found


def train_once(path: str, threads: int, onednn: bool, device: str, environment: dict, epochs: int) -> dict:
    return run_child(CHILD, [path, str(threads), "1" if onednn else "0", device, str(epochs)],
                     {**numerics.worker_environment(threads), **environment})


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"range {max(values) - min(values):.2f}, standard deviation {sd:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--out", help="append each run as a JSON line to this file")
    parser.add_argument("--epochs", type=int, default=0, help="fewer than the rubric's, for a quick look (default: the rubric's)")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="these arithmetics (pin1 pin2 onednn-off conv-avx2 gpu; default: all here)")
    args = parser.parse_args()
    found = arithmetics()
    if missing := set(args.only or ()) - set(found):
        parser.error(f"not on this machine: {', '.join(sorted(missing))} (here: {', '.join(found)})")
    runs = [(model, *found[key]) for model in args.models for key in args.only or found]
    print(f"{len(runs)} runs of the whole recipe on {numerics.cpu_model()}, {os.cpu_count()} cores, {args.jobs} side by side", flush=True)

    def run(job):
        model, name, threads, onednn, device, environment = job
        result = {"model": model, "arithmetic": name, **train_once(model, threads, onednn, device, environment, args.epochs)}
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(result) + "\n")
        print(f"  {model}, {name}: {result['validation_accuracy']:.2f} / {result['test_accuracy']:.2f} ({result['seconds']:.0f} s)", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, [r for r in runs if r[2] == 1]))
    results += [run(r) for r in runs if r[2] > 1]
    print("\n| model | arithmetic | validation % | test % |\n| --- | --- | ---: | ---: |")
    for r in results:
        print(f"| `{r['model']}` | {r['arithmetic']} | {r['validation_accuracy']:.2f} | {r['test_accuracy']:.2f} |")
    print()
    for model in args.models:
        values = [r["validation_accuracy"] for r in results if r["model"] == model]
        print(f"{model}: validation across arithmetics: {spread(values)}")
    reference = json.loads(api.REFERENCE_RESULTS.read_text())
    if not reference["provisional"]:
        seeds = [r["validation_accuracy"] for r in reference["runs"]]
        print(f"the reference's recorded seeds ({len(seeds)}, {reference['runs'][0].get('machine_kind', '')}): validation {spread(seeds)}")


if __name__ == "__main__":
    main()
