"""Outputs no submission can poison (issue 12): gradebook.csv cells a spreadsheet would evaluate, a NaN
in the JSON report, and a worker that rewrites the class's gradebook for a resumed batch to trust."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from hostile import SUBMISSIONS, assert_clean_error, instantiate, mode

from grader.batch import BatchOptions, grade_class
from grader.batch import csv as csv_report
from grader.report import json as json_report
from grader.rubric import load_rubric


def _refuse(constant):
    raise ValueError(f"not strict JSON: {constant}")


def test_an_error_message_that_is_a_formula_is_inert_in_the_csv(check, rubric_file, tmp_path):
    grade = check(SUBMISSIONS / "formula_error.py", "process")
    assert_clean_error(grade, "load", "=HYPERLINK(")
    assert grade.error.message.startswith("=HYPERLINK(")  # the attack: the message leads with a formula
    report = {**json_report.to_dict(grade), "student": "=cmd|' /C calc'!A0"}  # a student id is a file name, too
    csv_report.write(tmp_path / "gradebook.csv", [report], load_rubric(rubric_file()))
    with open(tmp_path / "gradebook.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["error"] == "'" + grade.error.message and row["student"].startswith("'=cmd")
    assert not any(cell.startswith(csv_report.FORMULA_STARTS) for cell in row.values()), row


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_start_is_escaped(text):
    assert csv_report.inert(text) == "'" + text
    assert csv_report.inert("alice") == "alice" and csv_report.inert(-1.5) == -1.5  # numbers stay numbers


def test_console_markup_from_the_submission_is_shown_literally(check):
    from rich.console import Console

    from grader.report import terminal

    grade = check(SUBMISSIONS / "markup_names.py", "process")
    console = Console(file=io.StringIO(), width=300, color_system=None)
    terminal.render(grade, console, verbose=True)
    shown = console.file.getvalue()
    assert grade.status == "graded", grade.error
    for literal in ("[link=http://127.0.0.1/phish]", "[blink]conv[/blink]"):
        assert literal in shown, shown


def test_nan_outputs_give_a_strict_json_report(grade):
    g = grade(SUBMISSIONS / "nan_outputs.py")
    assert g.status == "graded", g.error
    assert any(r.train_loss != r.train_loss for r in g.training.history)  # the loss really was NaN
    text = json_report.render(g)
    json.loads(text, parse_constant=_refuse)
    json.dumps(json_report.to_dict(g), allow_nan=False)
    assert json_report.to_dict(g)["training"]["history"][0]["train_loss"] is None


def test_a_rewritten_gradebook_is_not_trusted_on_resume(isolation, rubric_file, mnist_dir, tmp_path):
    out, folder = tmp_path / "out", tmp_path / "class"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "honest.py", folder / "alice.py")
    instantiate("gradebook_rewriter.py", tmp_path / "mallory", GRADEBOOK=out / "gradebook.sqlite")
    shutil.copy(tmp_path / "mallory" / "gradebook_rewriter.py", folder / "mallory.py")  # graded after alice
    options = BatchOptions(workers=1, epochs=1, train_limit=200, data_dir=str(mnist_dir), isolation=mode(isolation))
    rubric = load_rubric(rubric_file())
    first = grade_class(folder, rubric, out, options)
    assert first.graded == 2
    resumed = grade_class(folder, rubric, out, options)
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert float(rows["alice"]["score"]) > 0, "a classmate's rewritten gradebook row was trusted"
    rewritten = json.loads((out / "reports" / "mallory.json").read_text())["output"]
    if "REWRITE gradebook: rewritten" in rewritten:
        assert resumed.tampered == ("alice",) and resumed.graded == 1
    else:
        assert resumed.graded == 0
