"""Glue for the course platforms: grade without ever raising, and always leave a result behind.

On Gradescope a missing results.json is the worst outcome (the student sees "the autograder failed to
execute correctly" and nothing else); Classroom 50's runner turns a missing result.json into an
infrastructure error, and PrairieLearn a missing results.json into a failed job. `api` already grades a
submission's faults and the grader's own bugs; `safe_grade` turns the usage errors too (a missing submission,
missing data, a bad rubric) into an errored Grade, `reports` renders each platform's file from any Grade (the
CLI's usage errors included), and `gradescope` writes a placeholder result before it starts.
"""

from __future__ import annotations

import json
import os
import tempfile
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from grader import api
from grader import protocol as P
from grader.errors import DataNotFound, UsageError
from grader.report import classroom, classroom50, junit, markdown, prairielearn
from grader.report import gradescope as gradescope_report
from grader.results import Grade
from grader.rubric import DEFAULT_RUBRIC, Recipe, Rubric, load_rubric

GRADESCOPE_SUBMISSION = Path("/autograder/submission")
GRADESCOPE_RESULTS = Path("/autograder/results/results.json")
_IGNORED = {"__MACOSX", "__pycache__"}


def safe_grade(submission: str | Path, rubric_path: str | Path = DEFAULT_RUBRIC, mode: str = P.GRADE, model_class: str = "",
               **options) -> Grade:
    """`api.grade` (or `api.check`), except that a usage error too becomes a zero-score errored Grade, so nothing raises."""
    try:
        rubric = load_rubric(rubric_path)
        if mode == P.CHECK:
            return api.check(submission, rubric, model_class)
        return api.grade(submission, rubric, model_class, **options)
    except UsageError as e:
        return usage_error_grade(submission, rubric_path, mode, e)


def usage_error_grade(submission: str | Path, rubric_path: str | Path, mode: str, error: UsageError) -> Grade:
    """The errored Grade for a usage error, for the platform reports that must exist whatever happened: the grader's
    own setup (its rubric, its data) fails at stage `grader`, anything else (a submission with nothing to load) `load`."""
    rubric, rubric_error = _rubric(rubric_path)
    if rubric_error:
        return api.failed_grade(submission, rubric, mode, rubric_error, P.GRADER)
    if isinstance(error, DataNotFound):
        return api.failed_grade(submission, rubric, mode, f"the grader found no MNIST data (not your submission's fault): {error}",
                                P.GRADER)
    return api.failed_grade(submission, rubric, mode, str(error))


def _rubric(path: str | Path) -> tuple[Rubric, str]:
    """(the rubric, "") or, when it does not load, (a rubric with no criteria, why): an error still needs a Grade."""
    try:
        return load_rubric(path), ""
    except UsageError as e:  # RubricError: missing, unreadable, not TOML, a wrong key
        return Rubric("(the rubric did not load)", Recipe(), criteria=(), path=str(path)), f"the grader's rubric did not load: {e}"


@dataclass(frozen=True)
class ReportFiles:
    """The platform reports a `check` or `grade` writes: each a path, or None when not asked for."""

    markdown: str | None = None
    junit: str | None = None
    classroom: str | None = None  # the legacy GitHub Classroom result
    classroom_max_score: float | None = None  # scales it; None: the rubric's points
    classroom50: str | None = None
    prairielearn: str | None = None
    classroom50_identity: classroom50.Identity | None = None  # read from the runner's environment before grading

    def with_identity(self, environ: Mapping[str, str]) -> ReportFiles:
        """These files with Classroom 50's identity from `environ` when its result is asked for; UsageError when it is not there."""
        return replace(self, classroom50_identity=classroom50.identity(environ)) if self.classroom50 else self


def reports(grade: Grade, files: ReportFiles) -> list[tuple[str, Callable[[], str]]]:
    """The platform reports that were asked for, as (path, render), for the CLI to write each on its own. Classroom
    50's result needs its identity: without one (the environment lacked it, and the CLI said so) it is left out."""
    identity = files.classroom50_identity
    return [(path, render) for path, render in (
        (files.markdown, lambda: markdown.render(grade)), (files.junit, lambda: junit.render(grade)),
        (files.classroom, lambda: classroom.render(grade, files.classroom_max_score) + "\n"),
        (files.classroom50 if identity else None, lambda: classroom50.render(grade, identity)),
        (files.prairielearn, lambda: prairielearn.render(grade))) if path]


def find_submission(folder: str | Path) -> Path:
    """The submission in Gradescope's upload folder: the folder itself, or the one folder an upload unpacked into."""
    folder = Path(folder)
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in _IGNORED] if folder.is_dir() else []
    has_model = any(p.is_file() and p.suffix in (".py", ".ipynb") for p in entries)
    subfolders = [p for p in entries if p.is_dir()]
    return subfolders[0] if not has_model and len(subfolders) == 1 else folder


def gradescope(submission_dir: str | Path = GRADESCOPE_SUBMISSION, results: str | Path = GRADESCOPE_RESULTS,
               rubric_path: str | Path = DEFAULT_RUBRIC, model_class: str = "", accuracy_visibility: str = gradescope_report.VISIBLE,
               **options) -> Grade | None:
    """Grade Gradescope's submission folder and write results.json, whatever happens; returns the Grade if there is one.
    `accuracy_visibility`: when students see the accuracy tests, the total score and the report (grader/report/gradescope.py).

    A placeholder error result is written first, so a grader killed part way (out of memory, say)
    still leaves a valid results.json behind.
    """
    results = Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(results, json.dumps(gradescope_report.failure(
        "Grading did not finish: the autograder was stopped part way (out of memory or out of time). "
        "Ask your instructor to raise the autograder's memory or timeout.")))
    grade = None
    try:
        grade = safe_grade(find_submission(submission_dir), rubric_path, P.GRADE, model_class, **options)
        payload = gradescope_report.render(grade, accuracy_visibility)
    except Exception as e:  # noqa: BLE001  (a bug in the report, or in the grader outside api: still a valid results.json)
        payload = json.dumps(gradescope_report.failure(f"the grader itself failed: {type(e).__name__}: {e}", traceback.format_exc()))
    _write_atomically(results, payload)
    return grade


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(text)
    os.replace(f.name, path)
