"""The library entry points: `check` (load, inspect, score) and `grade` (also train and evaluate).

The CLI, batch grading and the platform integrations all call these two functions.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from grader import __version__, numerics
from grader import data as mnist
from grader import protocol as P
from grader import results as R
from grader.boundary import BadWorkerData
from grader.bundled import bundled_file
from grader.errors import UsageError
from grader.evaluate import accuracy, diagnose, evaluate
from grader.evaluation_set import prepare as prepare_evaluation_set
from grader.evaluation_set import secret_seeds
from grader.graph import format as fmt
from grader.inspect import build_inspection, with_effects, with_graph
from grader.inspect.cost import mflops_per_image
from grader.inspect.graph import read_graph
from grader.load import LoadError, ModelChoice, Submission, choose_model, resolve_submission
from grader.results import Diagnostics, Environment, EpochRecord, Flag, Grade, Inspection, Metrics, Reference, SeedRun, StageError, Training, isolation_flags
from grader.rubric import DEFAULT_RUBRIC, Limits, Rubric, load_rubric
from grader.sandbox.isolation import resolve as resolve_isolation
from grader.sandbox.runner import EpochOutput, TrainerInput, TrainingData, WorkerRun, run_worker
from grader.score import borderline_criteria, score, score_error
from grader.tiebreak import break_tie

REFERENCE_RESULTS = bundled_file("reference", "results.json")  # package data, as the model beside it
OUTPUT_KEPT = 20_000  # characters of what the submission printed, over every seed's workers
TRACEBACK_KEPT = 8_000  # characters of a grader bug's traceback, its end
TRAINED_BY = {P.GRAPH: "the grader (its exported graph)", P.EAGER: "its own code (the export failed)"}
_NO_METRICS = Metrics(None, None, None)


@dataclasses.dataclass(frozen=True)
class InSession(Submission):
    """A model object from the student's own Python session (a notebook's `grader.check(Net)`: grader.notebook), graded
    as a submission: `choice` stands for the loading rule's, and `model_run(request)` gives what the model worker gives
    for that request (the trace and the exported graph, read through grader.boundary), made in that session. From the
    graph on, everything is the usual path."""

    choice: ModelChoice
    model_run: Callable[[dict], WorkerRun]

    def __str__(self) -> str:
        return self.path


@dataclasses.dataclass(frozen=True)
class Progress:
    """One finished epoch, for live progress displays."""

    epoch: int
    epochs: int
    train_loss: float | None
    validation_accuracy: float
    seconds: float
    seed: int = 0  # which training run (several train side by side when a grade is borderline)


def check(path: str | Path | InSession, rubric: Rubric | None = None, model_class: str = "", isolation: str = "auto") -> Grade:
    """Load, inspect and score the structural criteria of a submission, without training. Raises UsageError alone: the
    submission's faults and the grader's own bugs are graded errors."""
    rubric = rubric or load_rubric(DEFAULT_RUBRIC)
    return _graded(path, rubric, P.CHECK, lambda: _run(path, rubric, model_class, mode=P.CHECK, isolation=isolation))


def grade(
    path: str | Path | InSession,
    rubric: Rubric | None = None,
    model_class: str = "",
    data_dir: str | Path | None = None,
    epochs: int | None = None,
    train_limit: int | None = None,
    device: str = "auto",
    cores: int | None = None,
    on_progress: Callable[[Progress], None] = lambda p: None,
    split: mnist.MnistSplit | None = None,
    isolation: str = "auto",
    defer_borderline: bool = False,
    earlier: Grade | None = None,
) -> Grade:
    """Everything `check` does, then train with the rubric's recipe, once per seed of its seed policy, and evaluate
    on the trusted side.

    `epochs` (at most the rubric's) and `train_limit` make quick, provisional runs. A batch passes the `split` it
    loaded once instead of `data_dir` and `train_limit`, grades its class with `defer_borderline` (a borderline
    grade comes back with `training.pending_runs`), and then passes that grade as `earlier` to run only the
    seeds still pending. `cores` (default: every core) are shared by the runs: the first trains on all of them, the
    extra seeds of a borderline grade side by side; each run's thread count is in its device line (its arithmetic:
    grader.numerics). Raises UsageError alone, as `check` does.
    """
    rubric = rubric or load_rubric(DEFAULT_RUBRIC)
    recipe = rubric.recipe
    if epochs is not None and not 1 <= epochs <= recipe.epochs:
        raise UsageError(f"--epochs must be between 1 and the rubric's {recipe.epochs}")
    if train_limit is not None and train_limit < 1:
        raise UsageError("--train-limit must be at least 1")
    if cores is not None and cores < 1:
        raise UsageError("--threads must be at least 1")

    def run() -> Grade:
        loaded = split or mnist.load_split(mnist.find_mnist(data_dir), recipe.split, train_limit)
        return _run(path, rubric, model_class, mode=P.GRADE, split=loaded, epochs=epochs or recipe.epochs, device=device,
                    cores=cores or numerics.usable_cores(), on_progress=on_progress, isolation=isolation,
                    defer_borderline=defer_borderline, earlier=earlier)

    return _graded(path, rubric, P.GRADE, run)


def _graded(path, rubric: Rubric, mode: str, run: Callable[[], Grade]) -> Grade:
    """`run()`, with any exception but a usage error graded as a bug of the grader (stage `grader`, with its
    traceback), so that every report is still written: the one place an exception becomes a graded error."""
    try:
        return run()
    except UsageError:
        raise  # how the grader was invoked: the CLI says so in one line
    except Exception as e:  # noqa: BLE001  (a bug of the grader is graded, never raised)
        error = _grader_failure(e)
        return failed_grade(path, rubric, mode, error.message, error.stage, error.traceback)


def _grader_failure(e: Exception) -> StageError:
    """A bug of the grader as the error a grade carries: stage `grader`, what was raised, and the traceback's end."""
    return StageError(P.GRADER, f"the grader itself failed (a bug in the grader, not in your submission): {type(e).__name__}: {e}",
                      "".join(traceback.format_exception(e))[-TRACEBACK_KEPT:])


