"""Benchmark: `grader.check(Net)` in a warm Jupyter kernel, as a student runs it in a notebook's cell.

    python bench/notebook_check.py --repeat 5                          # the fixture notebook's model
    python bench/notebook_check.py --repeat 5 submissions/seed004_gap_8440.py:Net reference/model.py:Net

A kernel of this interpreter starts (ipykernel), imports torch and grader and defines the model, as a notebook's first
cells do; one check warms it (the first export loads torch's tracing machinery; its time is printed too). Then each check is timed inside the
kernel, from the call to the Grade (the export in the kernel, the trainer worker's start and its effect measurement, the
parent's inspection and scoring); the display of the result is timed apart (the HTML fragment, as Jupyter renders it).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "notebooks" / "self_check.ipynb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="FILE:CLASS of .py files to define the model from (default: the fixture notebook's Net)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "kernels" / "bench"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                      "display_name": "bench", "language": "python",
                                                      "env": {"PYTHONPATH": str(ROOT)}}))
        os.environ["JUPYTER_PATH"] = folder
        manager, client = start_new_kernel(kernel_name="bench")
        try:
            for name, source in _models(args.models):
                run(client, source)
                first = float(run(client, "import time, grader\nstart = time.perf_counter(); warm = grader.check(Net)\n"
                                          "assert warm.status == 'graded', warm.error\nprint(time.perf_counter() - start)"))
                times = json.loads(run(client, f"""
times, shown = [], []
for _ in range({args.repeat}):
    start = time.perf_counter(); g = grader.check(Net); times.append(time.perf_counter() - start)
    start = time.perf_counter(); g._repr_html_(); repr(g); shown.append(time.perf_counter() - start)
print(json.dumps([times, shown, g.inspection.parameters.counted, g.environment.isolation]))"""))
                checks, shown, counted, isolation = times
                print(f"{name:36} {counted:7,} params   check median {statistics.median(checks):5.2f} s   max {max(checks):5.2f} s   "
                      f"display median {statistics.median(shown):4.2f} s   ({args.repeat} runs, trainer isolation {isolation}; "
                      f"the kernel's first check {first:.2f} s)")
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def _models(specs: list[str]):
    """(name, the source a notebook's cells would hold) for each model."""
    if not specs:
        cells = json.loads(FIXTURE.read_text())["cells"]
        code = [("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
        yield "self_check.ipynb:Net", "import json\n" + "\n".join(code[:2])
        return
    for spec in specs:
        file, _, cls = spec.rpartition(":")
        yield spec, (f"import importlib.util, json\nspec = importlib.util.spec_from_file_location('bench_model', {str(ROOT / file)!r})\n"
                     f"module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\nNet = module.{cls}")


def run(client, code: str) -> str:
    """Execute `code` in the kernel; what it printed, or SystemExit with its error."""
    printed = []
    reply = client.execute_interactive(code, timeout=600, output_hook=lambda m: printed.append(m["content"].get("text", ""))
                                       if m["msg_type"] == "stream" else None)
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"the kernel failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return "".join(printed)


if __name__ == "__main__":
    main()
