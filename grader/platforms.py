"""Glue for the course platforms: grade without ever raising, and always leave a result behind.

On Gradescope a missing results.json is the worst outcome (the student sees "the autograder failed to
execute correctly" and nothing else); Classroom 50's runner turns a missing result.json into an
infrastructure error, and PrairieLearn a missing results.json into a failed job. So `safe_grade` turns every
failure, a missing submission, missing data, a bad rubric or a bug in the grader itself, into an errored
Grade, `write_reports` writes each platform's file from any Grade (the CLI's usage errors included), and
`gradescope` writes a placeholder result before it starts.
"""

from __future__ import annotations

import json
import os
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from grader import api
from grader.errors import DataNotFound, UsageError
from grader.report import classroom, classroom50, junit, markdown, prairielearn
from grader.report import gradescope as gradescope_report
from grader.results import Grade
from grader.rubric import DEFAULT_RUBRIC, Recipe, Rubric, load_rubric

GRADESCOPE_SUBMISSION = Path("/autograder/submission")
GRADESCOPE_RESULTS = Path("/autograder/results/results.json")
_IGNORED = {"__MACOSX", "__pycache__"}


def safe_grade(submission: str | Path, rubric_path: str | Path = DEFAULT_RUBRIC, mode: str = "grade", model_class: str = "",
               **options) -> Grade:
    """`api.grade` (or `api.check`), except that nothing raises: a failure becomes a zero-score errored Grade."""
    rubric, rubric_error = _rubric(rubric_path)
    if rubric_error:
        return api.failed_grade(submission, rubric, mode, rubric_error)
    try:
        if mode == "check":
            return api.check(submission, rubric, model_class)
        return api.grade(submission, rubric, model_class, **options)
    except DataNotFound as e:  # the grader's setup, not the submission: "evaluate" tells the student to report it
        return api.failed_grade(submission, rubric, mode, f"the grader found no MNIST data (not your submission's fault): {e}", "evaluate")
    except (UsageError, ValueError) as e:  # SubmissionNotFound above all: nothing the grader can load
        return api.failed_grade(submission, rubric, mode, str(e), "load")
    except Exception as e:  # noqa: BLE001  (a bug in the grader is reported, never raised)
        return api.failed_grade(submission, rubric, mode, f"the grader itself failed (a bug in the grader, not in your "
                                f"submission): {type(e).__name__}: {e}", "evaluate", traceback.format_exc())


def usage_error_grade(submission: str | Path, rubric_path: str | Path, mode: str, message: str) -> Grade:
    """The errored Grade for a CLI usage error, for the platform reports that must exist whatever happened."""
    rubric, rubric_error = _rubric(rubric_path)
    return api.failed_grade(submission, rubric, mode, rubric_error or message)


def _rubric(path: str | Path) -> tuple[Rubric, str]:
    """(the rubric, "") or, when it does not load, (a rubric with no criteria, why): an error still needs a Grade."""
    try:
        return load_rubric(path), ""
    except Exception as e:  # noqa: BLE001  (RubricError, or an unreadable file)
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


def write_reports(grade: Grade, files: ReportFiles) -> list[str]:
    """Write the platform reports that were asked for; returns what was written, for the CLI to say. Classroom 50's
    result needs its identity: without one (the environment lacked it, and the CLI said so) it is not written."""
    written = []
    identity = files.classroom50_identity
    for path, render in ((files.markdown, lambda: markdown.render(grade)), (files.junit, lambda: junit.render(grade)),
                         (files.classroom, lambda: classroom.render(grade, files.classroom_max_score) + "\n"),
                         (files.classroom50 if identity else None, lambda: classroom50.render(grade, identity)),
                         (files.prairielearn, lambda: prairielearn.render(grade))):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)  # PrairieLearn does not create /grade/results
            Path(path).write_text(render(), encoding="utf-8")
            written.append(path)
    return written


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
        if options.get("cores") is None:
            options["cores"] = cpu_quota()  # None: every core
        grade = safe_grade(find_submission(submission_dir), rubric_path, "grade", model_class, **options)
        payload = gradescope_report.render(grade, accuracy_visibility)
    except Exception as e:  # noqa: BLE001  (a bug in the report itself: still a valid results.json)
        payload = json.dumps(gradescope_report.failure(f"the grader itself failed: {type(e).__name__}: {e}", traceback.format_exc()))
    _write_atomically(results, payload)
    return grade


def cpu_quota() -> int | None:
    """CPUs this container may use (cgroup quota): Gradescope gives fractions of a many-core host, and a borderline
    grade's seeds side by side on every host core would crawl. None when no quota is set."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2: "max 100000" or "200000 100000"
        if quota == "max":
            return None
        return max(1, int(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())  # cgroup v1
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return max(1, quota // period) if quota > 0 else None
    except (OSError, ValueError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(text)
    os.replace(f.name, path)
