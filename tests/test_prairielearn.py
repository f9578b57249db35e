"""PrairieLearn: the external grader's results.json against its documented format, and the example's `run` entrypoint."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from platform_formats import schema_errors
from synthetic_mnist import write_mnist
from test_report_html import KINDS, RUBRIC, make_grade

from grader import api
from grader.cli import main
from grader.report import prairielearn
from grader.report.advice import STAGE_ADVICE, seeds_text
from grader.results import StageError

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "examples" / "prairielearn" / "run"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_grade_fits_the_format(kind):
    grade = make_grade(kind)
    results = json.loads(prairielearn.render(grade))
    assert schema_errors("prairielearn-results", results) == []
    assert results["score"] == pytest.approx(grade.score / grade.max_score)
    assert [(t["name"], t["points"], t["max_points"]) for t in results["tests"]] == \
        [(c.id, c.points if grade.score else 0.0, c.max_points) for c in grade.criteria]
    assert results["message"].startswith(f"{grade.verdict.upper()}")
    assert results["grader"]["submission_sha256"] == grade.submission_sha256


def test_a_passing_grade_scores_one():
    criteria = tuple(dataclasses.replace(c, passed=True, points=c.max_points) for c in make_grade().criteria)
    results = prairielearn.to_dict(make_grade("graded", criteria=criteria, score=100.0))
    assert schema_errors("prairielearn-results", results) == [] and results["score"] == 1.0 and results["message"].startswith("PASS")


def test_a_submission_that_did_not_load_is_not_gradable_and_says_why():
    results = prairielearn.to_dict(make_grade("error"))
    assert schema_errors("prairielearn-results", results) == []
    assert results["gradable"] is False and results["format_errors"] == ["SyntaxError: invalid syntax (student.py, line 12)"]
    assert "Error while loading: SyntaxError" in results["message"] and STAGE_ADVICE["load"] in results["message"]
    assert "def forward(self x)" in results["output"] and "loading data..." in results["output"]  # traceback, then what it printed


def test_a_model_that_fails_in_training_is_graded_zero_with_the_reason():
    grade = make_grade("graded", error=StageError("train", "RuntimeError: shape mismatch", "Traceback ..."), score=0.0)
    results = prairielearn.to_dict(grade)
    assert results["gradable"] is True and results["score"] == 0 and "format_errors" not in results
    assert {t["points"] for t in results["tests"]} == {0.0}
    assert all("RuntimeError: shape mismatch" in t["message"] for t in results["tests"])


def test_a_failure_of_the_grader_itself_costs_the_student_no_attempt():
    for stage in ("grader", "evaluate"):  # a bug, the grader's setup; predictions the grader could not evaluate
        grade = api.failed_grade("model.py", RUBRIC, "grade", "the grader itself failed (a bug in the grader): x", stage, "Traceback ...")
        assert prairielearn.to_dict(grade)["gradable"] is False


def test_a_rubric_that_did_not_load_is_not_gradable():
    grade = api.failed_grade("model.py", dataclasses.replace(RUBRIC, criteria=()), "grade", "the grader's rubric did not load: x")
    results = prairielearn.to_dict(grade)
    assert schema_errors("prairielearn-results", results) == []
    assert results["gradable"] is False and results["score"] == 0 and results["tests"] == []


@pytest.mark.parametrize("kind", ["borderline", "pending"])
def test_borderline_and_pending_grades_say_so(kind):
    grade = make_grade(kind)
    results = prairielearn.to_dict(grade)
    assert "(borderline)" in results["message"].splitlines()[0] and seeds_text(grade) in results["message"]
    assert seeds_text(grade) in results["tests"][0]["message"]
    assert results["grader"]["pending_runs"] == (2 if kind == "pending" else 0)


def test_a_provisional_run_says_it_is_not_the_grade():
    results = prairielearn.to_dict(make_grade("provisional"))
    assert "PROVISIONAL" in results["message"] and all(t["message"].startswith("PROVISIONAL") for t in results["tests"])


def test_a_usage_error_writes_an_error_result_creating_the_results_folder(tmp_path, capsys):
    results_path = tmp_path / "results" / "results.json"  # PrairieLearn does not create /grade/results
    code = main(["check", str(tmp_path / "missing"), "--prairielearn", str(results_path)])
    assert code == 2
    results = json.loads(results_path.read_text())
    assert schema_errors("prairielearn-results", results) == [] and results["gradable"] is False
    assert "does not exist" in results["format_errors"][0]


# --- examples/prairielearn/run, in a /grade-like tree ----------------------------------------------------------

def run_entrypoint(root: Path, path: str, mnist: Path) -> dict:
    env = {**os.environ, "PL_GRADE_ROOT": str(root), "PATH": path, "MNIST_DIR": str(mnist)}
    done = subprocess.run(["bash", str(RUN)], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_run_grades_the_students_files_into_results_json(tmp_path):
    (tmp_path / "student").mkdir()
    shutil.copy(ROOT / "submissions" / "broken" / "syntax_error.py", tmp_path / "student" / "model.py")
    mnist = write_mnist(tmp_path / "mnist", n_train=600, n_test=100)
    results = run_entrypoint(tmp_path, f"{Path(sys.executable).parent}:{os.environ['PATH']}", mnist)
    assert schema_errors("prairielearn-results", results) == []
    assert results["gradable"] is False and "syntax error in model.py" in results["format_errors"][0]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_run_leaves_a_valid_placeholder_when_the_grader_cannot_start(tmp_path):
    (tmp_path / "student").mkdir()
    results = run_entrypoint(tmp_path, "/usr/bin:/bin", tmp_path)  # no grader on PATH
    assert schema_errors("prairielearn-results", results) == []
    assert results["gradable"] is False and "did not finish" in results["message"]
