"""GitHub Classroom (legacy): the `result` output that `autograding-grading-reporter` reads.

GitHub Classroom was retired on 28 August 2026; this format stays for courses that run a self-hosted copy
of the reporter. Classroom 50, its successor, reads grader/report/classroom50.py's result.json.

The reporter takes base64 of this JSON from the environment variable `<STEP-ID-UPPERCASED>_RESULTS`,
adds `max_score` to the assignment's total and sums `tests[].score`, then fails the job when `status` is
"fail" or "error". One test per rubric criterion, with its partial points; when the grade is 0 (an
error, or a flag the rubric zeroes the score for), every test scores 0 so the sum is the grade.
"""

from __future__ import annotations

import base64
import json

from grader.report.advice import criterion_text, grade_notes
from grader.report.json import finite
from grader.results import Grade

VERSION = 1
SEPARATOR = " | "  # the reporter shows a message on one line


def to_dict(grade: Grade, max_score: float | None = None) -> dict:
    """The reporter's JSON; max_score rescales the rubric's points (e.g. 10 for a 10-point assignment)."""
    scale = max_score / grade.max_score if max_score is not None and grade.max_score else 1.0
    status = grade.verdict  # the reporter's own three words
    duration = int(grade.seconds * 1000)  # milliseconds: every criterion is judged from the same run
    command = f"grader {grade.mode} {grade.submission_path}"
    tests = [{
        "name": c.id,
        "status": "error" if grade.error else "pass" if c.passed else "fail",
        "score": round((c.points if grade.score else 0.0) * scale, 2),
        "message": criterion_text(grade, c, SEPARATOR),
        "test_code": command,
        "filename": grade.submission_path,
        "line_no": 0,
        "duration": duration,
    } for c in grade.criteria]
    if not tests:  # a rubric that did not load has no criteria: the error still needs a test to show it
        tests = [{"name": "grade", "status": "error", "score": 0.0, "message": SEPARATOR.join(grade_notes(grade)), "test_code": command,
                  "filename": grade.submission_path, "line_no": 0, "duration": duration}]
    return {"version": VERSION, "status": status, "max_score": _number(max_score if max_score is not None else grade.max_score),
            "tests": tests}


def render(grade: Grade, max_score: float | None = None) -> str:
    """Base64 of the JSON, on one line: the value of the action's `result` output."""
    return base64.b64encode(json.dumps(finite(to_dict(grade, max_score)), allow_nan=False).encode("utf-8")).decode("ascii")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 2)
