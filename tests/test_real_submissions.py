"""Slow: the twenty real student submissions in ../shared/real-submissions, each checked as handed in
(`pytest -m slow tests/test_real_submissions.py`); skipped where ../shared is absent. Each must grade
with the manifest's class, true parameter count and BN / Dropout / GAP / FC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import api

pytestmark = pytest.mark.slow
REAL = Path(__file__).resolve().parents[2] / "shared" / "real-submissions"
MANIFEST = json.loads((REAL / "manifest.json").read_text()) if (REAL / "manifest.json").is_file() else {}


@pytest.mark.skipif(not MANIFEST, reason="../shared/real-submissions is not on this machine")
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_real_submission_is_graded_as_its_author_meant(name):
    truth = MANIFEST[name]
    grade = api.check(REAL / name)
    assert grade.status == "graded", grade.error
    assert (grade.model.file, grade.model.model_class) == (truth["model_file"], truth["intended_class"])
    assert grade.inspection.parameters.counted == truth["true_params"]
    a = grade.inspection.architecture
    assert {"batchnorm": a.batchnorm, "dropout": a.dropout, "gap": a.gap, "fc": a.fc} == truth["truth"]
