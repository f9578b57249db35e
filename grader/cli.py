"""The `grader` command: parses arguments, calls the library, prints. Exit codes: 0 every scored
criterion passed, 1 a criterion failed, the submission errored or the grader itself failed (a bug: one
line here, and every report asked for says so), 2 a usage error, 128 + N stopped by signal N (130 Ctrl-C,
143 SIGTERM)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from grader import __version__, api, platforms
from grader.bundled import in_checkout
from grader.errors import Stopped, UsageError
from grader.report import gradescope as gradescope_report
from grader.report import json as json_report
from grader.report import terminal
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.sandbox import isolation, runner

PACKAGE = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade small-model MNIST submissions: what runs, what it counts, what it reaches.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("submission", help="the folder the student hands in (or one .py file or notebook)")
        p.add_argument("--rubric", default=str(DEFAULT_RUBRIC), help="rubric TOML file (default: %(default)s)")
        p.add_argument("--model-class", default="", help="the class to grade, as CLASS or FILE:CLASS (default: the loading rule's choice)")
        p.add_argument("--json", metavar="PATH", help="also write the JSON report here")
        p.add_argument("--html", metavar="PATH", help="also write the HTML report (one self-contained file) here")
        p.add_argument("--verbose", "-v", action="store_true", help="show everything, the submission's output included")
        isolation_option(p)
        p.add_argument("--junit", metavar="PATH", help="also write JUnit XML here, one test case per criterion (GitLab, Jenkins, other CI)")
        p.add_argument("--markdown", metavar="PATH", help="also write the report as Markdown here (a GitHub job summary, a merge request comment)")
        p.add_argument("--classroom50", metavar="PATH", help="also write Classroom 50's result.json here, with the submission's identity "
                                                            "from the runner's environment (run it from the assignment's autograder.py)")
        p.add_argument("--prairielearn", metavar="PATH", help="also write PrairieLearn's external grading results.json here")
        p.add_argument("--classroom", metavar="PATH", help="also write the legacy GitHub Classroom result here: base64 JSON for a "
                                                          "self-hosted autograding-grading-reporter")
        p.add_argument("--classroom-max-score", type=float, metavar="N", help="scale the --classroom result to N points (default: the rubric's)")

    check = commands.add_parser("check", help="load and inspect a submission and score its structure, in seconds (no training)",
                                description="Load and inspect a submission and score its structural criteria, without training.")
    common(check)
    grade = commands.add_parser("grade", help="train with the rubric's recipe, evaluate, and score every criterion",
                                description="Train the submission with the rubric's fixed recipe, evaluate it and score every criterion.")
    common(grade)
    training_options(grade)
    threads_option(grade)
    batch = commands.add_parser("batch", help="grade a folder of submissions into a gradebook, resumably, in parallel",
                                description="Grade every submission in a folder (one file, notebook or folder per student) "
                                            "into a SQLite gradebook, gradebook.csv, per-student reports and a class overview.")
    batch.add_argument("folder", help="folder with one submission per student")
    batch.add_argument("--rubric", default=str(DEFAULT_RUBRIC), help="rubric TOML file (default: %(default)s)")
    batch.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    batch.add_argument("--workers", type=int, default=1, help="grades at once (default: 1)")
    batch.add_argument("--force", action="store_true", help="regrade submissions the gradebook already holds")
    batch.add_argument("--executor", choices=("local", "ray"), default="local", help="local pool or a Ray cluster (default: local)")
    batch.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local one)")
    batch.add_argument("--gpu-fraction", type=float, default=0.25, help="share of a GPU per Ray task (default: 0.25)")
    batch.add_argument("--canvas", metavar="PATH", help="also write a gradebook for Canvas's Grades > Import here")
    batch.add_argument("--moodle", metavar="PATH", help="also write a gradebook for Moodle's Grades > Import > CSV file here")
    batch.add_argument("--assignment", default="", metavar="NAME",
                       help="the assignment's column in the --canvas and --moodle gradebooks (default: the rubric's title)")
    batch.add_argument("--roster", metavar="FILE", help="CSV mapping each submission's name to the student's email and/or SIS id "
                                                       "in the LMS, for --canvas and --moodle (README: Grading a class)")
    isolation_option(batch)
    training_options(batch)
    reference = commands.add_parser("reference", help="re-run the bundled reference solution and record its results",
                                    description="Grade the bundled reference solution (grader/reference/model.py) once per seed and record "
                                                "the results: in a checkout, into grader/reference/results.json; an installed grader "
                                                "is never rewritten, so there --out is needed.")
    reference.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="training seeds (default: 1 2 3 4 5)")
    reference.add_argument("--rubric", default=str(DEFAULT_RUBRIC), help="rubric TOML file (default: %(default)s)")
    reference.add_argument("--out", help=f"where to write the results (default, in a checkout only: {api.REFERENCE_RESULTS})")
    reference.add_argument("--workers", type=int, default=1, help="seeds graded at once, each in its own worker (default: 1)")
    training_options(reference)
    gradescope = commands.add_parser("gradescope", help="Gradescope's run_autograder: grade the submission, always write results.json",
                                     description="Grade the submission Gradescope put in --submission-dir and write Gradescope's "
                                                 "results.json, always: an error result when anything fails.")
    gradescope.add_argument("--submission-dir", default=str(platforms.GRADESCOPE_SUBMISSION), help="the student's upload (default: %(default)s)")
    gradescope.add_argument("--results", default=str(platforms.GRADESCOPE_RESULTS), help="where to write results.json (default: %(default)s)")
    gradescope.add_argument("--rubric", default=str(DEFAULT_RUBRIC), help="rubric TOML file (default: %(default)s)")
    gradescope.add_argument("--model-class", default="", help="the class to grade, as CLASS or FILE:CLASS (default: the loading rule's choice)")
    gradescope.add_argument("--accuracy-visibility", choices=gradescope_report.VISIBILITIES, default=gradescope_report.VISIBLE,
                            help="when students see the accuracy tests, the total score and the full report; the structural tests stay "
                                 "visible (default: %(default)s)")
    training_options(gradescope)
    threads_option(gradescope)
    return parser


def isolation_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--isolation", choices=isolation.MODES, default=isolation.AUTO,
                   help="auto: bubblewrap when it works here, else a plain process; strict: refuse to grade without "
                        "bubblewrap; process: never use it (default: auto)")


def training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR, then the user cache)")
    p.add_argument("--epochs", type=int, help="train fewer epochs than the rubric (a provisional run)")
    p.add_argument("--train-limit", type=int, help="train on only this many images (a provisional run)")
    p.add_argument("--device", default="auto", help="auto (GPU when there is one), cpu, or cuda[:N] (default: auto)")


def threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, help="CPU threads to use: the first run trains on all of them, the extra seeds of a "
                                               "borderline grade side by side (default: all cores)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        return _command(args, console)
    except Stopped as e:
        kept = f"; the grades recorded so far stay in {Path(args.out) / 'gradebook.sqlite'}" if args.command == "batch" else ""
        print(f"grader: {e}: its workers were ended{kept}", file=sys.stderr)
        return 128 + (e.signum or signal.SIGTERM)
    except Exception as e:  # noqa: BLE001  (a bug of the grader outside a grade, which api grades: one line, never a bare traceback)
        print(f"grader: {_bug(e)}", file=sys.stderr)
        return 1


def _command(args, console: Console) -> int:
    if args.command == "gradescope":
        return _gradescope(args, console)
    files = platforms.ReportFiles(args.markdown, args.junit, args.classroom, args.classroom_max_score, args.classroom50,
                                  args.prairielearn) if args.command in ("check", "grade") else None
    try:
        if files:
            files = files.with_identity(os.environ)  # before grading: outside Classroom 50's runner, fail at once
        rubric = load_rubric(args.rubric)
        if args.command == "reference":
            return _reference(args, rubric, console)
        if args.command == "batch":
            return _batch(args, rubric, console)
        if args.command == "check":
            grade = api.check(args.submission, rubric, args.model_class, isolation=args.isolation)
        else:
            grade = _grade_with_progress(args, rubric, console)
    except UsageError as e:
        print(f"grader: {e}", file=sys.stderr)  # plain: one line, never wrapped or read as markup
        if files:  # CI still gets a result to read: an error, not a missing file
            failed = platforms.usage_error_grade(args.submission, args.rubric, args.command, e)
            _say(_write_files(failed, args, files, console=None))
        return 2
    failures = []
    try:
        terminal.render(grade, console, verbose=args.verbose)
    except Exception as e:  # noqa: BLE001  (a renderer's bug costs its own report, never the files)
        failures.append(f"the terminal report failed: {_bug(e)}")
    failures += _write_files(grade, args, files, console)
    _say(failures)
    return 0 if grade.passed and not failures else 1


def _write_files(grade, args, files: platforms.ReportFiles, console: Console | None) -> list[str]:
    """Write every report file the command line asked for, each on its own: one that fails (a renderer's bug) is
    left out, the others are still written. Returns what failed, one line each; `console` says where each went
    (None: quietly)."""
    def html() -> str:
        from grader.report import html  # matplotlib and jinja2 load only when asked for

        return html.render(grade)

    asked: list[tuple[str, str | None, Callable[[], str]]] = [("JSON report", args.json, lambda: json_report.render(grade)),
                                                               ("HTML report", args.html, html)]
    asked += [("report", path, render) for path, render in platforms.reports(grade, files)]
    failures = []
    for name, path, render in asked:
        if not path:
            continue
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)  # PrairieLearn does not create /grade/results
            Path(path).write_text(render(), encoding="utf-8")
        except OSError as e:
            failures.append(f"cannot write {path}: {e.strerror or e}")
            continue
        except Exception as e:  # noqa: BLE001  (a renderer's bug costs its own report only)
            failures.append(f"{path} not written: {_bug(e)}")
            continue
        if console:
            console.print(f"[dim]{name} written to {escape(path)}[/]")
    return failures


def _bug(e: Exception) -> str:
    """A bug of the grader outside a grade, in one line: what was raised, and where in the grader."""
    frames = [(Path(f.filename).resolve(), f.lineno) for f in traceback.extract_tb(e.__traceback__)]
    frames = [(path, line) for path, line in frames if path.is_relative_to(PACKAGE)]
    where = f" (at {frames[-1][0].relative_to(PACKAGE.parent)}:{frames[-1][1]})" if frames else ""
    message = str(e).replace("\n", " ")
    return f"the grader itself failed (a bug in the grader): {type(e).__name__}: {message}{where}"


def _say(failures: list[str]) -> None:
    for failure in failures:
        print(f"grader: {failure}", file=sys.stderr)


def _grade_with_progress(args, rubric, console: Console):
    with terminal.training_bar(args.epochs or rubric.recipe.epochs, rubric.recipe.seed, console) as update:
        return api.grade(args.submission, rubric, args.model_class, args.data_dir, args.epochs, args.train_limit,
                         args.device, args.threads, on_progress=update, isolation=args.isolation)


def _reference(args, rubric, console: Console) -> int:
    if args.out is None and not in_checkout():
        raise UsageError(f"the recorded reference results ship inside the installed grader ({api.REFERENCE_RESULTS}), which is never "
                         "rewritten: pass --out PATH (or run this from a checkout, pip install -e, to update the record)")
    out = Path(args.out) if args.out is not None else api.REFERENCE_RESULTS
    if (args.epochs or args.train_limit) and out.resolve() == api.REFERENCE_RESULTS.resolve():
        raise UsageError("a shortened run (--epochs, --train-limit) must not replace the recorded reference: pass --out")

    def show(seed: int, p: api.Progress) -> None:
        console.print(f"seed {seed} epoch {p.epoch}/{p.epochs}: validation {p.validation_accuracy:.2f}% ({p.seconds:.0f} s)")

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    record = api.run_reference(args.seeds, rubric, on_progress=show, workers=args.workers,
                               data_dir=args.data_dir, epochs=args.epochs, train_limit=args.train_limit, device=args.device)
    out.write_text(json.dumps(record, indent=2) + "\n")
    console.print(f"reference: {record['validation_accuracy']:.2f}% validation, {record['test_accuracy']:.2f}% test "
                  f"(mean of seeds {', '.join(map(str, args.seeds))}), {record['parameters']:,} parameters -> {out}")
    return 0


def _batch(args, rubric, console: Console) -> int:
    from grader.batch import BatchOptions, LmsExports, discover, grade_class, roster

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if (args.roster or args.assignment) and not (args.canvas or args.moodle):
        raise UsageError("--roster and --assignment are for the LMS gradebooks: add --canvas PATH or --moodle PATH")
    options = BatchOptions(args.workers, args.executor, args.ray_address, args.gpu_fraction, args.force, args.data_dir,
                           args.epochs, args.train_limit, args.device, args.isolation)
    exports = LmsExports(Path(args.canvas) if args.canvas else None, Path(args.moodle) if args.moodle else None, args.assignment,
                         roster.load(args.roster) if args.roster else None)
    counts, lock = {"done": 0, "running": 0, "failed": 0, "skipped": 0, "borderline": 0}, threading.Lock()
    columns = (TextColumn("[bold]grading[/]"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("batch", total=len(discover(Path(args.folder))), status="")

        def update(event) -> None:  # called from the pool's threads too
            with lock:
                if event.kind == "start":
                    counts["running"] += 1
                elif event.kind == "pending":  # its extra seeds run after the class's first pass
                    counts["running"] -= 1
                    counts["borderline"] += 1
                    runs = json_report.pending_runs(event.report)
                    progress.console.print(f"{event.student}: {event.report['score']:g}/{event.report['max_score']:g} borderline, "
                                           f"{runs} more seed{'s' if runs != 1 else ''} after the first pass", highlight=False)
                else:
                    counts["running"] -= event.kind == "done"
                    counts["skipped" if event.kind == "skip" else "done"] += 1
                    counts["failed"] += event.report["status"] == "error"
                    progress.advance(task)
                if event.kind == "done":
                    report = event.report
                    progress.console.print(f"{event.student}: {report['score']:g}/{report['max_score']:g} {report['status']}", highlight=False)
                progress.update(task, status=", ".join(f"{v} {k}" for k, v in counts.items()))

        summary = grade_class(args.folder, rubric, args.out, options, update, exports)
    console.print(f"{summary.students} students: {summary.graded} graded now, {summary.skipped} already in the gradebook, "
                  f"{summary.errors} errors -> {summary.out}/gradebook.csv, {summary.out}/index.html")
    for path in (p for p in (exports.canvas, exports.moodle) if p):
        console.print(f"[dim]LMS gradebook written to {escape(str(path))}[/]")
    if summary.without_roster:
        console.print(f"[yellow]graded but not in the roster, so left out of the LMS gradebooks: {escape(', '.join(summary.without_roster))}[/]")
    if summary.without_submission:
        console.print(f"[yellow]in the roster with no submission: {escape(', '.join(summary.without_submission))}[/]")
    if summary.tampered:
        console.print(f"[red]gradebook rows not written by this grader (altered?), graded again or left out: {escape(', '.join(summary.tampered))}[/]")
    return 0


def _gradescope(args, console: Console) -> int:
    def show(p: api.Progress) -> None:
        console.print(f"epoch {p.epoch}/{p.epochs}: validation {p.validation_accuracy:.2f}% ({p.seconds:.0f} s)", highlight=False)

    grade = platforms.gradescope(args.submission_dir, args.results, args.rubric, args.model_class, args.accuracy_visibility,
                                 data_dir=args.data_dir, epochs=args.epochs, train_limit=args.train_limit, device=args.device,
                                 cores=args.threads, on_progress=show)
    if grade is not None:
        terminal.render(grade, console, verbose=True)
    console.print(f"[dim]Gradescope results written to {args.results}[/]")
    return 0 if grade is not None and grade.passed else 1


def run() -> None:
    _stop_on_signals()
    sys.exit(main())


def _stop_on_signals() -> None:
    """SIGTERM and Ctrl-C raise Stopped in the main thread, so that every `finally` runs (each kills its worker's tree
    and frees its cgroup: SIGTERM's default action skips them), and set runner.STOPPING, so that the workers of the
    pool's threads end too. A second signal while stopping is ignored: it would cut those `finally` blocks short."""
    def stop(signum, frame) -> None:
        if not runner.STOPPING.is_set():
            runner.STOPPING.set()
            raise Stopped(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


if __name__ == "__main__":
    run()
