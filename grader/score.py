"""The score stage: the rubric's criteria applied to what inspection and evaluation found."""

from __future__ import annotations

from grader import protocol as P
from grader.results import CriterionResult, EpochRecord, Flag, Inspection
from grader.rubric import Criterion, Rubric

FEATURE_NAMES = {"batchnorm": "Batch Normalization", "dropout": "Dropout", "gap": "Global Average Pooling", "fc": "a fully connected layer"}


History = tuple[EpochRecord, ...]


def score(rubric: Rubric, inspection: Inspection, histories: tuple[History, ...] | None, flags: tuple[Flag, ...],
          borderline: tuple[str, ...] = ()) -> tuple[tuple[CriterionResult, ...], float, float]:
    """(criterion results, score, max score). `histories`: one per training run, whose mean the accuracy criteria judge;
    None means training did not run (grader check). `borderline`: the criteria more seeds decided."""
    results = tuple(_criterion(c, inspection, histories, c.id in borderline) for c in rubric.criteria)
    failing = [f for f in flags if f.id in rubric.fail_on_flags]
    total = sum(r.points for r in results)
    if failing:
        results = results + (CriterionResult("flags", False, 0.0, 0.0, f"score set to 0: {failing[0].message}"),)
        total = 0.0
    return results, round(total, 2), rubric.max_score


def score_error(rubric: Rubric, stage: str, mode: str) -> tuple[tuple[CriterionResult, ...], float, float]:
    """An errored submission scores 0 on every criterion; the accuracy criterion did not run under check."""
    words = {P.LOAD: "the model did not load", P.INSPECT: "the forward pass failed", P.TRAIN: "training failed",
             P.EVALUATE: "evaluation failed", P.GRADER: "the grader itself failed, not the submission"}.get(stage, f"{stage} failed")
    results = tuple(CriterionResult(c.id, False, 0.0, c.points, f"not graded: {words}", ran=not (c.metric and mode == P.CHECK),
                                    metric=c.metric) for c in rubric.criteria)
    return results, 0.0, rubric.max_score


def borderline_criteria(rubric: Rubric, histories: tuple[History, ...]) -> tuple[str, ...]:
    """The accuracy criteria whose value, the mean over these runs, is within the rubric's band of the threshold."""
    return tuple(c.id for c in rubric.criteria if c.metric and (value := _value(c, histories)) is not None
                 and round(abs(value - c.at_least), 6) < rubric.seeds.band)  # rounded: 99.55 - 99.4 is 0.15, not 0.1499...


def _criterion(c: Criterion, inspection: Inspection, histories, borderline: bool) -> CriterionResult:
    def result(passed: bool, detail: str, points: float | None = None) -> CriterionResult:
        return CriterionResult(c.id, passed, c.points if passed else (points or 0.0), c.points, detail, borderline=borderline,
                               metric=c.metric)

    if c.metric:
        if histories is None:
            return CriterionResult(c.id, False, 0.0, c.points, "not run: a check does not train; a grade does (`grader grade`, "
                                   "or `grader.grade(...)` in a notebook)", ran=False, metric=c.metric)
        return _accuracy(c, histories, result)
    if c.less_than is not None:
        n = inspection.parameters.counted
        return result(n < c.less_than, f"{n:,} counted parameters ({'below' if n < c.less_than else 'not below'} {c.less_than:,})")
    arch = inspection.architecture
    if c.uses:
        missing = [f for f in c.uses if not getattr(arch, f)]
        if not missing:
            return result(True, f"{' and '.join(FEATURE_NAMES[f] for f in c.uses)} ran in the forward pass")
        return result(False, f"{' and '.join(FEATURE_NAMES[f] for f in missing)} never ran in a training-mode forward pass")
    present = [f for f in c.uses_any if getattr(arch, f)]
    if present:
        return result(True, f"{' and '.join(FEATURE_NAMES[f] for f in present)} ran in the forward pass")
    return result(False, f"none of {', '.join(FEATURE_NAMES[f] for f in c.uses_any)} ran in the forward pass")


def _run_value(c: Criterion, history: History) -> float | None:
    values = [getattr(r, c.metric) for r in history]
    if not values:
        return None
    return {"final": values[-1], "best": max(values), "min_last_3": min(values[-3:])}[c.mode]


def _value(c: Criterion, histories: tuple[History, ...]) -> float | None:
    """The mean over the runs of each run's value, rounded so that three runs averaging 99.40 are 99.40 and not
    99.39999999999999; None when a run finished no epoch."""
    values = [_run_value(c, h) for h in histories]
    return None if not values or None in values else round(sum(values) / len(values), 6)


def _accuracy(c: Criterion, histories: tuple[History, ...], result) -> CriterionResult:
    value = _value(c, histories)
    if value is None:
        return result(False, "no epoch finished")
    label = {"final": "at the last epoch", "best": "at the best epoch", "min_last_3": "lowest of the last 3 epochs"}[c.mode]
    if len(histories) > 1:
        label += f", mean of {len(histories)} seeds ({', '.join(f'{_run_value(c, h):.2f}' for h in histories)})"
    detail = f"{c.metric.replace('_', ' ')} {value:.2f}% {label} (needs {c.at_least:.2f}%)"
    if value >= c.at_least:
        return result(True, detail)
    partial = 0.0
    if c.partial_from is not None and value > c.partial_from:
        partial = round(c.points * (value - c.partial_from) / (c.at_least - c.partial_from), 2)
        detail += f"; partial credit from {c.partial_from:.2f}%"
    return result(False, detail, partial)
