"""Classroom 50: the result.json its runner reads after an assignment's autograder.py (schema classroom50/result/v1).

The runner (foundation50/classroom50, runner.py) runs the autograder in the student's checkout with the
submission's identity in the environment, reads ./result.json, checks that classroom and assignment match
the repository and that every score is a whole number no larger than its maximum, then publishes the
release and its commit status (success only when every test passed). It stamps `owner`, `assignment_type`,
`datetime` (the graded commit's date) and `submitted_by` itself; this module writes them too, so the file
is valid on its own.

Whole points: Classroom 50 counts integers. When every criterion's maximum is a whole number (the bundled
rubric's are), the maxima stay as they are; otherwise every maximum, and so the total, is multiplied by the
first of 10 and 100 that makes them whole (a rubric of 2.5-point criteria is scored out of ten times its
total). A passed criterion scores its whole maximum; a failed one its partial credit rounded down, and at
most its maximum less one, so a failed criterion never shows full marks and never more than the rubric gave
(26.25 of 50 is 26). `score` and `max-score` are the sums of the tests'.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from grader.errors import UsageError
from grader.report.advice import criterion_text, grade_notes
from grader.report.json import finite
from grader.results import Grade

SCHEMA = "classroom50/result/v1"
SCALES = (1, 10, 100)  # the first that makes every criterion's maximum whole; the last one rounds
WHOLE = 1e-9  # points closer than this to a whole number are that number (partial credit is rounded to 0.01)
SEPARATOR = " | "
INDIVIDUAL = "individual"
# The result's identity, as the runner hands it to autograder.py: field -> environment variables, the first set wins.
IDENTITY = {
    "classroom": ("CLASSROOM",),
    "assignment": ("ASSIGNMENT",),
    "owner": ("OWNER", "USERNAME"),
    "submission": ("SUBMISSION_TAG",),
    "commit": ("COMMIT_URL",),
    "release": ("RELEASE_URL",),
}


@dataclass(frozen=True)
class Identity:
    """Which submission a result belongs to; the runner rejects a result whose classroom or assignment is not its own."""

    classroom: str
    assignment: str
    owner: str  # the repository owner's login
    submission: str  # the submit/<UTC-timestamp>-<short-sha> tag
    commit: str  # URLs of the graded commit, its release, and the diff from the starter code
    release: str
    review: str
    assignment_type: str = INDIVIDUAL  # individual | group
    submitted_by: dict | None = None  # {"username", "id"}: who pushed, when the workflow says


def identity(environ: Mapping[str, str]) -> Identity:
    """The identity from the runner's environment; UsageError naming every missing variable (outside Classroom 50)."""
    found = {field: next((environ[n] for n in names if environ.get(n)), "") for field, names in IDENTITY.items()}
    missing = [" or ".join(names) for field, names in IDENTITY.items() if not found[field]]
    if missing:
        raise UsageError(f"--classroom50 needs Classroom 50's runner environment, and {', '.join(missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} not set: run it from the assignment's autograder.py")
    actor, actor_id = environ.get("GITHUB_ACTOR", ""), environ.get("GITHUB_ACTOR_ID", "")
    return Identity(**found, review=environ.get("REVIEW_URL") or found["commit"],
                    assignment_type=environ.get("ASSIGNMENT_TYPE") or INDIVIDUAL,
                    submitted_by={"username": actor, "id": int(actor_id) if actor_id.isdecimal() else None} if actor else None)


def to_dict(grade: Grade, who: Identity, now: datetime | None = None) -> dict:
    """The result for one grade: one test per rubric criterion, in whole points."""
    scale = _scale([c.max_points for c in grade.criteria])
    tests = [{"test-name": c.id, "passed": c.passed and not grade.error, **_whole(grade, c, scale),
              "message": criterion_text(grade, c, SEPARATOR)} for c in grade.criteria]
    if not tests:  # a rubric that did not load has no criteria; with no test the runner would call it a pass
        tests = [{"test-name": "grade", "passed": False, "score": 0, "max-score": 0, "message": SEPARATOR.join(grade_notes(grade))}]
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {
        "schema": SCHEMA, "classroom": who.classroom, "assignment": who.assignment, "assignment_type": who.assignment_type,
        "owner": who.owner, "submission": who.submission, "commit": who.commit, "release": who.release, "review": who.review,
        "datetime": stamp,  # the runner replaces it with the graded commit's date
        "graded_at": stamp,
        "score": sum(t["score"] for t in tests), "max-score": sum(t["max-score"] for t in tests), "tests": tests,
    }
    if who.submitted_by:
        result["submitted_by"] = who.submitted_by
    return result


def render(grade: Grade, who: Identity) -> str:
    return json.dumps(finite(to_dict(grade, who)), indent=2, allow_nan=False) + "\n"


def _scale(maxima: list[float]) -> int:
    return next((s for s in SCALES if all(abs(m * s - round(m * s)) < WHOLE for m in maxima)), SCALES[-1])


def _whole(grade: Grade, c, scale: int) -> dict:
    maximum = round(c.max_points * scale)
    if not grade.score:  # an error, or a flag the rubric zeroes the score for: every test scores 0
        return {"score": 0, "max-score": maximum}
    if c.passed:
        return {"score": maximum, "max-score": maximum}
    return {"score": max(0, min(math.floor(c.points * scale + WHOLE), maximum - 1)), "max-score": maximum}
