"""Gradescope: results.json in Gradescope's format, written whatever happens, from a folder tree laid out like /autograder."""

import json
import shutil
from pathlib import Path

import pytest
from platform_formats import schema_errors
from synthetic_mnist import write_mnist
from test_report_html import KINDS, make_grade

from grader import api, cli, platforms
from grader.report import gradescope
from grader.report.advice import seeds_text

ROOT = Path(__file__).resolve().parent.parent
SEED004 = ROOT / "submissions" / "seed004_gap_8440.py"
VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
QUICK = ["--epochs", "1", "--train-limit", "200", "--threads", "1"]


def assert_results_shape(results: dict, criteria: int | None = None) -> None:
    """Gradescope's specification, as this grader fills it in."""
    assert schema_errors("gradescope-results", results) == []
    assert isinstance(results["score"], (int, float)) and results["score"] >= 0
    assert isinstance(results["output"], str) and results["output"].strip()
    assert results["output_format"] == "md" and results.get("visibility", "visible") in VISIBILITY
    assert isinstance(results["tests"], list)
    if criteria is not None:
        assert len(results["tests"]) == criteria
        assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITY
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
    for entry in results.get("leaderboard", []):
        assert {"name", "value"} <= set(entry) and entry.get("order", "desc") in ("asc", "desc")
        assert isinstance(entry["value"], (int, float))


@pytest.fixture
def autograder(tmp_path):
    """An /autograder-like tree: submission/ holding seed 004's model, results/ empty."""
    (tmp_path / "submission").mkdir()
    (tmp_path / "results").mkdir()
    shutil.copy(SEED004, tmp_path / "submission" / "seed004_gap_8440.py")
    return tmp_path


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=600, n_test=100)


def run_gradescope(root: Path, *options: str) -> tuple[int, dict]:
    results = root / "results" / "results.json"
    code = cli.main(["gradescope", "--submission-dir", str(root / "submission"), "--results", str(results), *options])
    return code, json.loads(results.read_text())


# --- the renderer, on grades built by hand -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_grade_fits_the_specification(kind):
    grade = make_grade(kind)
    results = gradescope.to_dict(grade)
    assert_results_shape(results, criteria=len(grade.criteria))
    assert results["score"] == grade.score
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(grade.score)
    assert [t["name"] for t in results["tests"]] == [c.id for c in grade.criteria]
    assert results["output"].startswith("## ")  # the Markdown report
    assert json.loads(gradescope.render(grade)) == results


def test_test_status_and_points_follow_the_criteria():
    grade = make_grade("graded")
    tests = gradescope.to_dict(grade)["tests"]
    assert [t["status"] for t in tests] == ["passed" if c.passed else "failed" for c in grade.criteria]
    assert [(t["score"], t["max_score"]) for t in tests] == [(c.points, c.max_points) for c in grade.criteria]


def test_an_errored_submission_fails_every_test_with_the_reason():
    results = gradescope.to_dict(make_grade("error"))
    assert results["score"] == 0 and {t["status"] for t in results["tests"]} == {"failed"}
    assert all("SyntaxError" in t["output"] for t in results["tests"])
    assert "### Error while loading" in results["output"]
    assert results["leaderboard"] == [{"name": "Validation accuracy (%)", "value": 0.0, "order": "desc"}]


def test_leaderboard_ranks_accuracy_highest_first_and_parameters_fewest_first():
    board = {e["name"]: e for e in gradescope.to_dict(make_grade("graded"))["leaderboard"]}
    assert board["Validation accuracy (%)"] == {"name": "Validation accuracy (%)", "value": 99.21, "order": "desc"}
    assert board["Parameters"] == {"name": "Parameters", "value": 1410, "order": "asc"}


def test_extra_data_holds_the_provenance():
    grade = make_grade("pending")
    extra = gradescope.to_dict(grade)["extra_data"]
    assert extra["borderline"] is True and extra["pending_runs"] == 2 and extra["seeds"] == [1]
    assert extra["submission_sha256"] == grade.submission_sha256 and extra["rubric_sha256"] == grade.rubric_sha256
    assert extra["environment"]["isolation"] == "process" and extra["environment"]["torch"] == "2.14.1"


@pytest.mark.parametrize("kind", ["borderline", "pending"])
def test_a_borderline_accuracy_test_says_how_the_seeds_decide(kind):
    grade = make_grade(kind)
    assert seeds_text(grade) in gradescope.to_dict(grade)["tests"][0]["output"]


@pytest.mark.parametrize("when", ["after_due_date", "after_published", "hidden"])
def test_the_accuracy_can_be_hidden_while_the_structure_shows(when):
    results = gradescope.to_dict(make_grade("graded"), accuracy_visibility=when)
    assert_results_shape(results, criteria=5)
    assert results["visibility"] == when
    assert {t["name"]: t["visibility"] for t in results["tests"]} == {
        "accuracy": when, "parameters": "visible", "batchnorm": "visible", "dropout": "visible", "fc_or_gap": "visible"}
    assert "99.21" not in results["output"] and "66.25" not in results["output"] and "hidden" in results["output"]
    assert [e["name"] for e in results["leaderboard"]] == ["Parameters"]
    accuracy = results["tests"][0]
    assert accuracy["output"].startswith("weak_isolation") and "### Training" in accuracy["output"]  # the full report, hidden with it
    assert results["score"] == 66.25  # Gradescope keeps the score; it only hides it


def test_an_errored_grade_hides_nothing():
    results = gradescope.to_dict(make_grade("error"), accuracy_visibility="after_due_date")
    assert results["visibility"] == "visible" and {t["visibility"] for t in results["tests"]} == {"visible"}
    assert "### Error while loading" in results["output"]


