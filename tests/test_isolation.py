"""Choosing the isolation: bubblewrap when the probe shows it works, else process; strict refuses."""

import pytest

from grader import api
from grader.errors import IsolationUnavailable
from grader.sandbox import isolation


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    isolation.bwrap_works.cache_clear()
    yield
    isolation.bwrap_works.cache_clear()


def test_without_bubblewrap_auto_falls_back_and_strict_refuses(no_bwrap):
    assert isolation.resolve("process") == "process"
    assert isolation.resolve("auto") == "process"
    with pytest.raises(IsolationUnavailable, match="bubblewrap"):
        isolation.resolve("strict")


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