@dataclasses.dataclass(frozen=True)
class _Attempt:
    """One seed's workers: the model worker's run, the run that trained (the trainer's, or the model worker's
    when the export failed), and what the parent made of them."""

    seed: int
    model_run: WorkerRun | None  # None: the grader itself failed before a worker returned (then `error` says why)
    trained: WorkerRun | None
    trained_by: str
    inspection: Inspection | None  # the measured effects applied
    error: StageError | None
    history: tuple[EpochRecord, ...] | None  # None: nothing trained (check, or an error)
    metrics: Metrics
    flags: tuple[Flag, ...]  # the evaluation's (pretrained_weights, answers_looked_up)
    diagnostics: Diagnostics | None

    @property
    def graph(self) -> fmt.Graph | None:
        """The model worker's typed graph; None when the export failed or no worker run came back."""
        return self.model_run.graph if self.model_run else None


def _run(path, rubric: Rubric, model_class: str, mode: str, split: mnist.MnistSplit | None = None, epochs: int = 0,
         device: str = "cpu", cores: int = 1, on_progress=lambda p: None, isolation: str = "auto",
         defer_borderline: bool = False, earlier: Grade | None = None) -> Grade:
    started = time.monotonic()
    submission = path if isinstance(path, InSession) else resolve_submission(path)
    try:
        choice = path.choice if isinstance(path, InSession) else choose_model(submission, model_class or rubric.model_class)
    except LoadError as e:
        return failed_grade(path, rubric, mode, str(e), sha256=submission.sha256)
    if choice.tied:  # versions no signal tells apart: the one that best meets the structural criteria
        choice = break_tie(choice, lambda versions: _traced(submission, versions, rubric, isolation), rubric)
    evaluation = None if split is None else prepare_evaluation_set(split, secret_seeds(submission.sha256, rubric.sha256))

    def attempt(seed: int, threads: int) -> _Attempt:
        return _attempt(submission, choice, rubric, mode, seed, split, evaluation, epochs, device, threads, on_progress, isolation)

    def extra_attempts(seeds: list[int]) -> list[_Attempt]:
        """Seeds after the first: side by side on `cores`, and a bug of the grader becomes that seed's error."""
        side_by_side = min(cores, len(seeds))

        def guarded(seed: int) -> _Attempt:
            try:
                return attempt(seed, max(1, cores // side_by_side))
            except Exception as e:  # noqa: BLE001  (the first run is graded already: never lose it to a crash)
                return _Attempt(seed, None, None, "", None, _grader_failure(e), None, _NO_METRICS, (), None)
        if side_by_side == 1:
            return [guarded(seed) for seed in seeds]  # in this thread: Ctrl-C stops it
        with ThreadPoolExecutor(max_workers=side_by_side) as pool:
            return list(pool.map(guarded, seeds))

    first_seed, policy = rubric.recipe.seed, rubric.seeds
    result = earlier if (earlier and earlier.training and (earlier.submission_sha256, earlier.rubric_sha256, earlier.mode)
                         == (submission.sha256, rubric.sha256, mode)) else None
    first_graph = None  # the first seed's typed graph, to name where another seed's differs (a second pass has its fingerprint alone)
    if result is None:  # the first pass: the policy's every-grade seeds
        first = attempt(first_seed, cores)
        first_graph = first.graph
        result = _first_grade(submission, choice, rubric, mode, epochs, split, first, resolve_isolation(isolation))
        if mode == P.GRADE and policy.runs > 1:
            result = _with_runs(result, extra_attempts(list(range(first_seed + 1, first_seed + policy.runs))), rubric, first_graph)
        if (result.error is None and mode == P.GRADE and policy.borderline_runs > policy.runs
                and (ids := borderline_criteria(rubric, result.training.histories))):
            result = _with_runs(result, [], rubric, first_graph, borderline=ids, pending=policy.borderline_runs - policy.runs)
    if result.training and result.training.pending_runs and not defer_borderline:
        done = len(result.training.runs)
        result = _with_runs(result, extra_attempts(list(range(first_seed + done, first_seed + done + result.training.pending_runs))),
                            rubric, first_graph)
    return dataclasses.replace(result, seconds=round(result.seconds + time.monotonic() - started, 2))


def _attempt(submission, choice: ModelChoice, rubric: Rubric, mode: str, seed: int, split, evaluation, epochs: int, device: str,
             threads: int, on_progress, isolation: str) -> _Attempt:
    """Both workers for one training seed, on `threads` CPU threads, and the evaluation of what they returned."""
    request = _request(submission, dataclasses.replace(rubric.recipe, seed=seed), mode, epochs, device, threads, _model(choice))
    training_data = None if split is None else TrainingData(split.train_images, split.train_labels, evaluation.images, evaluation.copies)

    def report_epoch(e: EpochOutput) -> None:
        if e.epoch > 0:  # the runner checked the predictions: one per image sent
            on_progress(Progress(e.epoch, epochs, e.train_loss, accuracy(evaluation.restore(e.predictions).validation,
                                                                         split.validation_labels), e.seconds, seed))

    try:
        run = _model_worker(submission, request, rubric.limits, training_data, report_epoch, isolation)
    except BadWorkerData as e:  # the model worker left a file that is not what it must be: the submission's error
        return _Attempt(seed, None, None, P.EAGER, None, StageError(e.stage, str(e), ""), None, _NO_METRICS, (), None)
    inspection, trainer_input, error = _inspect(run, rubric.limits)
    trained, trained_by = run, P.EAGER
    if error is None and trainer_input is not None:  # the trusted trainer (in a check: its effect measurement alone)
        try:
            trained, trained_by = run_worker(trainer_input, request, rubric.limits, training_data, report_epoch, isolation), P.GRAPH
        except BadWorkerData as e:
            return _Attempt(seed, run, None, P.GRAPH, inspection, StageError(e.stage, str(e), ""), None, _NO_METRICS, (), None)
        error = trained.error
        inspection = with_effects(inspection, trained.probe)
    history, metrics, flags, diagnostics = None, _NO_METRICS, (), None
    if mode == P.GRADE and error is None:
        try:
            history, metrics, flags = evaluate(trained.epochs, split.validation_labels, split.test_labels, evaluation)
            diagnostics = diagnose(trained.epochs[-1], split.validation_images, split.validation_labels, split.test_images,
                                   split.test_labels, trained.activations, trained.feature_maps, evaluation)
        except ValueError as e:
            error = StageError(P.EVALUATE, str(e), "")
    return _Attempt(seed, run, trained, trained_by, inspection, error, history, metrics, flags, diagnostics)


def _model_worker(submission, request: dict, limits: Limits, data, on_epoch, isolation: str) -> WorkerRun:
    """The model worker's run: a worker process on the submission's files, or for an object of the student's own session
    the same typed data, made there (InSession)."""
    if isinstance(submission, InSession):
        return submission.model_run(request)
    return run_worker(submission, request, limits, data, on_epoch, isolation)


def _request(submission, recipe, mode: str, epochs: int, device: str, threads: int, model: dict) -> dict:
    """What the model worker is asked (the trainer gets the same, less the submission): grader.protocol's keys;
    `model`, the model to build (`_model`), or in trace mode the tied versions."""
    return {P.MODE: mode, **model, P.LEFT_OUT: list(submission.left_out), P.RECIPE: dataclasses.asdict(recipe),
            P.EPOCHS: epochs, P.DEVICE: device if mode == P.GRADE else "cpu", P.THREADS: threads}


def _model(choice: ModelChoice) -> dict:
    """The file, class and arguments to build the model with, as plain data (grader.protocol.MODEL_ARGUMENTS)."""
    arguments = {}
    if choice.constructor is not None:
        arguments = {"args": [_plain(a) for a in choice.constructor.args], "kwargs": {k: _plain(a) for k, a in choice.constructor.kwargs}}
    return {P.FILE: choice.file, P.MODEL_CLASS: choice.model_class, P.MODEL_ARGUMENTS: arguments}


def _plain(argument: R.Argument) -> dict:
    return {"constant": argument.constant} if argument.constant else {"literal": argument.literal}


def _traced(submission, versions: tuple[ModelChoice, ...], rubric: Rubric, isolation: str) -> list[Inspection | None]:
    """Tied versions built and traced by one model worker (grader.tiebreak); None for one that fails."""
    request = _request(submission, rubric.recipe, P.TRACE, 0, "cpu", 1, {P.VERSIONS: [_model(v) for v in versions]})
    try:
        run = run_worker(submission, request, rubric.limits, isolation_mode=isolation)
    except BadWorkerData:
        return [None] * len(versions)
    return [None if traced is None else build_inspection(*traced) for traced in run.traces]


def _first_grade(submission, choice: ModelChoice, rubric: Rubric, mode: str, epochs: int, split, a: _Attempt, isolation: str) -> Grade:
    """The grade of the first seed alone: what the submission is (inspection, flags) comes from its model worker.
    `isolation`: what was applied, for when no worker run came back (it left a file that is not what it must be)."""
    run, error, history, inspection = a.model_run, a.error, a.history, a.inspection
    trained = a.trained or run
    training = None
    if history is not None:
        run_record = _seed_run(a)
        training = Training(len(history), trained.device, run_record.seconds, history, a.trained_by, (run_record,))
    if inspection is not None:
        inspection = dataclasses.replace(inspection, flags=_choice_flags(choice) + _export_flags(run, mode) + inspection.flags + a.flags,
                                         notes=submission.notes + choice.notes + inspection.notes)
    if error is None:
        criteria, total, max_score = score(rubric, inspection, None if history is None else (history,),
                                           inspection.flags + isolation_flags(isolation))
    else:
        criteria, total, max_score = score_error(rubric, error.stage, mode)
    return Grade(
        submission_path=submission.path, submission_sha256=submission.sha256, model=choice,
        rubric_path=rubric.path, rubric_sha256=rubric.sha256, rubric_title=rubric.title,
        mode=mode, provisional=_provisional(rubric, mode, epochs, split),
        environment=Environment(platform.python_version(), (run and run.torch_version) or _installed("torch"),
                                (trained and trained.device) or (run and run.device) or "cpu", isolation, rubric.recipe.seed,
                                numerics.cpu_model(), platform.machine()),
        error=error, inspection=inspection, training=training, metrics=a.metrics,
        criteria=criteria, score=total, max_score=max_score, reference=load_reference(), diagnostics=a.diagnostics,
        seconds=0.0, output=(run.output if run else "") + (trained.output if trained is not run else ""),
    )


def _with_runs(grade: Grade, extra: list[_Attempt], rubric: Rubric, first_graph: fmt.Graph | None,
               borderline: tuple[str, ...] | None = None, pending: int | None = None) -> Grade:
    """`grade` with more seeds' runs added and judged again: the accuracy criteria take the mean of every run.
    A seed that fails, or builds another model than the first seed's (`first_graph`, when this pass has it), makes
    the whole grade an error, naming the seed."""
    if grade.error is not None or grade.training is None:
        return grade
    failed = next(((a, e) for a in extra if (e := a.error or _other_model(grade, a, first_graph)) is not None), None)
    if failed is not None:
        a, e = failed
        error = dataclasses.replace(e, message=f"with training seed {a.seed}: {e.message}")
        criteria, total, _ = score_error(rubric, error.stage, grade.mode)
        output = grade.output + (a.model_run.output if a.model_run else "") + (a.trained.output if a.trained not in (None, a.model_run) else "")
        return dataclasses.replace(grade, error=error, criteria=criteria, score=total, output=output[-OUTPUT_KEPT:],
                                   training=dataclasses.replace(grade.training, pending_runs=0))
    runs = grade.training.runs + tuple(_seed_run(a) for a in extra)
    known = {f.id for f in grade.inspection.flags}
    new_flags = tuple({f.id: f for a in extra for f in a.flags if f.id not in known}.values())
    inspection = dataclasses.replace(grade.inspection, flags=grade.inspection.flags + new_flags)
    borderline = tuple(c.id for c in grade.criteria if c.borderline) if borderline is None else borderline
    training = dataclasses.replace(grade.training, runs=runs, borderline=grade.training.borderline or bool(borderline),
                                   pending_runs=max(0, (grade.training.pending_runs if pending is None else pending) - len(extra)))
    criteria, total, _ = score(rubric, inspection, training.histories, inspection.flags
                               + isolation_flags(grade.environment.isolation), borderline)
    metrics = dataclasses.replace(grade.metrics, validation_accuracy=_mean([r.validation_accuracy for r in runs]),
                                  test_accuracy=_mean([r.test_accuracy for r in runs]))
    return dataclasses.replace(grade, inspection=inspection, training=training, metrics=metrics, criteria=criteria, score=total)


def _other_model(grade: Grade, a: _Attempt, first_graph: fmt.Graph | None) -> StageError | None:
    """Every seed must build the same model: the submission's code runs again for each one, so a constructor that
    read the seed could hand the extra seeds a bigger model, or one the trusted trainer never sees. An exported
    model's graph must be the first seed's but for its parameters' initial values (grader.graph.format.fingerprint):
    `first_graph` names the first difference; a batch's second pass, which has the first pass's grade alone, compares
    the fingerprint. A model trained by its own code is compared by its count, features and layer table."""
    seed = grade.environment.seed
    if a.trained_by != grade.training.trained_by:
        return StageError(P.INSPECT, f"the model was trained by {TRAINED_BY[a.trained_by]}, but with seed {seed} by "
                                     f"{TRAINED_BY[grade.training.trained_by]}: a model must not depend on the training seed", "")
    if a.graph is not None:
        if fmt.fingerprint(a.graph) == grade.inspection.graph_sha256:
            return None
        where = first_graph and fmt.first_difference(first_graph, a.graph)
        return StageError(P.INSPECT, f"its graph differs from seed {seed}'s{f' {where}' if where else ''}: "
                                     f"a model must not depend on the training seed", "")
    if _shape(a.inspection) != _shape(grade.inspection):
        return StageError(P.INSPECT, f"the model built is not the one built with seed {seed} (its parameters, "
                                     f"layers or features differ): a model must not depend on the training seed", "")
    return None


def _shape(inspection: Inspection | None) -> tuple:
    """What a model is, seed aside: its count, features and layers (not its weights)."""
    if inspection is None:
        return ()
    return (dataclasses.astuple(inspection.parameters), dataclasses.astuple(inspection.architecture),
            tuple((layer.name, layer.type, layer.output_shape, layer.parameters) for layer in inspection.layers))


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 4)


def _seed_run(a: _Attempt) -> SeedRun:
    return SeedRun(a.seed, a.history[-1].validation_accuracy if a.history else float("nan"),
                   a.history[-1].test_accuracy if a.history else float("nan"),
                   round(a.history[-1].seconds if a.history else 0.0, 2), a.history)


def _inspect(run: WorkerRun, limits: Limits) -> tuple[Inspection | None, TrainerInput | None, StageError | None]:
    """The model worker's results: the inspection (its count, features, fingerprint and cost from the graph when
    there is one), what the trainer gets, or the error: a model over the rubric's compute budget never trains."""
    if run.trace is None:
        return None, None, run.error
    inspection = build_inspection(run.trace, run.tensors)
    if run.graph is None:
        return inspection, None, run.error
    facts = read_graph(run.graph)
    if facts.refused:
        return inspection, None, run.error or StageError(P.INSPECT, facts.refused, "")
    inspection = dataclasses.replace(with_graph(inspection, facts), graph_sha256=fmt.fingerprint(run.graph),
                                     mflops_per_image=round(mflops_per_image(run.graph), 4))
    if run.error is None and inspection.mflops_per_image > limits.mflops_per_image:
        return inspection, None, StageError(
            P.INSPECT, f"its training step costs {inspection.mflops_per_image:,.1f} MFLOPs per image, over the rubric's limit of "
                       f"{limits.mflops_per_image:g}: use fewer channels at full resolution, or pool earlier", "")
    return inspection, TrainerInput(run.graph, facts.feature_nodes, facts.resets), run.error


def _export_flags(run, mode: str) -> tuple[Flag, ...]:
    if not run.export_failure:
        return ()
    trains = "it was trained" if mode == P.GRADE else "`grader grade` trains it"
    return (Flag(R.UNTRUSTED_TRAINING, f"the model could not be exported as a graph ({run.export_failure}), so {trains} by its own "
                                       f"Python code, which the grade cannot trust; write forward without Python decisions on "
                                       f"tensor values and with a free batch size"),)


def _choice_flags(choice: ModelChoice) -> tuple[Flag, ...]:
    if not choice.guessed:
        return ()
    return (Flag(R.MODEL_CLASS_GUESSED, f"{len(choice.others) + 1} versions of the model could be the one to grade; the grader took "
                                        f"{choice.file}:{choice.model_class} ({choice.reason}) over {', '.join(choice.others)}. "
                                        f"If that is the wrong one, name it with --model-class FILE:CLASS or model_class in the rubric"),)


def _provisional(rubric: Rubric, mode: str, epochs: int, split: mnist.MnistSplit | None) -> tuple[str, ...]:
    """Why a run deviates from the rubric's recipe; empty for a real grade (and for check, which does not train)."""
    reasons = []
    if mode == P.GRADE and epochs < rubric.recipe.epochs:
        reasons.append(f"{epochs} of the rubric's {rubric.recipe.epochs} epochs")
    if mode == P.GRADE and split.shortfall:
        reasons.append(f"smaller training split: {split.shortfall}")
    return tuple(reasons)


REFERENCE_MODEL = bundled_file("reference", "model.py")


def run_reference(seeds: list[int], rubric: Rubric | None = None, on_progress=lambda seed, p: None, workers: int = 1,
                  data_dir: str | Path | None = None, train_limit: int | None = None, **grade_options) -> dict:
    """Grade the bundled reference solution once per training seed, `workers` seeds at a time (each in its
    own worker process, on the split loaded once; one seed each, never more for a borderline one): the record
    `grader/reference/results.json` holds."""
    rubric = rubric or load_rubric(DEFAULT_RUBRIC)
    split = mnist.load_split(mnist.find_mnist(data_dir), rubric.recipe.split, train_limit)
    threads = max(1, numerics.usable_cores() // workers)  # the cores, shared by the seeds that train at once

    def run(seed: int) -> Grade:
        seeded = dataclasses.replace(rubric, recipe=dataclasses.replace(rubric.recipe, seed=seed),
                                     seeds=dataclasses.replace(rubric.seeds, runs=1, borderline_runs=1))
        g = grade(REFERENCE_MODEL, seeded, on_progress=lambda p: on_progress(seed, p), split=split, cores=threads, **grade_options)
        if g.error:
            raise RuntimeError(f"the reference solution failed with seed {seed}: {g.error.message}")
        return g

    with ThreadPoolExecutor(max_workers=workers) as pool:
        grades = list(pool.map(run, seeds))
    runs = [{"seed": seed, "validation_accuracy": g.metrics.validation_accuracy, "test_accuracy": g.metrics.test_accuracy,
             "seconds": g.training.seconds, "machine_kind": g.environment.machine_kind,
             "history": [dataclasses.asdict(r) for r in g.training.history]}
            for seed, g in zip(seeds, grades, strict=True)]
    epochs = min(len(r["history"]) for r in runs)
    g = grades[-1]  # the model, recipe and environment are the same for every seed
    return {
        "model": "grader/reference/model.py",
        "parameters": g.inspection.parameters.counted,
        "validation_accuracy": _mean([r["validation_accuracy"] for r in runs]),
        "test_accuracy": _mean([r["test_accuracy"] for r in runs]),
        "mean_history": [_mean([r["history"][i]["validation_accuracy"] for r in runs]) for i in range(epochs)],
        "provisional": list(g.provisional),
        "rubric": {"path": rubric.path, "sha256": rubric.sha256},
        "environment": dataclasses.asdict(g.environment),
        "grader_version": __version__,
        "recorded": time.strftime("%Y-%m-%d"),
        "runs": runs,
    }


def failed_grade(path: str | Path, rubric: Rubric, mode: str, message: str, stage: str = P.LOAD, traceback: str = "",
                 sha256: str = "") -> Grade:
    """A zero-score graded error for a submission that never reached a worker (no model class to choose, nothing to
    load, the grader's own setup or a bug of the grader: stage `grader`, with its `traceback`)."""
    criteria, _, max_score = score_error(rubric, stage, mode)
    return Grade(
        submission_path=str(path), submission_sha256=sha256, model=None, rubric_path=rubric.path, rubric_sha256=rubric.sha256,
        rubric_title=rubric.title, mode=mode, provisional=(), error=StageError(stage, message, traceback),
        environment=Environment(platform.python_version(), _installed("torch"), "", "none", rubric.recipe.seed),  # no worker ran
        inspection=None, training=None, metrics=_NO_METRICS, criteria=criteria, score=0.0, max_score=max_score,
        reference=load_reference(), diagnostics=None, seconds=0.0, output="",
    )


def load_reference(path: Path = REFERENCE_RESULTS) -> Reference | None:
    """The bundled reference solution's recorded results (averaged over its seeds), if recorded."""
    try:
        recorded = json.loads(path.read_text())
        return Reference(recorded["validation_accuracy"], recorded["test_accuracy"], recorded["parameters"],
                         tuple(recorded["mean_history"]))
    except (OSError, ValueError, KeyError):
        return None


def _installed(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
