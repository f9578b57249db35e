"""Make the README's pictures of the notebook self-check: the fixture notebook run in a real kernel of this interpreter on
the real MNIST, and its last two cells laid out as a notebook shows them, painted by headless Chromium: `grader.check(Net)`
(docs/notebook-check.png) and a provisional `grader.grade(Net, epochs=1, train_limit=2000)` (docs/notebook-grade.png).

    MNIST_DIR=../shared/mnist python docs/notebook_screenshot.py
"""

import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "tests" / "fixtures" / "notebooks" / "self_check.ipynb"
SHOTS = (ROOT / "docs" / "notebook-check.png", ROOT / "docs" / "notebook-grade.png")  # one per cell, the last two
WIDTH = 1100
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 18px 24px; background: #fff; font: 14px system-ui, sans-serif; }}
.cell {{ display: grid; grid-template-columns: 64px 1fr; gap: 0 8px; margin-bottom: 14px; }}
.prompt {{ color: #303f9f; font: 13px monospace; text-align: right; padding-top: 7px; }}
.prompt.out {{ color: #d84315; }}
pre.input {{ margin: 0; padding: 7px 10px; background: #f5f5f5; border: 1px solid #e0e0e0; border-radius: 2px; font: 13px monospace; }}
</style></head><body>{cells}</body></html>"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "kernels" / "screenshot"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                      "display_name": "screenshot", "language": "python",
                                                      "env": {"PYTHONPATH": str(ROOT)}}))
        os.environ["JUPYTER_PATH"] = folder
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="screenshot", resources={"metadata": {"path": folder}}).execute()
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        for cell, shot in zip(notebook.cells[-len(SHOTS):], SHOTS, strict=True):
            page = Path(folder) / f"{shot.stem}.html"
            page.write_text(PAGE.format(cells=_cell(cell)))
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={folder}/profile",
                            f"--screenshot={shot}", f"--window-size={WIDTH},{_height(chromium, page, folder)}", page.as_uri()],
                           check=True, capture_output=True)
            print(f"wrote {shot}")


def _cell(cell) -> str:
    """One code cell as a notebook shows it: its input, then each output (the HTML of rich ones)."""
    parts = [f'<div class="cell"><div class="prompt">In [{cell.execution_count}]:</div><pre class="input">{html.escape(cell.source)}</pre></div>']
    for output in cell.outputs:
        if "text/html" in output.get("data", {}):
            prompt = f"Out[{cell.execution_count}]:" if output.output_type == "execute_result" else ""
            parts.append(f'<div class="cell"><div class="prompt out">{prompt}</div><div>{output.data["text/html"]}</div></div>')
    return "".join(parts)


def _height(chromium: str, page: Path, folder: str) -> int:
    """The page's full height, as the browser lays it out at WIDTH."""
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", "<script>document.title = document.body.scrollHeight</script></body>"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={folder}/profile",
                          f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri()], check=True, capture_output=True, text=True).stdout
    return int(dom.split("<title>")[1].split("</title>")[0]) + 20


if __name__ == "__main__":
    main()
