"""JUnit XML: one test case per criterion, failures, errors and skips counted, always well-formed."""

import xml.etree.ElementTree as ET

import pytest
from test_report_html import KINDS, make_grade

from grader.cli import main
from grader.report import junit
from grader.results import StageError


def parse(text: str) -> ET.Element:
    assert text.startswith("<?xml")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites" and len(root) == 1 and root[0].tag == "testsuite"
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_one_test_case_per_criterion_with_matching_counts(kind):
    grade = make_grade(kind)
    root = parse(junit.render(grade))
    suite = root[0]
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.id for c in grade.criteria]
    counts = {tag: sum(1 for c in cases if c.find(tag) is not None) for tag in ("failure", "error", "skipped")}
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == counts["failure"] and int(suite.get("errors")) == counts["error"]
    assert int(suite.get("skipped")) == counts["skipped"]
    assert root.get("failures") == suite.get("failures") and root.get("errors") == suite.get("errors")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["score"] == f"{grade.score:g}" and properties["status"] == grade.status
    assert properties["submission_sha256"] == grade.submission_sha256


def test_failed_criteria_are_failures_with_the_detail():
    grade = make_grade("graded")
    suite = parse(junit.render(grade))[0]
    failed = {c.get("name"): c.find("failure") for c in suite.findall("testcase") if c.find("failure") is not None}
    assert set(failed) == {c.id for c in grade.criteria if not c.passed}
    assert "needs 99.40%" in failed["accuracy"].get("message") and "26.25 / 50 points" in failed["accuracy"].text


def test_an_errored_grade_is_an_error_in_every_test_case_with_the_traceback():
    suite = parse(junit.render(make_grade("error")))[0]
    errors = [c.find("error") for c in suite.findall("testcase")]
    assert all(e is not None and e.get("type") == "load" for e in errors)
    assert "SyntaxError: invalid syntax" in errors[0].get("message") and "Traceback" in errors[0].text
    assert suite.get("failures") == "0"


def test_check_mode_skips_the_accuracy_criterion():
    suite = parse(junit.render(make_grade("check")))[0]
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == ["accuracy"]


def test_provisional_runs_say_so():
    suite = parse(junit.render(make_grade("provisional")))[0]
    assert "PROVISIONAL" in suite.find("system-err").text


def test_any_bytes_from_the_submission_still_give_well_formed_xml():
    evil = "\x00\x01\x1b[31m<failure>]]></testsuite> & \ud800 \ufffe end"
    grade = make_grade("error", error=StageError("train", evil, evil), output=evil * 3)
    suite = parse(junit.render(grade))[0]
    assert "<failure>]]></testsuite> & " in suite.find("testcase/error").text
    assert suite.find("system-out").text.endswith("end")


def test_cli_usage_error_still_writes_junit(tmp_path, capsys):
    path = tmp_path / "junit.xml"
    assert main(["check", str(tmp_path / "missing.py"), "--junit", str(path)]) == 2
    suite = parse(path.read_text())[0]
    assert int(suite.get("errors")) == len(suite.findall("testcase")) > 0
    assert "does not exist" in suite.find("testcase/error").get("message")
