"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

The top-level `score` is the grade (Gradescope lets it override the tests' sum); `output` is the Markdown
report; one test per rubric criterion; the leaderboard ranks validation accuracy (highest first) and
counted parameters (fewest first); `extra_data` holds the provenance. `failure` is the result for when there
is no Grade at all.

`accuracy_visibility` lets an instructor keep the accuracy to themselves for a while: with `after_due_date`,
`after_published` or `hidden` the accuracy tests, and the whole result, take that visibility while the
structural tests stay visible; Gradescope then hides the total score too. The top-level output says what is
hidden and until when, the full report moves into the first accuracy test's output, and the leaderboard
leaves the accuracy out. An errored grade hides nothing: it has no accuracy, and the student needs the reason.
"""

from __future__ import annotations

import json

from grader import __version__
from grader.report import markdown
from grader.report.advice import criterion_text
from grader.report.json import finite, provenance
from grader.results import Grade

VISIBLE = "visible"
HIDDEN_UNTIL = {"after_due_date": "until after the due date", "after_published": "until the grades are published",
                "hidden": "from students"}  # Gradescope's other visibilities, in the words the hidden result uses
VISIBILITIES = (VISIBLE, *HIDDEN_UNTIL)


def to_dict(grade: Grade, accuracy_visibility: str = VISIBLE) -> dict:
    hide = accuracy_visibility if accuracy_visibility != VISIBLE and not grade.error else ""
    report = markdown.render(grade)
    report_test = next((c.id for c in grade.criteria if c.metric), None) if hide else None  # where the hidden report goes
    tests = [{
        "name": c.id,
        "score": c.points if grade.score else 0.0,  # a zeroed grade (an error, a flag) zeroes every test
        "max_score": c.max_points,
        "status": "passed" if c.passed and not grade.error else "failed",
        "output": criterion_text(grade, c, "\n") + (f"\n\n{report}" if c.id == report_test else ""),
        "visibility": hide if hide and c.metric else VISIBLE,
    } for c in grade.criteria]
    return {
        "score": grade.score,
        "execution_time": round(grade.seconds),  # whole seconds
        "output": _hidden_note(hide) if hide else report,
        "output_format": "md",
        "test_output_format": "text",
        "visibility": hide or VISIBLE,
        "stdout_visibility": "hidden",  # the terminal report and the worker's log are for the instructor
        "tests": tests,
        "leaderboard": _leaderboard(grade, with_accuracy=not hide),
        "extra_data": provenance(grade),
    }


def render(grade: Grade, accuracy_visibility: str = VISIBLE) -> str:
    return json.dumps(finite(to_dict(grade, accuracy_visibility)), indent=2, allow_nan=False)


def failure(message: str, details: str = "") -> dict:
    """A zero-score result with no Grade behind it: the grader could not run, or has not finished yet."""
    output = f"## 💥 ERROR: the autograder could not grade this submission\n\n{markdown.escape(message)}\n"
    if details:
        output += "\n" + markdown.fenced(details[-markdown.TRACEBACK_CHARS:], "text") + "\n"
    return {"score": 0.0, "output": output, "output_format": "md", "visibility": VISIBLE, "stdout_visibility": "hidden",
            "tests": [], "extra_data": {"grader_version": __version__, "status": "error"}}


def _hidden_note(visibility: str) -> str:
    return (f"## The accuracy is hidden {HIDDEN_UNTIL[visibility]}\n\nThe accuracy, the total score and the full report are "
            f"hidden {HIDDEN_UNTIL[visibility]}; the structural criteria below are shown now.\n")


def _leaderboard(grade: Grade, with_accuracy: bool) -> list[dict]:
    accuracy = grade.metrics.validation_accuracy
    board = [{"name": "Validation accuracy (%)", "value": round(accuracy, 2) if accuracy is not None and not grade.error else 0.0,
              "order": "desc"}] if with_accuracy else []
    if grade.inspection and not grade.error:
        board.append({"name": "Parameters", "value": grade.inspection.parameters.counted, "order": "asc"})
    return board
