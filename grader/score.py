"""The score stage: the rubric's criteria applied to what inspection and evaluation found."""

from __future__ import annotations

from grader.results import CriterionResult, EpochRecord, Flag, Inspection
from grader.rubric import Criterion, Rubric

FEATURE_NAMES = {"batchnorm": "Batch Normalization", "dropout": "Dropout", "gap": "Global Average Pooling", "fc": "a fully connected layer"}


def score(rubric: Rubric, inspection: Inspection, history: tuple[EpochRecord, ...] | None,
          flags: tuple[Flag, ...]) -> tuple[tuple[CriterionResult, ...], float, float]:
    """(criterion results, score, max score). history None means training did not run (grader check)."""
    results = tuple(_criterion(c, inspection, history) for c in rubric.criteria)
    failing = [f for f in flags if f.id in rubric.fail_on_flags]
    total = sum(r.points for r in results)
    if failing:
        results = results + (CriterionResult("flags", False, 0.0, 0.0, f"score set to 0: {failing[0].message}"),)
        total = 0.0
    return results, round(total, 2), rubric.max_score


def score_error(rubric: Rubric, stage: str, mode: str) -> tuple[tuple[CriterionResult, ...], float, float]:
    """An errored submission scores 0 on every criterion; the accuracy criterion did not run under check."""
    words = {"load": "the model did not load", "inspect": "the forward pass failed", "train": "training failed",
             "evaluate": "evaluation failed"}.get(stage, f"{stage} failed")
    results = tuple(CriterionResult(c.id, False, 0.0, c.points, f"not graded: {words}", ran=not (c.metric and mode == "check"))
                    for c in rubric.criteria)
    return results, 0.0, rubric.max_score


def _criterion(c: Criterion, inspection: Inspection, history) -> CriterionResult:
    def result(passed: bool, detail: str, points: float | None = None) -> CriterionResult:
        return CriterionResult(c.id, passed, c.points if passed else (points or 0.0), c.points, detail)

    if c.metric:
        if history is None:
            return CriterionResult(c.id, False, 0.0, c.points, "not run: `grader check` does not train; run `grader grade`", ran=False)
        return _accuracy(c, history, result)
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


def _accuracy(c: Criterion, history: tuple[EpochRecord, ...], result) -> CriterionResult:
    values = [getattr(r, c.metric) for r in history]
    if not values:
        return result(False, "no epoch finished")
    value = {"final": values[-1], "best": max(values), "min_last_3": min(values[-3:])}[c.mode]
    label = {"final": "at the last epoch", "best": "at the best epoch", "min_last_3": "lowest of the last 3 epochs"}[c.mode]
    detail = f"{c.metric.replace('_', ' ')} {value:.2f}% {label} (needs {c.at_least:.2f}%)"
    if value >= c.at_least:
        return result(True, detail)
    partial = 0.0
    if c.partial_from is not None and value > c.partial_from:
        partial = round(c.points * (value - c.partial_from) / (c.at_least - c.partial_from), 2)
        detail += f"; partial credit from {c.partial_from:.2f}%"
    return result(False, detail, partial)
