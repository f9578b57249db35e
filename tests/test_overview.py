"""The class overview page (index.html of `grader batch`), from hand-made JSON reports."""

from __future__ import annotations

import re

import pytest
from test_similarity import BASE, MLP, errored, make_report

from grader.batch import overview
from grader.report import report_file
from grader.rubric import DEFAULT_RUBRIC, load_rubric

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(DEFAULT_RUBRIC)


@pytest.fixture(scope="module")
def reports():
    return [
        make_report("alice", validation=99.50, test=99.41, counted=15_000),
        make_report("bob", validation=99.50, test=99.38, counted=12_000, prefix="renamed_"),  # alice's model, fewer parameters
        make_report("carol", MLP, validation=99.20, test=99.10, counted=19_090, score=80.0,
                    passed=("parameters", "batchnorm", "dropout", "fc_or_gap"), flags=("unused_layer",)),
        make_report(EVIL, validation=98.00, test=97.90, counted=25_000, score=40.0, passed=("batchnorm", "dropout", "fc_or_gap"),
                    provisional=True),
        errored("dave"),
    ]


@pytest.fixture(scope="module")
def page(reports, rubric):
    return overview.render(reports, rubric, report_link=report_file)


def section(page: str, name: str) -> str:
    return re.search(rf'<section id="{name}">(.*?)</section>', page, re.S).group(1)


def test_header_counts_and_provisional(page, rubric):
    head = page[:page.index("<main>")]
    assert rubric.title in head
    assert re.search(r"<b>5</b> students", head) and re.search(r"<b>4</b> graded", head) and re.search(r"<b>1</b> errors", head)
    assert "PROVISIONAL" in head


def test_every_student_is_linked_to_their_report(page, reports):
    listing = section(page, "reports")
    for r in reports:
        assert f'href="{report_file(r["student"])}"' in listing
    assert listing.count("<li>") == len(reports)


def test_leaderboard_order_accuracy_then_fewer_parameters(page):
    board = section(page, "leaderboard")
    students = re.findall(r'<a href="reports/([^"]+)\.html">', board)
    assert students == ["bob", "alice", "carol", "_script_alert_1___script_"]  # dave errored: not ranked
    rows = re.findall(r'<tr class="leader">(.*?)</tr>', board, re.S)
    assert [re.search(r'<td class="num">(\d+)</td>', row).group(1) for row in rows] == ["1", "2", "3", "4"]
    assert "99.50" in rows[0] and "99.38" in rows[0] and "12,000" in rows[0] and "100 / 100" in rows[0]


def test_leaderboard_sorts_missing_values_last():
    rows = overview.leaderboard([make_report("x", validation=None, test=None), make_report("y", validation=90.0, counted=None),
                                 make_report("z", validation=90.0, counted=100), errored("e")])
    assert [row["r"]["student"] for row in rows] == ["z", "y", "x"]


def test_pass_rates(page, reports, rubric):
    rates = {row["id"]: (row["passed"], row["ran"]) for row in overview.pass_rates(reports, rubric)}
    assert rates == {"accuracy": (2, 5), "parameters": (3, 5), "batchnorm": (4, 5), "dropout": (4, 5), "fc_or_gap": (4, 5)}
    table = section(page, "pass-rates")
    rows = {re.search(r"<td>(\w+)</td>", row).group(1): row for row in re.findall(r'<tr class="criterion">(.*?)</tr>', table, re.S)}
    assert "2 / 5" in rows["accuracy"] and "40%" in rows["accuracy"] and "width: 40.0%" in rows["accuracy"]
    assert "3 / 5" in rows["parameters"] and "60%" in rows["parameters"]


def test_errors_flags_and_similarity_sections(page):
    errors = section(page, "errors")
    assert "dave" in errors and "load" in errors and "SyntaxError: invalid syntax (line 3)" in errors
    flags = section(page, "flags")
    assert "carol" in flags and "unused_layer" in flags
    similarity = section(page, "similarity")
    assert "identical" in similarity and "alice" in similarity and "bob" in similarity and "carol" not in similarity


def test_student_names_are_escaped(page):
    assert EVIL not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_self_contained(page):
    assert page.count("<svg") == 3
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", page, re.I)


def test_all_errors_and_missing_values(rubric):
    page = overview.render([errored("a"), errored("b")], rubric, report_link=report_file)
    assert "<svg" not in page and page.count("no values") == 3
    assert "No graded students" in section(page, "leaderboard")
    assert 'href="reports/a.html"' in page and 'href="reports/b.html"' in page
    checked = make_report("c", BASE, validation=None, test=None)  # `grader check`: never trained
    page = overview.render([checked, errored("d")], rubric, report_link=report_file)
    assert page.count("<svg") == 2 and "no values" in page
    assert "1 without a value" in section(page, "distributions")


def test_empty_class(rubric):
    page = overview.render([], rubric, report_link=report_file)
    assert "<b>0</b> students" in page


def test_untrained_outliers_do_not_flatten_the_accuracy_histogram(rubric):
    reports = [make_report("a", validation=99.5), make_report("b", validation=99.1), make_report("c", validation=11.3)]
    page = overview.render(reports, rubric, report_link=report_file)
    assert "1 below 96.4% counted in the first bar" in section(page, "distributions")
