"""Classroom 50: result.json against the runner's published schema (classroom50/result/v1) and the checks it makes in code."""

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from platform_formats import schema_errors
from test_classroom import action_runner
from test_report_html import KINDS, RUBRIC, make_grade

from grader import api
from grader.cli import build_parser, main
from grader.errors import UsageError
from grader.report import classroom50
from grader.report.advice import seeds_text
from grader.results import CriterionResult

ROOT = Path(__file__).resolve().parent.parent
SEED004 = str(ROOT / "submissions" / "seed004_gap_8440.py")
RUNNER_ENVIRONMENT = {  # what runner.py hands autograder.py (run_entrypoint), for student alice's submission
    "CLASSROOM": "dl-fall-2026", "ASSIGNMENT": "mnist", "SUBMISSION_TAG": "submit/2026-12-01T10-00-00Z-a1b2c3d",
    "OWNER": "alice", "USERNAME": "alice", "ASSIGNMENT_TYPE": "individual",
    "COMMIT_URL": "https://github.com/dl/dl-fall-2026-mnist-alice/commit/a1b2c3d",
    "RELEASE_URL": "https://github.com/dl/dl-fall-2026-mnist-alice/releases/tag/submit%2F2026-12-01T10-00-00Z-a1b2c3d",
    "REVIEW_URL": "https://github.com/dl/dl-fall-2026-mnist-alice/compare/0f0f0f0...a1b2c3d",
    "GITHUB_ACTOR": "alice", "GITHUB_ACTOR_ID": "4242",
}
WHO = classroom50.identity(RUNNER_ENVIRONMENT)


