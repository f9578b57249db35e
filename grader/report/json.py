"""The JSON report (schema 1): a stable public interface. Fields are only ever added."""

from __future__ import annotations

import dataclasses
import json
import math

from grader import __version__
from grader.results import Grade

SCHEMA = 1


def to_dict(grade: Grade) -> dict:
    """The report as plain data that is strict JSON: a non-finite number (a NaN loss) becomes None."""
    return finite(_fields(grade))


def finite(value):
    """`value` with every NaN and infinity replaced by None, so json.dumps(allow_nan=False) succeeds."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _fields(grade: Grade) -> dict:
    inspection, training = grade.inspection, grade.training
    constructor = grade.model.constructor if grade.model else None
    arch = inspection.architecture if inspection else None
    return {
        "schema": SCHEMA,
        "grader_version": __version__,
        "mode": grade.mode,
        "submission": {"path": grade.submission_path, "sha256": grade.submission_sha256,
                       "model_class": grade.model.model_class if grade.model else inspection.model_class if inspection else None,
                       "model_file": grade.model.file if grade.model else None,
                       "chosen_by": grade.model.rule if grade.model else None,
                       "chosen_because": grade.model.reason if grade.model else None,
                       "model_class_guessed": grade.model.guessed if grade.model else False,
                       "other_candidates": list(grade.model.others) if grade.model else [],
                       "chosen_signal": (grade.model.signal or None) if grade.model else None,
                       "constructor_call": constructor.text if constructor else None,
                       "constructor_from": constructor.where if constructor else None,
                       # "object": a class or instance from the student's own session (grader.check(Net)), not handed-in files
                       "kind": "object" if grade.self_check else "files",
                       "source_file": (grade.model.file or None) if grade.self_check else None},
        "rubric": {"path": grade.rubric_path, "sha256": grade.rubric_sha256, "title": grade.rubric_title},
        "status": grade.status,
        "passed": grade.passed,
        "borderline": grade.borderline,  # more seeds decide (training.runs; training.pending_runs are still to run)
        "seeds": _seeds(training),
        "provisional": bool(grade.provisional),
        "provisional_reasons": list(grade.provisional),
        "environment": _environment(grade),
        "error": dataclasses.asdict(grade.error) if grade.error else None,
        "parameters": {k: v for k, v in dataclasses.asdict(inspection.parameters).items()} if inspection else None,
        "architecture": dataclasses.asdict(arch) if arch else None,
        "feature_effects": dict(inspection.effects) if inspection else {},  # feature -> its measured effect on the logits
        "graph": {"sha256": inspection.graph_sha256, "mflops_per_image": inspection.mflops_per_image}
        if inspection and inspection.graph_sha256 else None,
        "layers": [dataclasses.asdict(layer) for layer in inspection.layers] if inspection else [],
        "summary": inspection.summary if inspection else None,
        "flags": [dataclasses.asdict(f) for f in grade.flags],
        "notes": list(inspection.notes) if inspection else [],
        "training": dataclasses.asdict(training) if training else None,
        "metrics": {k: v for k, v in dataclasses.asdict(grade.metrics).items() if k != "perturbation"},
        "perturbation": dataclasses.asdict(grade.metrics.perturbation) if grade.metrics.perturbation else None,
        "criteria": [dataclasses.asdict(c) for c in grade.criteria],
        "score": grade.score,
        "max_score": grade.max_score,
        "reference": dataclasses.asdict(grade.reference) if grade.reference else None,
        "confusion_matrix": [list(row) for row in grade.diagnostics.confusion] if grade.diagnostics else None,
        "mistakes": [{"index": m.index, "label": m.label, "predicted": m.predicted} for m in grade.diagnostics.mistakes]
        if grade.diagnostics else [],
        "activations": [dataclasses.asdict(a) for a in grade.diagnostics.activations] if grade.diagnostics else [],
        "seconds": grade.seconds,
        "output": grade.output,
    }


def provenance(grade: Grade) -> dict:
    """Where a grade came from, for the platforms' free-form data (Gradescope's extra_data, PrairieLearn's `grader`)."""
    training = grade.training
    return {"grader_version": __version__, "status": grade.status, "provisional": list(grade.provisional),
            "borderline": grade.borderline, "pending_runs": training.pending_runs if training else 0,
            "seeds": [r.seed for r in training.runs] if training else [],
            "submission_sha256": grade.submission_sha256, "rubric_sha256": grade.rubric_sha256, "rubric_title": grade.rubric_title,
            "environment": _environment(grade)}


NOT_BORDERLINE, BORDERLINE, PENDING = "no", "yes", "pending"  # a report's borderline state, in gradebook.csv's words


def pending_runs(report: dict) -> int:
    """Seeds a report's grade still waits for (a batch's first pass); 0 for a final grade and for older reports."""
    return int((report.get("seeds") or {}).get("pending") or 0)


def borderline_state(report: dict) -> str:
    """PENDING (more seeds will decide), BORDERLINE (more seeds decided) or NOT_BORDERLINE."""
    return PENDING if pending_runs(report) else BORDERLINE if report.get("borderline") else NOT_BORDERLINE


def _seeds(training) -> dict | None:
    """The runs' spread: what one run's noise was worth."""
    if not training or not training.runs:
        return None
    summary = {"runs": len(training.runs), "pending": training.pending_runs, "seeds": [r.seed for r in training.runs]}
    for metric in ("validation_accuracy", "test_accuracy"):
        mean, sd = training.spread(metric)
        values = [getattr(r, metric) for r in training.runs]
        summary[metric] = {"mean": round(mean, 4), "std": round(sd, 4), "min": min(values), "max": max(values)}
    return summary


def render(grade: Grade) -> str:
    return json.dumps(to_dict(grade), indent=2, allow_nan=False)


def _environment(grade: Grade) -> dict:
    return {**dataclasses.asdict(grade.environment), "machine_kind": grade.environment.machine_kind}
