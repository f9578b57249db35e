"""Batch grading: every submission in a folder graded like `grader grade`, in parallel and resumably.

One submission per student: a file (`alice.py`, `bob.ipynb`) or a folder (`carol/`); the student
id is its name without the extension. Finished grades go to the SQLite gradebook at once; a
re-run skips what is already graded for the same submission, rubric, grader version and run
options; `force` regrades. The exports (gradebook.csv, per-student reports, the class
overview, and the Canvas and Moodle gradebooks when asked for) are written from the gradebook at the end.

A grade too close to a threshold for one run to decide (the rubric's seed policy) gets its extra
seeds in a second pass, after the whole class's first results: they are in the gradebook as soon as
today, marked borderline and pending, and an interrupted batch grades a pending one again on resume.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from grader import __version__
from grader import data as mnist
from grader.batch import canvas, moodle
from grader.batch import csv as csv_report
from grader.batch import roster as roster_file
from grader.batch.executors import Job, run_local, run_ray
from grader.batch.gradebook import Gradebook
from grader.errors import SubmissionNotFound, UsageError
from grader.load import resolve_submission
from grader.report import json as json_report
from grader.report import report_file
from grader.rubric import Rubric


@dataclass(frozen=True)
class BatchOptions:
    workers: int = 1  # grades at once
    executor: str = "local"  # local | ray
    ray_address: str | None = None  # None: start a local Ray instance
    gpu_fraction: float = 0.25  # of a GPU per Ray task: small trainings are launch-bound, so several share one
    force: bool = False  # regrade what the gradebook already holds
    data_dir: str | None = None
    epochs: int | None = None  # fewer epochs than the rubric: provisional
    train_limit: int | None = None  # fewer training images: provisional
    device: str = "auto"
    isolation: str = "auto"  # auto | process | strict


@dataclass(frozen=True)
class LmsExports:
    """The gradebooks for learning-management systems a batch writes besides gradebook.csv (None: not asked for)."""

    canvas: Path | None = None
    moodle: Path | None = None
    assignment: str = ""  # the gradebook column's name in both; "": the rubric's title
    roster: roster_file.Roster | None = None  # who each submission is; None: the submission names are the LMS identifiers


@dataclass(frozen=True)
class BatchEvent:
    kind: str  # start | done | skip | pending (first pass done, borderline: more seeds after the class)
    student: str
    report: dict | None


@dataclass(frozen=True)
class BatchSummary:
    students: int
    graded: int  # in this run
    skipped: int  # already in the gradebook
    errors: int  # among all students' current reports
    out: Path
    tampered: tuple[str, ...] = ()  # students whose gradebook row this grader did not write (regraded, or left out)
    without_roster: tuple[str, ...] = ()  # graded, not in the roster: left out of the LMS gradebooks
    without_submission: tuple[str, ...] = ()  # in the roster, with no submission


def discover(folder: Path) -> list[tuple[str, Path]]:
    """(student id, submission path) for each entry of the folder, sorted; ids are made unique."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of submissions")
    entries = sorted(p for p in folder.iterdir()
                     if not p.name.startswith((".", "_")) and (p.is_dir() or p.suffix in (".py", ".ipynb")))
    stems = [p.stem if p.is_file() else p.name for p in entries]
    return [(stem if stems.count(stem) == 1 else p.name, p) for stem, p in zip(stems, entries, strict=True)]