def assert_runner_accepts(result: dict) -> None:
    """The schema, then what runner.py's validate_result checks in code: the identity is the repository's, no score
    above its maximum, and no bool passing for an int."""
    assert schema_errors("classroom50-result-v1", result) == []
    assert (result["classroom"], result["assignment"], result["owner"]) == ("dl-fall-2026", "mnist", "alice")
    assert not isinstance(result["score"], bool) and result["score"] <= result["max-score"]
    assert result["tests"], "with no test the runner reports 'no autograder configured', a pass"
    for test in result["tests"]:
        assert not isinstance(test["score"], bool) and test["score"] <= test["max-score"]
    assert result["score"] == sum(t["score"] for t in result["tests"])
    assert result["max-score"] == sum(t["max-score"] for t in result["tests"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_grade_fits_the_schema(kind):
    grade = make_grade(kind)
    result = json.loads(classroom50.render(grade, WHO))
    assert_runner_accepts(result)
    assert [t["test-name"] for t in result["tests"]] == [c.id for c in grade.criteria]
    assert [t["passed"] for t in result["tests"]] == [c.passed and not grade.error for c in grade.criteria]
    assert result["max-score"] == 100


def passing_grade():
    criteria = tuple(dataclasses.replace(c, passed=True, points=c.max_points) for c in make_grade().criteria)
    return make_grade("graded", criteria=criteria, score=100.0)


def test_a_passing_grade_passes_every_test_so_the_release_is_a_success():
    result = classroom50.to_dict(passing_grade(), WHO)
    assert_runner_accepts(result)
    assert all(t["passed"] for t in result["tests"]) and result["score"] == result["max-score"] == 100


def test_the_identity_comes_from_the_runners_environment():
    result = classroom50.to_dict(make_grade("graded"), WHO)
    assert result["submission"] == RUNNER_ENVIRONMENT["SUBMISSION_TAG"] and result["review"] == RUNNER_ENVIRONMENT["REVIEW_URL"]
    assert result["assignment_type"] == "individual" and result["submitted_by"] == {"username": "alice", "id": 4242}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["datetime"]) and result["graded_at"] == result["datetime"]


def test_the_identitys_documented_fallbacks():
    bare = {k: v for k, v in RUNNER_ENVIRONMENT.items() if k not in ("OWNER", "REVIEW_URL", "ASSIGNMENT_TYPE", "GITHUB_ACTOR_ID")}
    who = classroom50.identity(bare)
    assert who.owner == "alice" and who.review == RUNNER_ENVIRONMENT["COMMIT_URL"] and who.assignment_type == "individual"
    assert who.submitted_by == {"username": "alice", "id": None}
    assert classroom50.identity({k: v for k, v in bare.items() if k != "GITHUB_ACTOR"}).submitted_by is None
    assert "submitted_by" not in classroom50.to_dict(make_grade(), classroom50.identity({**bare, "GITHUB_ACTOR": ""}))


def test_outside_the_runner_every_missing_variable_is_named():
    with pytest.raises(UsageError) as raised:
        classroom50.identity({"CLASSROOM": "dl-fall-2026", "OWNER": "alice"})
    message = str(raised.value)
    assert all(name in message for name in ("ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL")) and "\n" not in message


# --- whole points ----------------------------------------------------------------------------------------------

def points(grade) -> list[tuple[int, int]]:
    return [(t["score"], t["max-score"]) for t in classroom50.to_dict(grade, WHO)["tests"]]


def test_partial_credit_is_rounded_down_and_passed_criteria_get_their_maximum():
    assert points(make_grade("graded")) == [(26, 50), (20, 20), (10, 10), (0, 10), (10, 10)]  # 26.25 of 50 for accuracy


def test_a_failed_criterion_never_shows_full_marks():
    almost = CriterionResult("accuracy", False, 49.999999, 50, "99.39999%", metric="validation_accuracy")
    grade = make_grade("graded", criteria=(almost,) + make_grade().criteria[1:], score=89.99)
    assert points(grade)[0] == (49, 50)


def test_fractional_maxima_are_scaled_by_the_first_power_of_ten_that_makes_them_whole():
    halves = (CriterionResult("accuracy", False, 1.25, 2.5, "partial"), CriterionResult("parameters", True, 2.5, 2.5, "below"))
    assert points(make_grade("graded", criteria=halves, score=3.75, max_score=5.0)) == [(12, 25), (25, 25)]
    thirds = (CriterionResult("accuracy", False, 0.33, 1 / 3, "partial"), CriterionResult("parameters", True, 2 / 3, 2 / 3, "below"))
    assert points(make_grade("graded", criteria=thirds, score=1.0, max_score=1.0)) == [(32, 33), (67, 67)]  # none does: x100, rounded


def test_an_errored_submission_scores_nothing_and_says_why():
    result = classroom50.to_dict(make_grade("error"), WHO)
    assert_runner_accepts(result)
    assert result["score"] == 0 and result["max-score"] == 100 and not any(t["passed"] for t in result["tests"])
    assert all("SyntaxError: invalid syntax (student.py, line 12)" in t["message"] for t in result["tests"])


def test_a_flag_that_zeroes_the_score_zeroes_every_test():
    flagged = make_grade().criteria + (CriterionResult("flags", False, 0.0, 0.0, "score set to 0: trained weights shipped"),)
    result = classroom50.to_dict(make_grade("graded", criteria=flagged, score=0.0), WHO)
    assert_runner_accepts(result)
    assert result["score"] == 0 and result["tests"][-1] == {**result["tests"][-1], "test-name": "flags", "score": 0, "max-score": 0}


def test_a_rubric_that_did_not_load_is_a_failing_test_not_a_vacuous_pass():
    grade = api.failed_grade("model.py", dataclasses.replace(RUBRIC, criteria=()), "grade", "the grader's rubric did not load: x")
    result = classroom50.to_dict(grade, WHO)
    assert_runner_accepts(result)
    assert [(t["test-name"], t["passed"]) for t in result["tests"]] == [("grade", False)]
    assert "rubric did not load" in result["tests"][0]["message"]


@pytest.mark.parametrize("kind", ["borderline", "pending"])
def test_a_borderline_criterion_says_how_the_seeds_decide(kind):
    grade = make_grade(kind)
    accuracy = classroom50.to_dict(grade, WHO)["tests"][0]
    assert seeds_text(grade) in accuracy["message"] and ("not final" in accuracy["message"]) == (kind == "pending")


# --- the command line ------------------------------------------------------------------------------------------

def test_check_writes_result_json_from_the_runners_environment(monkeypatch, checked, tmp_path, capsys):
    monkeypatch.setattr(api, "check", lambda path, rubric=None, model_class="", *_, **__: checked(path, rubric and rubric.path, model_class))
    for name, value in RUNNER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    code = main(["check", SEED004, "--classroom50", str(tmp_path / "result.json")])
    assert code == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert_runner_accepts(result)
    assert result["score"] == 50 and result["max-score"] == 100  # the structural points; accuracy needs `grader grade`


def test_a_usage_error_still_writes_an_error_result(monkeypatch, tmp_path, capsys):
    for name, value in RUNNER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    code = main(["check", str(tmp_path / "missing.py"), "--classroom50", str(tmp_path / "result.json")])
    assert code == 2
    result = json.loads((tmp_path / "result.json").read_text())
    assert_runner_accepts(result)
    assert result["score"] == 0 and "does not exist" in result["tests"][0]["message"]


def test_outside_the_runner_it_stops_before_grading_with_one_line(monkeypatch, tmp_path, capsys):
    for name in RUNNER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(api, "check", lambda *a, **k: pytest.fail("graded without the identity to report it"))
    code = main(["check", SEED004, "--classroom50", str(tmp_path / "result.json"), "--markdown", str(tmp_path / "summary.md")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "CLASSROOM" in err and "Traceback" not in err
    assert not (tmp_path / "result.json").exists() and "CLASSROOM" in (tmp_path / "summary.md").read_text()


# --- the action and the example autograder.py ------------------------------------------------------------------

def grade_options() -> set[str]:
    return set(next(a for a in build_parser()._actions if a.dest == "command").choices["grade"]._option_string_actions)


def test_the_example_autograder_writes_result_json_with_options_the_grader_has():
    source = (ROOT / "examples" / "classroom50" / "autograder.py").read_text()
    call = source[source.index('"grade", SUBMISSION'):source.index("check=False")]
    used = set(re.findall(r'"(--[a-z][a-z0-9-]+)"', call))
    assert {"--classroom50", "--markdown"} <= used <= grade_options()
    assert '"--classroom50", "result.json"' in call and '"--markdown", "release-body.md"' in call  # what the runner reads


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_actions_grade_step_writes_result_json_for_a_custom_runner_workflow(tmp_path):
    yaml = pytest.importorskip("yaml")
    step = next(s for s in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"] if s.get("id") == "grade")
    env, output, _ = action_runner(tmp_path)
    env.update(RUNNER_ENVIRONMENT, CLASSROOM50_RESULT=str(tmp_path / "result.json"))
    run = subprocess.run(["bash", "-e", "-c", step["run"]], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["classroom50-result"] == str(tmp_path / "result.json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert_runner_accepts(result)
    assert result["score"] == 0 and "syntax error in syntax_error.py" in result["tests"][0]["message"]
