"""gradebook.csv: one row per student, for a learning-management system's grade upload.

Columns: student, score, max_score, status (graded | error), one `points_<criterion id>`
column per rubric criterion, validation_accuracy and test_accuracy (percent, last epoch),
counted_parameters, provisional (yes/no), borderline (no, yes, or pending: the mean of more seeds decides,
and they have not all run), seeds (the training seeds behind the accuracy, joined by ';'), flags (flag ids
joined by ';'), error (the one-line message), submission_sha256, report (the student's HTML report,
relative to the CSV).

A text cell that a spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage
return: a student id, an error message the submission wrote) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
from pathlib import Path

from grader.report import json as json_report
from grader.report import report_file
from grader.rubric import Rubric


def columns(rubric: Rubric) -> list[str]:
    return (["student", "score", "max_score", "status"] + [f"points_{c.id}" for c in rubric.criteria]
            + ["validation_accuracy", "test_accuracy", "counted_parameters", "provisional", "borderline", "seeds", "flags", "error",
               "submission_sha256", "report"])


def row(report: dict, rubric: Rubric) -> dict:
    points = {c["id"]: c["points"] for c in report["criteria"]}
    metrics, parameters = report["metrics"], report["parameters"] or {}
    return {
        "student": report["student"],
        "score": report["score"],
        "max_score": report["max_score"],
        "status": report["status"],
        **{f"points_{c.id}": points.get(c.id, 0.0) for c in rubric.criteria},
        "validation_accuracy": _number(metrics["validation_accuracy"]),
        "test_accuracy": _number(metrics["test_accuracy"]),
        "counted_parameters": parameters.get("counted", ""),
        "provisional": "yes" if report["provisional"] else "no",
        "borderline": json_report.borderline_state(report),
        "seeds": ";".join(str(s) for s in (report.get("seeds") or {}).get("seeds", [])),
        "flags": ";".join(f["id"] for f in report["flags"]),
        "error": (report["error"] or {}).get("message", ""),
        "submission_sha256": report["submission"]["sha256"],
        "report": report_file(report["student"]),
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes Excel, LibreOffice and Google Sheets evaluate a cell


def write(path: Path, reports: list[dict], rubric: Rubric) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(rubric))
        writer.writeheader()
        for report in sorted(reports, key=lambda r: r["student"]):
            writer.writerow({key: inert(value) for key, value in row(report, rubric).items()})


def inert(value):
    """A cell no spreadsheet evaluates: text that would start a formula gets a leading apostrophe."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def points(value: float) -> str:
    """Points as a gradebook import reads them: at most two decimals, no trailing zeros (66.25, 100)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _number(value) -> str:
    return "" if value is None else f"{value:.2f}"
