"""Slow: the real student submissions in ../shared/real-submissions (twenty) and ../shared/real-submissions-2
(nineteen), each checked as handed in (`pytest -m slow tests/test_real_submissions.py`); a set absent from this
machine is skipped. Each must grade with its manifest's file and class, true parameter count and BN / Dropout /
GAP / FC; one its manifest marks broken (`expected_status: error`) must be the error it names: its stage, and
the words `expected_error.names` its message must hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import api

pytestmark = pytest.mark.slow
SHARED = Path(__file__).resolve().parents[2] / "shared"
SETS = ("real-submissions", "real-submissions-2")
MANIFESTS = {s: json.loads((SHARED / s / "manifest.json").read_text()) for s in SETS if (SHARED / s / "manifest.json").is_file()}
CASES = [(s, name) for s, manifest in MANIFESTS.items() for name in sorted(manifest)]


@pytest.mark.skipif(not CASES, reason="../shared/real-submissions* are not on this machine")
@pytest.mark.parametrize("folder, name", CASES or [("", "")])
def test_real_submission_is_graded_as_its_author_meant(folder, name):
    truth = MANIFESTS[folder][name]
    grade = api.check(SHARED / folder / name)
    if truth.get("expected_status") == "error":
        expected = truth["expected_error"]
        assert grade.status == "error" and grade.error.stage == expected["stage"], grade.error
        assert all(word in grade.error.message for word in expected["names"]), grade.error.message
        if expected["stage"] != "load":  # the model was chosen before it failed: the right one
            assert (grade.model.file, grade.model.model_class) == (truth["model_file"], truth["intended_class"])
        return
    assert grade.status == "graded", grade.error
    assert (grade.model.file, grade.model.model_class) == (truth["model_file"], truth["intended_class"])
    assert grade.inspection.parameters.counted == truth["true_params"]
    a = grade.inspection.architecture
    assert {"batchnorm": a.batchnorm, "dropout": a.dropout, "gap": a.gap, "fc": a.fc} == truth["truth"]
