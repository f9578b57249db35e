"""Issue 20: what the model worker leaves in its job folder is hostile data for the parent and for the trusted trainer.

The submission runs in the model worker, which writes graph.json, inspection.json, their arrays and the event file;
it can rewrite any of them at the very end (submissions/boundary_*.py replace `os._exit`, which the worker calls
last) or append to them while it runs. Whatever those files hold, the grade owes us: no code of theirs runs in the
trainer, and every malformed, over-deep or over-large file ends as a graded error of the submission (score 0, a
one-line message, the JSON report written), never as an exception of the grader (which the command line reports as
its own failure or as a usage error, and a batch as an "internal grader error").

Not marked xfail: these are the acceptance tests of issue 20's typed trust boundary, and each one fails on the
grader before it. Each case is one `api.check` (~5 s), or one quick provisional `api.grade` where the trainer reads
the file. The submissions that break the parent's own reading of source files are written here, not kept as huge
fixtures.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hostile import SUBMISSIONS, assert_clean_error, instantiate, new_marker
from test_adv_graph import assert_gains_nothing

from grader import cli
from grader.report import report_file

ERROR_STAGES = ("load", "inspect", "train")
TWIN = SUBMISSIONS / "graph_twin.py"  # the model of every boundary_*.py, honestly exported
DEEP = 100_000  # nested arrays: far past Python's recursion limit, and 200 kB


def long_sum(folder: Path) -> Path:
    """The twin with `CONSTANT = 1 + 1 + ... + 1` of 5,000 terms (a RecursionError in ast.parse)."""
    return _twin_with(folder / "long_sum.py", "CONSTANT = " + " + ".join(["1"] * 5_000))


def deep_minus(folder: Path) -> Path:
    """The twin with `X = - - ... - 1` of 100,000 signs (a MemoryError in ast.parse)."""
    return _twin_with(folder / "deep_minus.py", "X = " + "- " * 100_000 + "1")


def _twin_with(path: Path, line: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TWIN.read_text() + "\n" + line + "\n")
    return path


def deep_notebook(folder: Path) -> Path:
    """A valid notebook: one code cell with the twin, whose metadata also holds 100,000 nested arrays."""
    cell = {"cell_type": "code", "execution_count": None, "id": "model", "metadata": {"deep": "@@DEEP@@"}, "outputs": [],
            "source": TWIN.read_text().splitlines(keepends=True)}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / "deep_metadata.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook).replace('"@@DEEP@@"', "[" * DEEP + "]" * DEEP))
    return path


def hostile_file(name: str):
    return lambda folder: instantiate(name, folder)


# What each attack breaks today: the parent's reading of ...
CRASHERS = {
    "deep_graph_json": hostile_file("boundary_deep_graph.py"),  # graph.json: RecursionError in json.loads
    "huge_graph_array": hostile_file("boundary_huge_array.py"),  # the graph's arrays: MemoryError (numpy allocates 7.28 TiB)
    "deep_event_line": hostile_file("boundary_deep_event.py"),  # the event file, live: RecursionError in json.loads
    "long_sum_source": long_sum,  # a .py file: RecursionError in ast.parse
    "deep_minus_source": deep_minus,  # a .py file: MemoryError in ast.parse
    "deep_notebook": deep_notebook,  # a notebook: RecursionError in json.loads
    "list_reference": hostile_file("boundary_list_reference.py"),  # graph.json: TypeError (a list as a dictionary key)
    "long_kernel": hostile_file("boundary_long_kernel.py"),  # graph.json: ValueError (zip(..., strict=True)); CLI exit 2
    "tensor_number": hostile_file("boundary_tensor_number.py"),  # inspection.json: AttributeError (int.get)
}
TRAINING_TIME = ("deep_graph_json", "huge_graph_array", "deep_event_line")  # files a grade's training also depends on


def assert_graded_error(grade) -> None:
    """An error of the submission, at one of its stages: score 0 and one line for the student."""
    assert_clean_error(grade)
    assert grade.error.stage in ERROR_STAGES, grade.error


# --- code in the trusted trainer ---------------------------------------------------------------------------------

def test_a_graph_key_is_never_code_in_the_trainer(check, isolation, tmp_path):
    """The trainer's gradient probe runs the graph in a check too. Under bubblewrap the file lands in the trainer's
    private /tmp, so the printed marker is what shows the code ran."""
    marker = new_marker("fx")
    ran = Path(tempfile.gettempdir()) / f"{marker}.ran"
    try:
        g = check(instantiate("boundary_fx_kwargs.py", tmp_path, MARKER=marker, MARKER_FILE=ran), isolation)
        assert f"{marker} ran" not in g.output and not ran.exists(), "a key of graph.json ran as code in the trusted trainer"
    finally:
        ran.unlink(missing_ok=True)
    assert_gains_nothing(g, check(TWIN, isolation))


# --- the parent's reading ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("attack", list(CRASHERS))
def test_a_hostile_file_is_a_graded_error_in_a_check(check, tmp_path, attack):
    assert_graded_error(check(CRASHERS[attack](tmp_path)))


@pytest.mark.parametrize("attack", TRAINING_TIME)
def test_a_hostile_file_is_a_graded_error_in_a_grade(grade, tmp_path, attack):
    assert_graded_error(grade(CRASHERS[attack](tmp_path)))


@pytest.mark.parametrize("attack", list(CRASHERS))
def test_the_command_line_reports_a_hostile_file_as_the_submissions_error(rubric_file, tmp_path, attack):
    """Exit code 1 (the submission failed), not 2 (a usage error) nor an exception; the JSON report is written."""
    report = tmp_path / "report.json"
    code = cli.main(["check", str(CRASHERS[attack](tmp_path / "submission")), "--json", str(report),
                     "--rubric", str(rubric_file()), "--isolation", "auto"])
    assert code == 1
    written = json.loads(report.read_text())
    assert written["status"] == "error" and written["score"] == 0 and written["error"]["stage"] in ERROR_STAGES, written["error"]


def test_a_batch_grades_its_crashers_as_errors_of_theirs(rubric_file, mnist_dir, tmp_path):
    """One submission the parent cannot parse, one whose graph.json it cannot, and an honest one."""
    folder = tmp_path / "class"
    long_sum(folder).rename(folder / "ann.py")
    instantiate("boundary_deep_graph.py", folder).rename(folder / "ben.py")
    (folder / "cat.py").write_text(TWIN.read_text())
    out = tmp_path / "out"
    code = cli.main(["batch", str(folder), "--out", str(out), "--rubric", str(rubric_file()), "--workers", "2",
                     "--epochs", "1", "--train-limit", "200", "--data-dir", str(mnist_dir)])
    assert code == 0
    reports = {student: json.loads((out / report_file(student)).with_suffix(".json").read_text()) for student in ("ann", "ben", "cat")}
    for student in ("ann", "ben"):
        error = reports[student]["error"]
        assert reports[student]["status"] == "error" and reports[student]["score"] == 0, (student, error)
        assert error["stage"] in ERROR_STAGES and "internal grader error" not in error["message"], (student, error)
    assert reports["cat"]["status"] == "graded" and reports["cat"]["score"] > 0, reports["cat"]["error"]
