"""Every report says when more seeds decided a grade (borderline), and when they have not all run yet (pending)."""

import base64
import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from rich.console import Console
from test_report_html import RUBRIC, make_grade

from grader.batch import csv as csv_report
from grader.batch import overview
from grader.report import classroom, gradescope, html, junit, markdown, terminal
from grader.report import json as json_report


def terminal_text(grade) -> str:
    console = Console(record=True, width=200)
    terminal.render(grade, console)
    return console.export_text()


@pytest.mark.parametrize("kind", ["borderline", "pending"])
def test_every_format_shows_a_borderline_grade(kind, tmp_path):
    grade = make_grade(kind)
    seeds = "3 seeds (1, 2, 3) decided" if kind == "borderline" else "2 more seeds will run after the class's first pass"
    report = {**json_report.to_dict(grade), "student": "alice"}
    assert report["borderline"] is True and report["seeds"]["runs"] == len(grade.training.runs)
    assert report["seeds"]["pending"] == (2 if kind == "pending" else 0)
    if kind == "borderline":
        assert report["seeds"]["validation_accuracy"] == {"mean": pytest.approx(99.41), "std": pytest.approx(0.0458, abs=1e-4),
                                                          "min": 99.36, "max": 99.45}
    assert "BORDERLINE" in terminal_text(grade) and seeds in terminal_text(grade)
    page = markdown.render(grade)
    assert "(borderline)" in page.splitlines()[0] and "**BORDERLINE**" in page and seeds in page
    page = unescape(html.render(grade))
    assert "BORDERLINE" in page and seeds in page
    scope = json.loads(gradescope.render(grade))
    assert scope["extra_data"]["borderline"] is True and seeds in next(t["output"] for t in scope["tests"] if t["name"] == "accuracy")
    legacy = json.loads(base64.b64decode(classroom.render(grade)))
    assert seeds in next(t["message"] for t in legacy["tests"] if t["name"] == "accuracy")
    properties = {p.get("name"): p.get("value") for p in ET.fromstring(junit.render(grade)).iter("property")}
    assert properties["borderline"] == "true" and seeds in properties["seeds"]
    csv_report.write(tmp_path / "gradebook.csv", [report], RUBRIC)
    (row,) = csv.DictReader(io.StringIO((tmp_path / "gradebook.csv").read_text()))
    assert row["borderline"] == ("yes" if kind == "borderline" else "pending") and row["seeds"] == ";".join(
        str(r.seed) for r in grade.training.runs)
    page = unescape(overview.render([report, {**json_report.to_dict(make_grade()), "student": "bob"}], RUBRIC, lambda s: f"{s}.html"))
    assert "1</b> borderline" in page and "BORDERLINE" in page
    assert ("Still waiting for their extra seeds: alice" in page) == (kind == "pending")


def test_a_grade_one_run_decided_says_nothing_of_seeds():
    grade = make_grade()
    report = json_report.to_dict(grade)
    assert report["borderline"] is False
    assert "BORDERLINE" not in terminal_text(grade) and "BORDERLINE" not in markdown.render(grade)
    assert "BORDERLINE" not in html.render(grade)


@pytest.mark.parametrize("kind", ["", "borderline"])
def test_every_format_names_the_machine_kind_and_says_the_instructors_run_is_the_grade(kind):
    grade = make_grade(kind)
    where = f"Trained on {grade.environment.machine_kind}"
    decided = "3 seeds decide by their mean"
    for page in (terminal_text(grade), markdown.render(grade), unescape(html.render(grade))):
        flat = " ".join(page.split())
        assert where in flat and "The instructor's run is the grade" in flat
        assert (decided in flat) == (kind == "borderline")
    scope = json.loads(gradescope.render(grade))
    assert where in next(t["output"] for t in scope["tests"] if t["name"] == "accuracy")
    assert where not in next(t["output"] for t in scope["tests"] if t["name"] == "parameters")  # a structural criterion trains nothing
    assert json_report.to_dict(grade)["environment"]["machine_kind"] == grade.environment.machine_kind
    properties = {p.get("name"): p.get("value") for p in ET.fromstring(junit.render(grade)).iter("property")}
    assert properties["machine_kind"] == grade.environment.machine_kind


def test_a_check_says_it_is_a_self_check_and_names_no_machine():
    grade = dataclasses.replace(make_grade(), mode="check", training=None)
    for page in (terminal_text(grade), markdown.render(grade), unescape(html.render(grade))):
        flat = " ".join(page.split())
        assert "A self-check of the structure" in flat and "come from the instructor's training run" in flat
        assert "Trained on" not in flat