def test_failure_without_a_grade_fits_the_specification():
    results = gradescope.failure("the grader could not start <b>", "Traceback\n```\nboom")
    assert_results_shape(results)
    assert results["score"] == 0 and "&lt;b&gt;" in results["output"] and "````text" in results["output"]


# --- `grader gradescope` on an /autograder-like tree ---------------------------------------------------------

def test_grades_the_submission_and_writes_results(autograder, mnist_dir, capsys):
    code, results = run_gradescope(autograder, "--data-dir", str(mnist_dir), *QUICK)
    assert code == 1  # one epoch on 200 images is far from 99.4%
    assert_results_shape(results, criteria=5)
    assert results["extra_data"]["status"] == "graded" and results["extra_data"]["provisional"]
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["parameters"]["status"] == "passed" and tests["accuracy"]["status"] == "failed"
    assert results["score"] == sum(t["score"] for t in results["tests"]) >= 50
    board = {e["name"]: e["value"] for e in results["leaderboard"]}
    assert board["Parameters"] == 8440 and 0 <= board["Validation accuracy (%)"] <= 100
    assert "PROVISIONAL" in results["output"] and "8,440 counted" in results["output"]
    assert "Gradescope results written" in capsys.readouterr().out


def test_an_empty_upload_is_an_error_result(autograder, mnist_dir, capsys):
    (autograder / "submission" / "seed004_gap_8440.py").unlink()
    code, results = run_gradescope(autograder, "--data-dir", str(mnist_dir), *QUICK)
    assert code == 1
    assert_results_shape(results, criteria=5)
    assert results["score"] == 0 and results["extra_data"]["status"] == "error"
    assert "holds no .py file or notebook" in results["output"]


def test_a_missing_submission_folder_is_an_error_result(tmp_path, mnist_dir, capsys):
    _, results = run_gradescope(tmp_path, "--data-dir", str(mnist_dir))  # neither submission/ nor results/ exists
    assert_results_shape(results, criteria=5)
    assert results["score"] == 0 and "does not exist" in results["output"]


def test_missing_mnist_is_an_error_result_that_blames_the_setup(autograder, tmp_path, capsys):
    _, results = run_gradescope(autograder, "--data-dir", str(tmp_path / "no-mnist-here"))
    assert_results_shape(results, criteria=5)
    assert results["score"] == 0 and "no MNIST data (not your submission" in results["output"]


def test_a_broken_rubric_is_an_error_result(autograder, tmp_path, capsys):
    rubric = tmp_path / "broken.toml"
    rubric.write_text("title = 1\n")
    _, results = run_gradescope(autograder, "--rubric", str(rubric))
    assert_results_shape(results, criteria=0)
    assert results["score"] == 0 and "rubric did not load" in results["output"]


def test_an_exception_in_the_grader_is_an_error_result_with_its_traceback(autograder, mnist_dir, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the grader")

    monkeypatch.setattr(api, "choose_model", broken)  # a bug inside the grade, which api grades as stage `grader`
    code, results = run_gradescope(autograder, "--data-dir", str(mnist_dir))
    assert code == 1
    assert_results_shape(results, criteria=5)
    assert results["score"] == 0 and results["extra_data"]["status"] == "error"
    assert "the grader itself failed (a bug in the grader, not in your submission)" in results["output"]
    assert "RuntimeError: a bug in the grader" in results["output"] and "Traceback" in results["output"]
    assert "### Error while grading" in results["output"] and "Nothing in your submission" in results["output"]
    assert all("not graded: the grader itself failed" in t["output"] for t in results["tests"])


def test_an_exception_in_the_report_still_leaves_valid_results(autograder, monkeypatch, capsys):
    monkeypatch.setattr(api, "grade", lambda *a, **k: make_grade("graded"))
    monkeypatch.setattr(gradescope, "to_dict", lambda *a, **k: 1 / 0)
    _, results = run_gradescope(autograder)
    assert_results_shape(results)
    assert results["score"] == 0 and "ZeroDivisionError" in results["output"]


def test_the_accuracy_visibility_option_reaches_results_json(autograder, monkeypatch, capsys):
    monkeypatch.setattr(api, "grade", lambda *a, **k: make_grade("graded"))
    _, results = run_gradescope(autograder, "--accuracy-visibility", "after_due_date")
    assert_results_shape(results, criteria=5)
    assert results["visibility"] == "after_due_date" and results["tests"][0]["visibility"] == "after_due_date"


def test_a_placeholder_result_exists_while_grading(autograder, monkeypatch, capsys):
    seen = {}

    def grade(*args, **kwargs):
        seen.update(json.loads((autograder / "results" / "results.json").read_text()))
        return make_grade("graded")

    monkeypatch.setattr(api, "grade", grade)
    _, results = run_gradescope(autograder)
    assert_results_shape(seen)
    assert seen["score"] == 0 and "did not finish" in seen["output"]
    assert results["score"] == 66.25
    assert not [p for p in (autograder / "results").iterdir() if p.name != "results.json"]  # no temporary files left


# --- platforms helpers ---------------------------------------------------------------------------------------

def test_find_submission_looks_into_a_single_uploaded_folder(tmp_path):
    upload = tmp_path / "submission"
    (upload / "my-project").mkdir(parents=True)
    (upload / "__MACOSX").mkdir()
    (upload / "my-project" / "model.py").write_text("")
    assert platforms.find_submission(upload) == upload / "my-project"
    (upload / "model.py").write_text("")
    assert platforms.find_submission(upload) == upload

