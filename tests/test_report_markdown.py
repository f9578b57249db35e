"""The Markdown report (GitHub job summary, Gradescope output) over Grade objects built by hand."""

import dataclasses
import re

import pytest
from test_report_html import KINDS, make_grade

from grader.report import markdown
from grader.results import CriterionResult, Flag, StageError

EVIL = "a | b <script>alert(1)</script> **bold** [link](http://evil.example) `tick` _x_"


def table_rows(page: str, header: str) -> list[str]:
    """The body rows of the Markdown table whose header row starts with `header`."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def cells(row: str) -> list[str]:
    """A table row's cells, split on the pipes Markdown would split on (not the escaped ones)."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_verdict_criteria_and_provenance(kind):
    grade = make_grade(kind)
    page = markdown.render(grade)
    first = page.splitlines()[0]
    assert first.startswith("## ") and ("ERROR" if grade.error else "PASS" if grade.passed else "FAIL") in first
    assert f"{grade.score:g} / " in first
    rows = table_rows(page, "| | criterion |")
    assert len(rows) == len(grade.criteria)
    assert all(len(cells(r)) == 4 for r in rows)
    assert ("### Error while" in page) == (grade.error is not None)
    assert ("PROVISIONAL" in page) == bool(grade.provisional)
    assert ("### Model" in page) == (grade.inspection is not None)
    assert grade.rubric_sha256[:12] in page and "isolation process" in page
    assert "<script" not in page and "<sub>" not in page


def test_graded_report_compares_training_with_the_reference():
    grade = make_grade("graded")
    page = markdown.render(grade)
    comparison = {cells(r)[0].strip(): [c.strip() for c in cells(r)[1:]] for r in table_rows(page, "| | yours |")}
    assert comparison["validation accuracy"] == ["99.21%", "99.45%"]
    assert comparison["parameters (counted)"] == ["1,410", "7,900"]
    history = table_rows(page, "| epoch |")
    assert len(history) == len(grade.training.history)
    assert [c.strip() for c in cells(history[-1])] == ["3", "0.3333", "99.21", "99.31", "99.30"]
    assert "Untrained: 9.8% validation accuracy" in page


def test_flags_come_with_their_fix_and_architecture_with_marks():
    page = markdown.render(make_grade("graded"))
    flags = page[page.index("### Flags"):]
    assert "unused\\_layer" in flags and "**Fix**:" in flags and "`forward`" in flags
    assert "BatchNorm ✅ · Dropout ❌ · GAP ✅ · FC ✅" in page
    assert "1,410 counted" in page and "5 px" in page


def test_check_mode_says_which_points_need_training():
    page = markdown.render(make_grade("check"))
    assert "40 / 50 structural points (50 more need `grader grade`)" in page.splitlines()[0]
    assert "⏸️" in table_rows(page, "| | criterion |")[0]
    assert "Not trained in this run." in page


def test_error_shows_message_advice_traceback_and_printed_output():
    page = markdown.render(make_grade("error"))
    error = page[page.index("### Error while loading"):page.index("### Criteria")]
    assert "**SyntaxError: invalid syntax (student.py, line 12)**" in error
    assert "`ModelClass()`" in error  # the stage's advice
    assert "```text\nTraceback (most recent call last):" in error and "loading data..." in error


def test_error_after_inspection_keeps_the_model_and_says_the_score_is_zero():
    grade = make_grade("graded", error=StageError("train", "RuntimeError: shapes do not match", "Traceback ...\nRuntimeError"),
                       score=0.0)
    page = markdown.render(grade)
    assert "### Error while training" in page and "### Model" in page
    assert "the score is 0 whatever the criteria above found" in page


def test_untrusted_text_cannot_break_tables_or_inject_html():
    criteria = (CriterionResult("accuracy", False, 0.0, 50, EVIL + "\nsecond line"),) + make_grade().criteria[1:]
    grade = make_grade("graded", criteria=criteria, submission_path=EVIL)
    grade = dataclasses.replace(grade, inspection=dataclasses.replace(grade.inspection, flags=(Flag("unused_layer", EVIL),),
                                                                      notes=(EVIL,)))
    page = markdown.render(grade)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "[link](http" not in page and "**bold**" not in page
    row = table_rows(page, "| | criterion |")[0]
    assert len(cells(row)) == 4 and "second line" in row


def test_a_traceback_holding_backticks_stays_in_its_code_block():
    traceback = "Traceback\n```\n# ``` not the end\nValueError: ````x````"
    page = markdown.render(make_grade("error", error=StageError("inspect", "ValueError", traceback)))
    fence = "`````"  # one longer than the longest run inside
    assert f"{fence}text\n{traceback}\n{fence}" in page


def test_long_tracebacks_keep_their_end():
    traceback = "Traceback (most recent call last):\n" + "  frame\n" * 5000 + "MemoryError: the last line"
    page = markdown.render(make_grade("error", error=StageError("train", "MemoryError", traceback)))
    assert "MemoryError: the last line" in page and len(page) < 20_000
