"""PrairieLearn: the external grader's /grade/results/results.json (docs/externalGrading.md in PrairieLearn/PrairieLearn).

PrairieLearn reads `score` (the fraction of the points, 0 to 1; outside that range the job counts as failed),
`gradable` (false: "invalid, not gradable": no points awarded or lost, no attempt used, `format_errors` shown to
the student), `message` and `output` (shown above the tests) and `tests[]` (`name`, `points`, `max_points`,
`message`), which `<pl-external-grader-results>` renders. It keeps every other key with the job: `grader` holds
the provenance.

Not gradable: a submission that could not be loaded (a syntax error, no model class), predictions the grader could
not evaluate, and a failure of the grader's own (stage `grader`: a bug, no MNIST data, a rubric that did not load),
so the student keeps the attempt. A model that loads and then fails (its forward pass, its training) is graded: 0
points, and the reason.
"""

from __future__ import annotations

import json

from grader import protocol as P
from grader.report.advice import STAGE_ADVICE, STAGE_WORDS, criterion_text, machine_text, points_text, qualifiers, seeds_text
from grader.report.json import finite, provenance
from grader.report.markdown import OUTPUT_CHARS, TRACEBACK_CHARS
from grader.results import Grade

NOT_GRADABLE = (P.LOAD, P.EVALUATE, P.GRADER)  # the stages whose error is no fault of a model that ran


def to_dict(grade: Grade) -> dict:
    gradable = not (grade.error and grade.error.stage in NOT_GRADABLE)
    result = {
        "gradable": gradable,
        "score": grade.score / grade.max_score if grade.max_score else 0.0,
        "message": _message(grade),
        "output": _output(grade),
        "tests": [{"name": c.id, "points": c.points if grade.score else 0.0, "max_points": c.max_points,  # a zeroed grade zeroes every test
                   "message": criterion_text(grade, c, "\n")} for c in grade.criteria],
        "grader": provenance(grade),
    }
    if not gradable:
        result["format_errors"] = [grade.error.message]
    return result


def render(grade: Grade) -> str:
    return json.dumps(finite(to_dict(grade)), indent=2, allow_nan=False) + "\n"


def _message(grade: Grade) -> str:
    lines = [f"{grade.verdict.upper()}{qualifiers(grade)}: {points_text(grade)} ({grade.rubric_title})"]
    if grade.error:
        lines.append(f"Error while {STAGE_WORDS.get(grade.error.stage, grade.error.stage)}: {grade.error.message}")
        lines += [STAGE_ADVICE[grade.error.stage]] if grade.error.stage in STAGE_ADVICE else []
    if grade.provisional:
        lines.append("PROVISIONAL: this run deviates from the rubric's recipe (" + "; ".join(grade.provisional) + "). Its numbers are not the grade.")
    if seeds := seeds_text(grade):
        lines.append(seeds)
    if machine := machine_text(grade):
        lines.append(machine)
    lines += [f"⚑ {f.id}: {f.message}" for f in grade.flags]
    return "\n".join(lines)


def _output(grade: Grade) -> str:
    parts = [grade.error.traceback.strip()[-TRACEBACK_CHARS:]] if grade.error and grade.error.traceback.strip() else []
    if grade.output.strip():
        parts.append("What the submission printed (the end):\n" + grade.output.strip()[-OUTPUT_CHARS:])
    return "\n\n".join(parts)
