"""The notebook self-check in a real Jupyter kernel (nbclient + ipykernel, this interpreter): a fixture notebook defines a
model, calls `grader.check(Net)` and a short provisional `grader.grade(Net, ...)`; each cell shows the grade as the HTML
report's fragment, and the check's JSON equals `grader check` on the same notebook file in every structural field."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest
from synthetic_mnist import write_mnist

from grader import cli

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = Path(__file__).resolve().parent / "fixtures" / "notebooks" / "self_check.ipynb"
KERNEL = "grader-test"
STRUCTURAL = ("parameters", "architecture", "flags", "graph", "feature_effects", "layers", "summary")  # the JSON report's fields
PRINT_JSON = "from grader.report import json as json_report\nprint(json_report.render(checked))"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The fixture notebook run top to bottom in a kernel of this interpreter, plus one cell that prints the check's JSON;
    its cells, and the folder it ran in."""
    folder = tmp_path_factory.mktemp("kernel")
    spec = folder / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "grader test",
        "language": "python", "env": {"PYTHONPATH": str(ROOT), "MNIST_DIR": str(write_mnist(folder / "mnist", 1200, 300)),
                                      "IPYTHONDIR": str(folder / "ipython")}}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(folder / "jupyter"))  # where the kernel spec is found
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(PRINT_JSON))
        nbclient.NotebookClient(notebook, timeout=240, kernel_name=KERNEL, resources={"metadata": {"path": str(folder)}}).execute()
    return notebook.cells, folder


def _cell(cells, starts: str):
    return next(c for c in cells if c.cell_type == "code" and c.source.startswith(starts))


def _result(cell) -> dict:
    """The cell's value as the kernel showed it: its execute_result's data by MIME type."""
    return next(o for o in cell.outputs if o.output_type == "execute_result").data


def _text(page: str) -> str:
    """What the reader sees: the text without the tags, the style and the entities."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))))


def test_the_check_cell_shows_the_verdict_points_and_count(executed):
    cells, _ = executed
    data = _result(_cell(cells, "checked = grader.check(Net)"))
    page = data["text/html"]
    assert page.startswith('<div class="grader-report">') and "<style>" in page
    text = _text(page)
    assert "PASS" in text and "50 / 100 points" in text and "1,466" in text
    assert "Self-check of Net from your own Python session" in text and "grader.grade(Net)" in text
    assert "PASS" in data["text/plain"] and "1,466 counted" in data["text/plain"]  # a plain-text front end: the terminal report


def test_the_grade_cell_shows_its_training_and_the_curves(executed):
    cells, _ = executed
    cell = _cell(cells, "grader.grade(Net")
    progress = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(progress) == 1 and "trained 1 epoch" in progress[0].data["text/html"]  # one display, updated in place
    page = _result(cell)["text/html"]
    text = _text(page)
    assert "PROVISIONAL" in text and "1 of the rubric's 19 epochs" in text
    assert re.search(r"\b(PASS|FAIL)\b", text) and re.search(r"\d+(\.\d+)? / 100 points", text) and "1,466" in text
    assert "Compared with the reference solution" in text and page.count("<svg") == 2  # accuracy beside the reference's, loss


def test_the_check_json_equals_grader_check_on_the_notebook_file(executed):
    cells, folder = executed
    in_kernel = json.loads("".join(o.text for o in _cell(cells, PRINT_JSON).outputs if o.output_type == "stream"))
    out = folder / "cli.json"
    assert cli.main(["check", str(NOTEBOOK), "--json", str(out)]) == 0
    from_file = json.loads(out.read_text())
    for field in STRUCTURAL:
        assert in_kernel[field] == from_file[field], field
    structural = [c for c in from_file["criteria"] if not c["metric"]]
    assert structural and [c for c in in_kernel["criteria"] if not c["metric"]] == structural
    assert (in_kernel["score"], in_kernel["max_score"], in_kernel["status"]) == (from_file["score"], from_file["max_score"], "graded")
    assert in_kernel["parameters"]["counted"] == 1466 and in_kernel["graph"]["sha256"]
    assert in_kernel["submission"]["kind"] == "object" and from_file["submission"]["kind"] == "files"
    assert in_kernel["submission"]["source_file"]  # the cell's file, where Python keeps it
    assert in_kernel["environment"]["isolation"] in ("bwrap", "process")  # the trainer's