def grade_class(folder: str | Path, rubric: Rubric, out: str | Path, options: BatchOptions = BatchOptions(),
                on_event: Callable[[BatchEvent], None] = lambda e: None, exports: LmsExports = LmsExports()) -> BatchSummary:
    out = Path(out)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    run_options = " ".join(f"{k}={v}" for k, v in (("epochs", options.epochs), ("train_limit", options.train_limit)) if v)
    gradebook = Gradebook(out / "gradebook.sqlite")
    students, jobs, keys, skipped = discover(Path(folder)), [], {}, 0
    try:
        for student, path in students:
            try:
                sha = resolve_submission(path).sha256
            except SubmissionNotFound as e:
                sha = f"unreadable:{e}"
            keys[student] = (sha, rubric.sha256, __version__, run_options)
            recorded = None if options.force else gradebook.report(student, keys[student])
            if recorded is not None and not json_report.pending_runs(recorded):
                skipped += 1
                on_event(BatchEvent("skip", student, recorded))
            else:
                jobs.append(Job(student, str(path), options.epochs, options.train_limit, options.isolation))

        second_pass: list[Job] = []

        def done(job: Job, report: dict, html: str, grade) -> None:
            report["submission"]["path"], report["rubric"]["path"] = job.path, rubric.path
            gradebook.record(job.student, keys[job.student], report)
            _write_reports(out, job.student, report, html)
            pending = json_report.pending_runs(report) > 0
            if pending:
                second_pass.append(replace(job, earlier=grade))
            on_event(BatchEvent("pending" if pending else "done", job.student, report))

        def start(job: Job) -> None:
            on_event(BatchEvent("start", job.student, None))

        split = None  # loaded once, for both passes
        if jobs and options.executor == "local":
            split = mnist.load_split(mnist.find_mnist(options.data_dir), rubric.recipe.split, options.train_limit)
        if jobs:
            _execute(jobs, rubric, options, split, start, done)
        if second_pass:  # the borderline seeds, once every first result is in, on every worker the pass would leave idle
            cores = max(1, options.workers // len(second_pass))
            _execute([replace(job, cores=cores) for job in second_pass], rubric, options, split, start, done)
        reports = [r for student, _ in students if (r := gradebook.report(student, keys[student])) is not None]
        tampered = tuple(sorted(gradebook.tampered))
    finally:
        gradebook.close()
    csv_report.write(out / "gradebook.csv", reports, rubric)
    _write_overview(out, reports, rubric)
    matched = _write_lms_gradebooks(exports, reports, rubric)
    return BatchSummary(len(students), len(jobs), skipped, sum(r["status"] == "error" for r in reports), out, tampered,
                        matched.without_roster, matched.without_submission)


def _execute(jobs, rubric, options: BatchOptions, split, start, done) -> None:
    if options.executor == "ray":
        return run_ray(jobs, rubric, options.ray_address, options.gpu_fraction, start, done)
    if options.executor != "local":
        raise UsageError(f"unknown executor {options.executor!r}: use local or ray")
    run_local(jobs, rubric, split, _devices(options), start, done)


def _devices(options: BatchOptions) -> list[str]:
    """One device per worker slot: spread over the GPUs (several slots share one), else the CPU."""
    gpus = 0
    if options.device in ("auto", "cuda"):
        import torch

        gpus = torch.cuda.device_count()
    if options.device.startswith("cuda:") or (options.device == "cpu") or not gpus:
        return [options.device if options.device != "auto" else "cpu"] * options.workers
    return [f"cuda:{i % gpus}" for i in range(options.workers)]


def _write_reports(out: Path, student: str, report: dict, html: str) -> None:
    page = out / report_file(student)
    page.with_suffix(".json").write_text(json.dumps(report, indent=2, allow_nan=False))
    page.write_text(html)


def _write_lms_gradebooks(exports: LmsExports, reports: list[dict], rubric: Rubric) -> roster_file.Matched:
    matched = roster_file.match(reports, exports.roster)
    assignment = exports.assignment or rubric.title
    for path, write in ((exports.canvas, canvas.write), (exports.moodle, moodle.write)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path, matched.graded, assignment, rubric)
    return matched


def _write_overview(out: Path, reports: list[dict], rubric: Rubric) -> None:
    from grader.batch import overview

    (out / "index.html").write_text(overview.render(reports, rubric, report_link=report_file))

