"""Benchmark: wall time of `grader check` on each submission, the worker's start included.

    python bench/check_seconds.py --repeat 3                               # the seed models
    python bench/check_seconds.py --repeat 3 ../shared/real-submissions/*/   # folders as students hand them in
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", help="files or folders (default: submissions/seed*.py)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    grader = [sys.executable, "-m", "grader.cli", "check"]
    for submission in args.submissions or sorted(Path("submissions").glob("seed*.py")):
        submission = Path(submission)
        files = sum(1 for p in submission.rglob("*") if p.suffix in (".py", ".ipynb")) if submission.is_dir() else 1
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([*grader, str(submission)], stdout=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - start)
        print(f"{submission.name:32} {files:3} files   median {statistics.median(times):5.2f} s   max {max(times):5.2f} s   ({args.repeat} runs)")


if __name__ == "__main__":
    main()
