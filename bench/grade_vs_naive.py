"""Benchmark: a whole `grader grade` against the naive loop, each a whole process on the same machine, in one run.

    MNIST_DIR=../shared/mnist python bench/grade_vs_naive.py submissions/seed004_gap_8440.py --epochs 1 19

The naive loop is the seed write-ups' notebook code as bench/trainer_vs_naive.py defines it (a Dataset of PIL
images, a per-image RandomAffine, a DataLoader, the rubric's optimizer and schedule, torch's default threads), and,
like those notebooks, it evaluates the validation and test images after every epoch. The grader's side is the
command a user runs, `grader grade MODEL --epochs N`, timed from start to exit: the model worker's start, load,
trace and export, the trainer's, the evaluation of every epoch, the reports. Both train on the rubric's 50,000
images, once: the grade's rubric is the default with `borderline_runs = 1` (a first run within the band would
otherwise train two more seeds, which is the seed policy's cost, not the trainer's speed). Only for models you
trust: the naive loop runs the model's code in this machine's process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.rubric import DEFAULT_RUBRIC

NAIVE = """
import sys, dataclasses, numpy as np, torch
sys.path.insert(0, "bench")
from torch.utils.data import DataLoader
from torchvision import transforms
from trainer_vs_naive import PilMnist, load_model, naive_loop
from grader import data as mnist
from grader.train import MEAN, STD
from grader.rubric import DEFAULT_RUBRIC, load_rubric
path, epochs = sys.argv[1], int(sys.argv[2])
recipe = load_rubric(DEFAULT_RUBRIC).recipe
split = mnist.load_split(mnist.find_mnist(None), recipe.split)
torch.manual_seed(recipe.seed)
model = load_model(path)
plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
images = np.concatenate([split.validation_images, split.test_images])
labels = np.concatenate([split.validation_labels, split.test_labels])
evaluation = DataLoader(PilMnist(images, labels, plain), batch_size=1000)


def test():  # the notebooks' test() after every epoch
    model.eval()
    with torch.no_grad():
        right = sum(int((model(x).argmax(1) == y).sum()) for x, y in evaluation)
    print(f"{100 * right / len(images):.2f}%", flush=True)


naive_loop(model, split, dataclasses.replace(recipe, epochs=epochs), epochs, 0, test)
"""


def timed(command: list[str], codes: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    code = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if code not in codes:
        raise SystemExit(f"{' '.join(command[:3])}... exited with {code}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 19])
    args = parser.parse_args()
    grader = str(Path(sys.executable).with_name("grader"))
    print(f"{args.model}; {os.cpu_count()} cores; whole processes, wall time")
    for epochs in args.epochs:
        with tempfile.TemporaryDirectory() as out:
            rubric = Path(out, "rubric.toml")  # one training run, as the naive loop's: no borderline seeds
            text, found = re.subn(r"(?m)^borderline_runs = \d+", "borderline_runs = 1", DEFAULT_RUBRIC.read_text())
            if found != 1:
                raise SystemExit(f"{DEFAULT_RUBRIC} has no 'borderline_runs = N' line to set to 1")
            rubric.write_text(text)
            graded = timed([grader, "grade", args.model, "--epochs", str(epochs), "--rubric", str(rubric), "--json", f"{out}/grade.json"],
                           (0, 1))  # 1: a failed criterion
            report = json.loads(Path(out, "grade.json").read_text())
            if report["status"] != "graded":
                raise SystemExit(f"the grade's status is {report['status']}")
        naive = timed([sys.executable, "-c", NAIVE, args.model, str(epochs)])
        print(f"{epochs:>2} epoch(s): naive loop {naive:7.1f} s   grader grade {graded:7.1f} s   "
              f"the grader {naive / graded:.2f}x as fast   ({report['metrics']['validation_accuracy']:.2f}% validation, "
              f"{report['environment']['device']})", flush=True)


if __name__ == "__main__":
    main()
