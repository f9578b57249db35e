"""Benchmark: wall time of `grader check` on each seed model, the worker's start included.

    python bench/check_seconds.py --repeat 3
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    grader = [sys.executable, "-m", "grader.cli", "check"]
    for model in sorted(Path("submissions").glob("seed*.py")):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([*grader, str(model)], stdout=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - start)
        print(f"{model.name:32} median {statistics.median(times):5.2f} s   max {max(times):5.2f} s   ({args.repeat} runs)")


if __name__ == "__main__":
    main()
