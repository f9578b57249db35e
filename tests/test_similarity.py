"""Architecture similarity across a class: fingerprints and groups, from hand-made JSON reports."""

from __future__ import annotations

import pytest

from grader.batch.similarity import SimilarityGroup, fingerprint, similar_groups

# A small GAP model, 12 executed layers: (type, output shape without the batch, parameters).
BASE = [
    ("Conv2d", [8, 26, 26], 72), ("BatchNorm2d", [8, 26, 26], 16), ("ReLU", [8, 26, 26], 0), ("Dropout", [8, 26, 26], 0),
    ("Conv2d", [16, 24, 24], 1152), ("BatchNorm2d", [16, 24, 24], 32), ("ReLU", [16, 24, 24], 0), ("Dropout", [16, 24, 24], 0),
    ("MaxPool2d", [16, 12, 12], 0), ("Conv2d", [10, 12, 12], 160), ("AdaptiveAvgPool2d", [10, 1, 1], 0), ("Flatten", [10], 0),
]
MLP = [("Flatten", [784], 0), ("Linear", [24], 18840), ("ReLU", [24], 0), ("Linear", [10], 250)]
CRITERIA = ("accuracy", "parameters", "batchnorm", "dropout", "fc_or_gap")


def layers(spec=BASE, prefix: str = "layer", batch: int = 4) -> list[dict]:
    return [{"name": f"{prefix}{i}", "type": t, "output_shape": [batch, *shape], "parameters": p, "receptive_field": None}
            for i, (t, shape, p) in enumerate(spec)]


def replace(spec, index: int, kind: str):
    """spec with one layer's type changed (same shape and parameters)."""
    changed = list(spec)
    changed[index] = (kind, *spec[index][1:])
    return changed


def make_report(student: str, spec=BASE, *, validation: float | None = 99.45, test: float | None = 99.4,
                counted: int | None = 15_000, score: float = 100.0, passed=CRITERIA, flags=(), provisional: bool = False,
                error: dict | None = None, prefix: str = "layer") -> dict:
    """A JSON report as `grader batch` keeps it (schema 1, with the "student" key); error= makes an errored one."""
    if error:
        spec, validation, test, counted, score, passed = [], None, None, None, 0.0, ()
    return {
        "schema": 1, "student": student, "mode": "grade", "status": "error" if error else "graded",
        "passed": set(passed) == set(CRITERIA), "provisional": provisional,
        "provisional_reasons": ["epochs 2 of 19"] if provisional else [],
        "submission": {"path": f"{student}.py", "sha256": "0" * 64, "model_class": None if error else "Net"},
        "rubric": {"path": "rubrics/mnist-99.4.toml", "sha256": "1" * 64, "title": "MNIST"},
        "error": error, "parameters": None if counted is None else {"total": counted, "trainable": counted, "buffers_extra": 0,
                                                                     "hidden": 0, "counted": counted},
        "layers": layers(spec, prefix), "flags": [{"id": f, "message": f"{f} found"} for f in flags],
        "metrics": {"validation_accuracy": validation, "test_accuracy": test, "accuracy_before_training": None},
        "criteria": [{"id": c, "passed": c in passed, "points": 10.0 if c in passed else 0.0, "max_points": 10.0, "detail": "",
                      "ran": True} for c in CRITERIA],
        "score": score, "max_score": 100.0,
    }


def errored(student: str) -> dict:
    return make_report(student, error={"stage": "load", "message": "SyntaxError: invalid syntax (line 3)", "traceback": ""})


def test_fingerprint_ignores_names_batch_and_receptive_field():
    a = make_report("a")
    b = make_report("b", prefix="renamed_")
    b["layers"] = [{**layer, "output_shape": [1, *layer["output_shape"][1:]], "receptive_field": 5} for layer in b["layers"]]
    assert fingerprint(a) == fingerprint(b)
    assert isinstance(fingerprint(a), str) and len(fingerprint(a)) <= 16


def test_fingerprint_sees_types_shapes_and_parameters():
    base = fingerprint(make_report("a"))
    assert fingerprint(make_report("b", replace(BASE, 2, "GELU"))) != base
    wider = list(BASE)
    wider[0] = ("Conv2d", [10, 26, 26], 90)
    assert fingerprint(make_report("c", wider)) != base
    more = list(BASE)
    more[9] = ("Conv2d", [10, 12, 12], 170)
    assert fingerprint(make_report("d", more)) != base


def test_errored_report_has_no_fingerprint():
    report = errored("e")
    assert report["layers"] == [] and report["parameters"] is None
    assert fingerprint(report) is None


def test_identical_architectures_under_different_names_are_grouped():
    reports = [make_report("alice"), make_report("bob", prefix="block_"), make_report("carol", MLP), errored("eve"), errored("frank")]
    groups = similar_groups(reports)
    assert groups == [SimilarityGroup(("alice", "bob"), True, 1.0)]


def test_one_layer_different_is_near_identical_at_090_not_at_099():
    reports = [make_report("alice"), make_report("bob", replace(BASE, 2, "GELU"))]
    (group,) = similar_groups(reports, threshold=0.9)
    assert group.students == ("alice", "bob") and not group.identical
    assert 0.9 <= group.similarity < 0.99
    assert similar_groups(reports, threshold=0.99) == []


def test_unrelated_architectures_are_not_grouped():
    reports = [make_report("alice"), make_report("carol", MLP), make_report("dan", BASE[:4] + MLP), errored("eve")]
    assert similar_groups(reports) == []


def test_near_pairs_merge_into_one_group_with_identical_copies():
    one = replace(BASE, 2, "GELU")
    two = replace(one, 6, "GELU")  # two layers from BASE: below 0.9 with it, but near `one`
    reports = [make_report("a"), make_report("a2", prefix="x"), make_report("b", one), make_report("c", two), make_report("m", MLP)]
    groups = similar_groups(reports, threshold=0.9)
    assert len(groups) == 1
    assert groups[0].students == ("a", "a2", "b", "c") and not groups[0].identical
    assert groups[0].similarity == pytest.approx(22 / 24, abs=1e-3)
