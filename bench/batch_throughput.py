"""Benchmark: `grader batch` throughput with 1 and 2 workers (or --workers ...), on copies of one model.

Each run grades --students copies of the model (provisional: --epochs and --train-limit keep it
short) into a fresh output folder, and prints submissions per minute and images per second.

    MNIST_DIR=../shared/mnist python bench/batch_throughput.py --students 4 --workers 1 2
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from grader.batch import BatchOptions, grade_class
from grader.rubric import DEFAULT_RUBRIC, load_rubric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="submissions/seed004_gap_8440.py")
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=10_000)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rubric = load_rubric(DEFAULT_RUBRIC)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        for i in range(args.students):
            shutil.copy(args.model, folder / f"student{i:02d}.py")
        for workers in args.workers:
            options = BatchOptions(workers=workers, epochs=args.epochs, train_limit=args.train_limit, device=args.device)
            start = time.perf_counter()
            summary = grade_class(folder, rubric, Path(tmp) / f"out{workers}", options)
            seconds = time.perf_counter() - start
            images = args.students * args.epochs * args.train_limit
            print(f"{workers} worker(s): {summary.graded} submissions in {seconds:6.1f} s = "
                  f"{60 * summary.graded / seconds:5.1f} submissions/min, {images / seconds:6.0f} training images/s overall "
                  f"({summary.errors} errors)", flush=True)


if __name__ == "__main__":
    main()
