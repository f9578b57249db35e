"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

The top-level `score` is the grade (Gradescope lets it override the tests' sum); `output` is the Markdown
report; one test per rubric criterion; the leaderboard ranks validation accuracy (highest first) and
counted parameters (fewest first). `failure` is the result for when there is no Grade at all.
"""

from __future__ import annotations

import json

from grader import __version__
from grader.report import markdown
from grader.report.advice import criterion_text
from grader.report.json import finite
from grader.results import Grade


def to_dict(grade: Grade, visibility: str = "visible") -> dict:
    tests = [{
        "name": c.id,
        "score": c.points if grade.score else 0.0,  # a zeroed grade (an error, a flag) zeroes every test
        "max_score": c.max_points,
        "status": "passed" if c.passed and not grade.error else "failed",
        "output": criterion_text(grade, c, "\n"),
        "visibility": visibility,
    } for c in grade.criteria]
    result = {
        "score": grade.score,
        "execution_time": round(grade.seconds),
        "output": markdown.render(grade),
        "output_format": "md",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",  # the terminal report and the worker's log are for the instructor
        "tests": tests,
        "leaderboard": _leaderboard(grade),
        "extra_data": {"grader_version": __version__, "status": grade.status, "provisional": list(grade.provisional),
                       "borderline": grade.borderline, "seeds": [r.seed for r in grade.training.runs] if grade.training else [],
                       "submission_sha256": grade.submission_sha256, "rubric_sha256": grade.rubric_sha256},
    }
    return result


def render(grade: Grade, visibility: str = "visible") -> str:
    return json.dumps(finite(to_dict(grade, visibility)), indent=2, allow_nan=False)


def failure(message: str, details: str = "") -> dict:
    """A zero-score result with no Grade behind it: the grader could not run, or has not finished yet."""
    output = f"## 💥 ERROR: the autograder could not grade this submission\n\n{markdown.escape(message)}\n"
    if details:
        output += "\n" + markdown.fenced(details[-markdown.TRACEBACK_CHARS:], "text") + "\n"
    return {"score": 0.0, "output": output, "output_format": "md", "visibility": "visible", "stdout_visibility": "hidden",
            "tests": [], "extra_data": {"grader_version": __version__, "status": "error"}}


def _leaderboard(grade: Grade) -> list[dict]:
    accuracy = grade.metrics.validation_accuracy
    board = [{"name": "Validation accuracy (%)", "value": round(accuracy, 2) if accuracy is not None and not grade.error else 0.0,
              "order": "desc"}]
    if grade.inspection and not grade.error:
        board.append({"name": "Parameters", "value": grade.inspection.parameters.counted, "order": "asc"})
    return board
