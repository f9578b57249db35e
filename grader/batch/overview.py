"""The class overview (index.html of a batch): one self-contained page over every student's JSON report.

Distributions, pass rate per criterion, a leaderboard, the errors and flags to review, groups of
similar architectures (listed for review, never penalized) and a link to each student's report.
Everything that comes from a submission goes through jinja2's autoescaping; charts are matplotlib
inline SVG (Figure objects, never pyplot); nothing loads from the network.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from grader import __version__
from grader.batch.similarity import similar_groups
from grader.report import json as json_report
from grader.report import templates
from grader.report.charts import figure, svg
from grader.results import WEAK_ISOLATION
from grader.rubric import Rubric

BAR, THRESHOLD = "#2563eb", "#dc2626"
ACCURACY_WINDOW = 3.0  # the accuracy histogram spans this many points below the rubric threshold, at least


def render(reports: list[dict], rubric: Rubric, report_link: Callable[[str], str]) -> str:
    """The overview page for a class: `reports` are JSON reports with a "student" key."""
    reports = sorted(reports, key=lambda r: r["student"])
    graded = [r for r in reports if r["status"] != "error"]
    return templates().get_template("overview.html.j2").render(
        rubric=rubric, reports=reports, link=report_link, grader_version=__version__,
        graded=len(graded), errors=[r for r in reports if r["status"] == "error"],
        provisional=[r["student"] for r in reports if r.get("provisional")],
        borderline=[r["student"] for r in reports if json_report.borderline_state(r) != json_report.NOT_BORDERLINE],
        pending=[r["student"] for r in reports if json_report.pending_runs(r)],
        weak=[r["student"] for r in reports if any(f["id"] == WEAK_ISOLATION for f in r.get("flags") or ())], weak_flag=WEAK_ISOLATION,
        max_score=rubric.max_score,
        charts=_charts(reports, rubric), pass_rates=pass_rates(reports, rubric), leaderboard=leaderboard(reports),
        flags=[(r["student"], f) for r in reports for f in r.get("flags") or ()],
        groups=similar_groups(reports),
    )


def _validation(r: dict) -> float | None:
    return (r.get("metrics") or {}).get("validation_accuracy")


def _counted(r: dict) -> int | None:
    return (r.get("parameters") or {}).get("counted")


def leaderboard(reports: list[dict]) -> list[dict]:
    """Graded students: highest validation accuracy first, then fewer counted parameters, then the id."""
    rows = [r for r in reports if r["status"] != "error"]
    rows.sort(key=lambda r: (_validation(r) is None, -(_validation(r) or 0.0),
                             _counted(r) is None, _counted(r) or 0, r["student"]))
    return [{"rank": i + 1, "r": r, "validation": _validation(r), "test": (r.get("metrics") or {}).get("test_accuracy"),
             "parameters": _counted(r)} for i, r in enumerate(rows)]


def pass_rates(reports: list[dict], rubric: Rubric) -> list[dict]:
    """Per rubric criterion: how many students it ran for, how many passed, the rate in percent (None if it never ran)."""
    rows = []
    for c in rubric.criteria:
        results = [x for r in reports for x in r.get("criteria") or () if x["id"] == c.id and x.get("ran", True)]
        passed = sum(bool(x["passed"]) for x in results)
        rows.append({"id": c.id, "points": c.points, "ran": len(results), "passed": passed,
                     "rate": 100.0 * passed / len(results) if results else None})
    return rows


def _charts(reports: list[dict], rubric: Rubric) -> list[dict]:
    accuracy = next((c.at_least for c in rubric.criteria if c.metric), None)  # the line, whichever accuracy the rubric judges
    limit = next((c.less_than for c in rubric.criteria if c.less_than is not None), None)
    specs = [
        ("score", "Score", "points", [r["score"] for r in reports if r["status"] != "error" and r.get("score") is not None],
         (0.0, rubric.max_score or 1.0), None),
        ("validation", "Validation accuracy", "accuracy (%)", [v for r in reports if (v := _validation(r)) is not None], None, accuracy),
        ("parameters", "Counted parameters", "parameters", [v for r in reports if (v := _counted(r)) is not None], None, limit),
    ]
    charts = []
    for name, title, xlabel, values, span, line in specs:
        note = ""
        if name == "validation" and values and line is not None and min(values) < line - ACCURACY_WINDOW:
            floor = line - ACCURACY_WINDOW  # a few untrained models would squeeze everyone else into one bar
            note = f"{sum(v < floor for v in values)} below {floor:g}% counted in the first bar"
            values = [max(v, floor) for v in values]
            span = (floor, max(line, *values))
        svg = _histogram(name, title, xlabel, values, span, line) if values else None
        charts.append({"title": title, "svg": svg, "count": len(values), "missing": len(reports) - len(values), "note": note})
    return charts


def _histogram(name: str, title: str, xlabel: str, values: list[float], span, line) -> Markup:
    fig = figure(figsize=(3.6, 2.4))
    ax = fig.subplots()
    low, high = span or (min(values), max(values))
    if line is not None and span is None:
        low, high = min(low, line), max(high, line)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    ax.hist(values, bins=min(12, max(4, len(values))), range=(low, high), color=BAR, edgecolor="white")
    if line is not None:
        ax.axvline(line, color=THRESHOLD, ls="--", lw=1.2)
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("students", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig, name)
